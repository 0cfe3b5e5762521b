"""Golden tests: every ``cases/<name>.rules`` against ``<name>.diag`` and/or ``<name>.out``.

``.diag`` holds the exact rendered diagnostics (errors and warnings) from ``dsl.check``;
``.out`` holds a dump of the compiled RuleSet and exists only when the case compiles.
A ``.rules`` file may hold several rule files, separated by ``--- file: NAME`` lines.

Regenerate with ``BADGEFLOW_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/dsl`` and
review the diff by hand before committing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import dsl
from dsl.diagnostics import CODES, RETIRED, render_all
from dsl.ruleset import IssueMethod, RequirementKind, Trigger

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("BADGEFLOW_UPDATE_GOLDEN") == "1"
_FILE_MARKER = re.compile(r"^--- file: (\S+)\n", re.MULTILINE)


def load_case(path: Path) -> list[dsl.SourceFile]:
    parts = _FILE_MARKER.split(path.read_text(encoding="utf-8"))
    files = [dsl.SourceFile(path.name, parts[0])]
    files += [
        dsl.SourceFile(name, text) for name, text in zip(parts[1::2], parts[2::2], strict=True)
    ]
    return files


def dump_ruleset(ruleset: dsl.RuleSet) -> str:
    lines: list[str] = []
    for badge in ruleset.badges:
        lines += [
            f"badge {badge.slug}",
            f"  template: {badge.template_id}",
            f"  description: {badge.description!r}",
            f"  repeatable: {badge.repeatable}",
        ]
        lines += _dump_issuing(badge)
        for group in badge.groups:
            lines.append(f"  group {group.name}")
            for req in group.requirements:
                lines += _dump_requirement(req)
        for penalty in badge.penalties:
            lines += [
                f"  penalty {penalty.name} [{penalty.event_type}]"
                f" resets {', '.join(penalty.resets)}",
                f"    {penalty.description}",
                *_dump_trigger_details(penalty.trigger, "    "),
            ]
    return "\n".join(lines) + "\n"


def _dump_issuing(badge: dsl.CompiledBadge) -> list[str]:
    lines = []
    if badge.method is not IssueMethod.ISSUE:
        lines.append(f"  method: {badge.method.value}")
    if badge.expiry is not None:
        expiry = badge.expiry
        when = expiry.on.isoformat() if expiry.on else f"{expiry.amount} {expiry.unit}"
        lines.append(f"  expiry: {when}")
    lines += [f"  evidence {e.kind} {e.name!r}: {e.template!r}" for e in badge.evidence]
    return lines


def _dump_requirement(req: dsl.CompiledRequirement) -> list[str]:
    head = f"    requirement {req.name} [{req.event_type}]"
    if req.kind is not RequirementKind.MATCH:
        head += f" {req.kind.value}"
    lines = [head, f"      {req.description}"]
    details = []
    if req.kind in (RequirementKind.COUNT, RequirementKind.DISTINCT):
        details.append(f"threshold {req.threshold}")
    if req.distinct_path:
        details.append(f"distinct {'.'.join(req.distinct_path)}")
    if req.window is not None:
        details.append(f"window {req.window}")
    if req.badge:
        details.append(f"badge {req.badge}")
    if details:
        lines.append("      " + ", ".join(details))
    if len(req.triggers) > 1:
        for trigger in req.triggers:
            lines.append(f"      trigger {trigger.slot} [{trigger.event_type}]")
            lines.append(f"        {trigger.description}")
            lines += _dump_trigger_details(trigger, "        ")
    else:
        for trigger in req.triggers:
            lines += _dump_trigger_details(trigger, "      ")
    return lines


def _dump_trigger_details(trigger: Trigger, indent: str) -> list[str]:
    lines = []
    if trigger.equalities:
        pairs = ", ".join(f"{'.'.join(p)} == {v!r}" for p, v in trigger.equalities)
        lines.append(f"{indent}equalities: {pairs}")
    if trigger.after is not None or trigger.before is not None:
        lines.append(f"{indent}during: {trigger.after.isoformat()} .. {trigger.before.isoformat()}")
    return lines


def render_case(files: list[dsl.SourceFile]) -> dict[str, str]:
    """Suffix -> expected text for one case."""
    diagnostics = dsl.check(files)
    goldens: dict[str, str] = {}
    if diagnostics:
        goldens[".diag"] = render_all(diagnostics) + "\n"
    if not any(d.severity is dsl.Severity.ERROR for d in diagnostics):
        goldens[".out"] = dump_ruleset(dsl.compile_rules(files))
    return goldens


CASE_PATHS = sorted(CASES.glob("*.rules"))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in CASE_PATHS])
def test_golden_case(path: Path) -> None:
    actual = render_case(load_case(path))
    for suffix in (".diag", ".out"):
        golden = path.with_suffix(suffix)
        if UPDATE:
            _write_or_remove(golden, actual.get(suffix))
            continue
        expected = golden.read_text(encoding="utf-8") if golden.exists() else None
        assert actual.get(suffix) == expected, f"{golden.name} differs"


def _write_or_remove(golden: Path, text: str | None) -> None:
    if text is None:
        golden.unlink(missing_ok=True)
    else:
        golden.write_text(text, encoding="utf-8")


def test_golden_cases_exist() -> None:
    assert len(CASE_PATHS) >= len(CODES)


def test_every_code_has_a_golden_diag() -> None:
    rendered = "".join(p.read_text(encoding="utf-8") for p in CASES.glob("*.diag"))
    missing = [code for code in CODES if f"[{code}]" not in rendered]
    assert missing == []


def test_every_golden_file_belongs_to_a_case() -> None:
    stems = {p.stem for p in CASE_PATHS}
    orphans = [p.name for p in CASES.iterdir() if p.stem not in stems]
    assert orphans == []


def test_diagnostics_table_lists_exactly_the_codes() -> None:
    table = (Path(dsl.__file__).parent / "DIAGNOSTICS.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([EW]\d{3})` \|", table, re.MULTILINE)
    assert documented == list(CODES)
    retired = re.findall(r"^- `([EW]\d{3})` \(v\d+\):", table, re.MULTILINE)
    assert retired == list(RETIRED)


def test_retired_codes_are_never_reported_nor_reused() -> None:
    rendered = "".join(p.read_text(encoding="utf-8") for p in CASES.glob("*.diag"))
    assert not set(RETIRED) & set(CODES)
    assert [code for code in RETIRED if f"[{code}]" in rendered] == []
