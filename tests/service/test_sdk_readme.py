"""The SDK README's examples run, in order, against a real server, and print what the
README says they print."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).parents[2] / "clients" / "python" / "README.md"
README_TARGET = "localhost:50151"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def examples(text: str) -> list[tuple[str, str | None]]:
    """Each python block with the output block right after it (None when there is none)."""
    blocks = [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]
    return [
        (code, following[1] if following and following[0] == "text" else None)
        for (language, code), following in zip(blocks, [*blocks[1:], None], strict=True)
        if language == "python"
    ]


def test_examples_pairs_code_with_output() -> None:
    text = "```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\n"
    assert examples(text) == [("print(1)\n", "1\n"), ("x = 2\n", None)]


async def test_readme_examples_run(target: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert README_TARGET in text
    blocks = examples(text.replace(README_TARGET, target))
    assert len(blocks) >= 8

    def run() -> list[tuple[str, str]]:
        namespace: dict[str, object] = {"__name__": "readme"}
        printed = []
        for number, (code, expected) in enumerate(blocks, start=1):
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(compile(code, f"README.md python block {number}", "exec"), namespace)
            if expected is not None:
                printed.append((output.getvalue(), expected))
        return printed

    # The sync client must not block the server's event loop, and the async example
    # starts its own loop with asyncio.run: so the README runs in a worker thread.
    for got, expected in await asyncio.to_thread(run):
        assert got == expected
