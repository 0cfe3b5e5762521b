"""`python -m server.providers.emulator [--port N] [--seed-demo]`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio

from .demo import seed_demo
from .server import EmulatorServer
from .state import EmulatorState


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.providers.emulator")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--seed-demo", action="store_true", help="create the demo data")
    return parser.parse_args()


async def _serve(port: int, seed: bool) -> None:
    state = EmulatorState()
    demo = seed_demo(state) if seed else None
    server = await EmulatorServer(state, port=port, handle_signals=True).start()
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
        asyncio.run(_serve(args.port, args.seed_demo))
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it handled
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
