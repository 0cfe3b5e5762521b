"""Demo data for `make run` and manual poking: fixed ids and credentials, so a local
badgeflow configuration can point at them."""

from __future__ import annotations

from dataclasses import dataclass

from .state import EmulatorState

DEMO_CREDLY_ORG_ID = "7d3c1f0e-5b1a-4c47-9a51-0e2f3b6d8a10"
DEMO_CREDLY_TOKEN = "demo-credly-token"
DEMO_ACCREDIBLE_KEY = "demo-accredible-key"
DEMO_ACTIVE_TEMPLATES = 55  # more than one page of 50
DEMO_ACCREDIBLE_GROUPS = 3


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    credly_organization_id: str
    credly_token: str
    accredible_key: str


def seed_demo(state: EmulatorState) -> DemoCredentials:
    """One Credly organisation with active (two pages), draft and archived templates, and
    one Accredible configuration with groups, each with its own badge design."""
    org = state.credly.add_organization(
        "Demo Academy", org_id=DEMO_CREDLY_ORG_ID, token=DEMO_CREDLY_TOKEN
    )
    for n in range(1, DEMO_ACTIVE_TEMPLATES + 1):
        # Fixed ids, so docs and rule files can name demo templates across restarts.
        state.credly.add_template(
            org.id,
            f"Demo Skill {n:02d}",
            allow_duplicates=n == 1,
            template_id=f"00000000-0000-4000-8000-{n:012d}",
        )
    state.credly.add_template(org.id, "Demo Draft", state="draft")
    state.credly.add_template(org.id, "Demo Archived", state="archived")
    state.accredible.add_configuration("Demo Academy", key=DEMO_ACCREDIBLE_KEY)
    for n in range(1, DEMO_ACCREDIBLE_GROUPS + 1):
        design = state.accredible.add_design(DEMO_ACCREDIBLE_KEY, f"Demo Design {n}")
        state.accredible.add_group(
            DEMO_ACCREDIBLE_KEY,
            f"demo-course-{n}",
            course_name=f"Demo Course {n}",
            design_id=design.id,
        )
    return DemoCredentials(DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, DEMO_ACCREDIBLE_KEY)
