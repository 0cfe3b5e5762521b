"""An emulator of the Credly and Accredible REST APIs, served over real HTTP on loopback.

URL layout (one server, one port): `{base}/credly/v1/...` is Credly's
`https://api.credly.com/v1/...`; `{base}/accredible/v1/...` and `{base}/accredible/v2/...`
are Accredible's `https://api.accredible.com/v1|v2/...`. Example:

    state = EmulatorState()
    demo = seed_demo(state)
    async with EmulatorServer(state, Faults(seed=3)) as emulator:
        async with httpx.AsyncClient(auth=(demo.credly_token, "")) as client:
            await client.get(f"{emulator.credly_url}/organizations")
"""

from .app import ACCREDIBLE_PREFIX, CREDLY_PREFIX, build_app
from .demo import (
    DEMO_ACCREDIBLE_KEY,
    DEMO_CREDLY_ORG_ID,
    DEMO_CREDLY_TOKEN,
    DemoCredentials,
    seed_demo,
)
from .faults import Faults
from .server import EmulatorServer
from .state import EmulatorState
from .webhooks import Delivery

__all__ = [
    "ACCREDIBLE_PREFIX",
    "CREDLY_PREFIX",
    "DEMO_ACCREDIBLE_KEY",
    "DEMO_CREDLY_ORG_ID",
    "DEMO_CREDLY_TOKEN",
    "Delivery",
    "DemoCredentials",
    "EmulatorServer",
    "EmulatorState",
    "Faults",
    "build_app",
    "seed_demo",
]
