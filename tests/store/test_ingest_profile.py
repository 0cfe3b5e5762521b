"""The in-process ingest measurement tool runs end to end at small sizes."""

from __future__ import annotations

import json

import pytest

from server.tools import ingest_profile


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="stream"),
        pytest.param(["--sequential", "--pragma", "cache_size=-4096"], id="sequential"),
    ],
)
@pytest.mark.parametrize("workload", [pytest.param(w, id=w) for w in ("mixed", "advance")])
def test_every_event_is_accepted(
    workload: str, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--workload", workload, "--templates", "5", "--learners", "20", "--events", "300"]
    assert ingest_profile.main([*args, "--batch", "50", *extra]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["events"] == result["accepted"] == 300
    assert result["events_per_s"] > 0 and result["raw_upserts_per_s"] > 0
