"""The checked-in generated code is exactly what `make protos` produces from protos/."""

from __future__ import annotations

from pathlib import Path

from server.tools.protos import DEFAULT_OUT, PACKAGE_DIR, generate


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    fresh = {p.name: p.read_bytes() for p in generate(tmp_path)}
    checked_in = {
        p.name: p.read_bytes() for p in (DEFAULT_OUT / PACKAGE_DIR).iterdir() if p.is_file()
    }
    assert sorted(fresh) == sorted(checked_in), "run `make protos` and commit the result"
    stale = [name for name in fresh if fresh[name] != checked_in[name]]
    assert stale == [], f"stale generated files {stale}: run `make protos` and commit the result"
    assert (DEFAULT_OUT / "badgeflow" / "__init__.py").read_bytes() == (
        tmp_path / "badgeflow" / "__init__.py"
    ).read_bytes()


def test_every_proto_element_is_commented() -> None:
    """buf's STANDARD lint is not installable here; this checks the part we care most
    about: no message, field, enum value, service or RPC without a comment above it."""
    root = DEFAULT_OUT.parents[1] / "protos" / "badgeflow" / "v1"
    missing = []
    for proto in sorted(root.glob("*.proto")):
        lines = proto.read_text().splitlines()
        for number, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or stripped.startswith(
                ("//", "}", "syntax", "package", "import", "option")
            ):
                continue
            previous = lines[number - 1].strip() if number else ""
            if not previous.startswith("//"):
                missing.append(f"{proto.name}:{number + 1}: {stripped}")
    assert missing == []
