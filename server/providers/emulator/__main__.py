"""`python -m server.providers.emulator [--port N] [--seed-demo] [fault options]`: serve
until Ctrl-C (or SIGTERM); faults as in `Faults`, for trying badgeflow on a bad day."""

from __future__ import annotations

import argparse
import asyncio

from .demo import seed_demo
from .faults import Faults
from .server import EmulatorServer
from .state import EmulatorState


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.providers.emulator")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--seed-demo", action="store_true", help="create the demo data")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every answer")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share answered 503, not applied"
    )
    parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="share answered 429")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share applied, then dropped")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault dice")
    parser.add_argument(
        "--fault-methods", default="", help="only requests with these methods, e.g. POST,PUT"
    )
    return parser.parse_args()


async def _serve(port: int, seed: bool, faults: Faults) -> None:
    state = EmulatorState()
    demo = seed_demo(state) if seed else None
    server = await EmulatorServer(state, faults, port=port, handle_signals=True).start()
    print(f"credly:     {server.credly_url}", flush=True)
    print(f"accredible: {server.accredible_url}", flush=True)
    if demo is not None:
        print(f"credly organization id: {demo.credly_organization_id}", flush=True)
        print(f"credly token:           {demo.credly_token}", flush=True)
        print(f"accredible key:         {demo.accredible_key}", flush=True)
    try:
        await server.wait()
    finally:
        await server.stop()


def main() -> None:
    args = _parse()
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            drop_rate=args.drop_rate,
            seed=args.fault_seed,
            methods=frozenset(
                m.strip().upper() for m in args.fault_methods.split(",") if m.strip()
            ),
        )
        asyncio.run(_serve(args.port, args.seed_demo, faults))
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it handled
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
