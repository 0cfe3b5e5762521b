"""Pagers follow page tokens lazily, over fake fetch functions (no I/O)."""

from __future__ import annotations

from badgeflow.v1 import template_pb2, template_service_pb2
from badgeflow_client.pagers import AsyncPager, Pager

PAGES = {
    "": template_service_pb2.ListTemplatesResponse(
        templates=[template_pb2.Template(id="t1"), template_pb2.Template(id="t2")],
        next_page_token="p2",
    ),
    "p2": template_service_pb2.ListTemplatesResponse(
        templates=[template_pb2.Template(id="t3")], next_page_token="p3"
    ),
    "p3": template_service_pb2.ListTemplatesResponse(),
}


class FakeList:
    """A paged list call that records the tokens it was asked for."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def fetch(self, token: str) -> template_service_pb2.ListTemplatesResponse:
        self.tokens.append(token)
        return PAGES[token]

    async def fetch_async(self, token: str) -> template_service_pb2.ListTemplatesResponse:
        return self.fetch(token)


def _templates(page: template_service_pb2.ListTemplatesResponse) -> list[template_pb2.Template]:
    return list(page.templates)


def test_iterating_yields_every_item_across_pages() -> None:
    listing = FakeList()
    pager = Pager(listing.fetch, _templates)
    assert listing.tokens == []  # nothing is fetched before iterating
    assert [t.id for t in pager] == ["t1", "t2", "t3"]
    assert listing.tokens == ["", "p2", "p3"]


def test_pages_are_fetched_one_at_a_time() -> None:
    listing = FakeList()
    items = iter(Pager(listing.fetch, _templates))
    assert [next(items).id, next(items).id] == ["t1", "t2"]
    assert listing.tokens == [""]
    assert next(items).id == "t3"
    assert listing.tokens == ["", "p2"]


def test_pages_and_first_page() -> None:
    listing = FakeList()
    pager = Pager(listing.fetch, _templates)
    assert pager.first_page.next_page_token == "p2"
    assert pager.first_page is pager.first_page
    assert [page.next_page_token for page in pager.pages()] == ["p2", "p3", ""]
    assert listing.tokens == ["", "p2", "p3"]  # the first page was fetched once


def test_a_single_page() -> None:
    only = template_service_pb2.ListTemplatesResponse(templates=[template_pb2.Template(id="t")])
    pager = Pager(lambda token: only, _templates)
    assert ([t.id for t in pager], list(pager.pages())) == (["t"], [only])
    assert repr(pager) == "<Pager first_page=fetched>"


async def test_async_pager() -> None:
    listing = FakeList()
    pager = AsyncPager(listing.fetch_async, _templates)
    assert repr(pager) == "<AsyncPager first_page=pending>"
    assert [t.id async for t in pager] == ["t1", "t2", "t3"]
    assert [page.next_page_token async for page in pager.pages()] == ["p2", "p3", ""]
    assert (await pager.first_page()).next_page_token == "p2"
    assert listing.tokens == ["", "p2", "p3", "p2", "p3"]
