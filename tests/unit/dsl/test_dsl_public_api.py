"""The public surface of ``dsl`` is exactly ``__all__`` (the server depends on it)."""

from __future__ import annotations

import dsl
import dsl.schemas

EXPECTED = {
    "CompiledBadge",
    "CompiledGroup",
    "CompiledPenalty",
    "CompiledRequirement",
    "Diagnostic",
    "RuleError",
    "RuleSet",
    "Severity",
    "SourceFile",
    "Span",
    "check",
    "compile_rules",
}


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(dsl).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("dsl")
    }
    assert set(dsl.__all__) == EXPECTED
    assert public == EXPECTED


def test_every_name_in_all_exists() -> None:
    assert all(hasattr(dsl, name) for name in dsl.__all__)


def test_schemas_exports_builtin_event_types() -> None:
    assert "BUILTIN_EVENT_TYPES" in dsl.schemas.__all__
    assert (
        "org.openedx.learning.course.passing.status.updated.v1" in dsl.schemas.BUILTIN_EVENT_TYPES
    )


def test_dsl_never_imports_server() -> None:
    from pathlib import Path

    sources = Path(dsl.__file__).parent.glob("*.py")
    offending = [
        p.name
        for p in sources
        if "import server" in p.read_text() or "from server" in p.read_text()
    ]
    assert offending == []
