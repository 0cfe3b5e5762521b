"""Each module of the bridge declares `__all__`, and it names what the module defines."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "server.bridges",
    "server.bridges.openedx",
    "server.bridges.openedx.codec",
    "server.bridges.openedx.config",
    "server.bridges.openedx.envelope",
    "server.bridges.openedx.forwarding",
    "server.bridges.openedx.kafka_bus",
    "server.bridges.openedx.mapping",
    "server.bridges.openedx.publish_back",
    "server.bridges.openedx.redis_streams",
    "server.bridges.openedx.runner",
]


@pytest.mark.parametrize("name", [pytest.param(n, id=n.rsplit(".", 1)[-1]) for n in MODULES])
def test_all_names_exist_and_are_sorted(name: str) -> None:
    module = importlib.import_module(name)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
