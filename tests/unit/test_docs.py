"""The README is the reference for settings and diagnostic codes; it must match the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from server.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    "field", [pytest.param(f, id=f.name) for f in dataclasses.fields(Settings)]
)
def test_every_setting_is_documented_with_its_default(field: dataclasses.Field) -> None:
    row = re.search(rf"^\| `BADGEFLOW_{field.name.upper()}` \| `([^`]*)` \|", README, re.M)
    assert row is not None, f"README lacks a row for BADGEFLOW_{field.name.upper()}"
    assert row.group(1) == str(field.default)


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"^\| `BADGEFLOW_([A-Z_]+)` \|", README, re.M))
    assert documented == {f.name.upper() for f in dataclasses.fields(Settings)}


def test_every_diagnostic_code_in_the_readme_matches_the_dsl_table() -> None:
    dsl_table = (ROOT / "dsl" / "DIAGNOSTICS.md").read_text()
    code = re.compile(r"^\| `([EW]\d{3})` \|", re.M)
    assert code.findall(README) == code.findall(dsl_table)
    cases = {p.stem for p in (ROOT / "tests" / "dsl" / "cases").glob("*.diag")}
    golden_codes = set()
    for case in cases:
        golden_codes |= set(
            re.findall(
                r"(?:error|warning)\[([EW]\d{3})\]",
                (ROOT / "tests/dsl/cases" / f"{case}.diag").read_text(),
            )
        )
    assert set(code.findall(README)) <= golden_codes


def test_environment_overrides_file_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "badgeflow.toml"
    config.write_text('grpc_port = 6000\nlog_format = "text"\n')
    settings = load_settings({"BADGEFLOW_CONFIG": str(config), "BADGEFLOW_GRPC_PORT": "7000"})
    assert (settings.grpc_port, settings.log_format, settings.log_level) == (7000, "text", "INFO")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param(
            {"BADGEFLOW_GRPC_PORT": "http"},
            "BADGEFLOW_GRPC_PORT must be an integer, got 'http'",
            id="not-a-number",
        ),
        pytest.param(
            {"BADGEFLOW_GRPC_PORT": "70000"},
            "grpc_port must be 0..65535, got 70000",
            id="port-range",
        ),
        pytest.param(
            {"BADGEFLOW_LOG_FORMAT": "xml"},
            "log_format must be 'json' or 'text', got 'xml'",
            id="log-format",
        ),
    ],
)
def test_bad_settings_say_which_and_why(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings(environ)
