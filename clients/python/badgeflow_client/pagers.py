"""Pagers: iterate a paged list call item by item, or page by page.

A list call (`ListTemplates`, `ListTemplateProgress`) answers one page at a time with a
`next_page_token`. A pager follows the tokens lazily: nothing is fetched until you
iterate, and each page is fetched only when the previous one is used up.

    >>> pager = client.list_templates(page_size=50)  # doctest: +SKIP
    >>> [t.id for t in pager]  # every template, across pages  # doctest: +SKIP
    >>> [len(page.templates) for page in pager.pages()]  # doctest: +SKIP
    [50, 50, 7]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["AsyncPager", "PageResponse", "Pager"]

_Item = TypeVar("_Item")


class PageResponse(Protocol):
    """What every list response has: the token of the next page (empty on the last)."""

    @property
    def next_page_token(self) -> str: ...


class _PagerBase(Generic[_Item]):
    """What the sync and async pagers share: the item field to read from each page."""

    def __init__(self, items_of: Callable[[PageResponse], Sequence[_Item]]) -> None:
        self._items_of = items_of
        self._first_page: PageResponse | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} first_page={'fetched' if self._first_page else 'pending'}>"


class Pager(_PagerBase[_Item]):
    """The items of a paged list call, fetched page by page as you iterate.

    Iterating yields the items of every page, in order; `pages()` yields the page
    responses themselves (with `next_page_token`); `first_page` fetches only the first.
    A pager can be iterated more than once: each pass asks the server again (the first
    page is fetched once).

    Example:
        >>> pager = client.template_progress(template_id, completed_only=True)  # doctest: +SKIP
        >>> [record.learner_id for record in pager]  # doctest: +SKIP
        ['L1', 'L2']
        >>> pager.first_page.next_page_token  # doctest: +SKIP
        ''
    """

    def __init__(
        self,
        fetch: Callable[[str], PageResponse],
        items_of: Callable[[PageResponse], Sequence[_Item]],
    ) -> None:
        super().__init__(items_of)
        self._fetch = fetch

    @property
    def first_page(self) -> PageResponse:
        """The first page's response (fetched on first use, then kept)."""
        if self._first_page is None:
            self._first_page = self._fetch("")
        return self._first_page

    def pages(self) -> Iterator[PageResponse]:
        """Yield each page's response, fetching the next one only when asked for."""
        page = self.first_page
        yield page
        while token := page.next_page_token:
            page = self._fetch(token)
            yield page

    def __iter__(self) -> Iterator[_Item]:
        for page in self.pages():
            yield from self._items_of(page)


class AsyncPager(_PagerBase[_Item]):
    """The items of a paged list call for `AsyncBadgeflowClient`: use `async for`.

    Example:
        >>> async for template in client.list_templates(active_only=True):  # doctest: +SKIP
        ...     print(template.id)
        >>> page = await client.list_templates().first_page()  # doctest: +SKIP
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[PageResponse]],
        items_of: Callable[[PageResponse], Sequence[_Item]],
    ) -> None:
        super().__init__(items_of)
        self._fetch = fetch

    async def first_page(self) -> PageResponse:
        """The first page's response (fetched on first use, then kept)."""
        if self._first_page is None:
            self._first_page = await self._fetch("")
        return self._first_page

    async def pages(self) -> AsyncIterator[PageResponse]:
        """Yield each page's response, fetching the next one only when asked for."""
        page = await self.first_page()
        yield page
        while token := page.next_page_token:
            page = await self._fetch(token)
            yield page

    async def __aiter__(self) -> AsyncIterator[_Item]:
        async for page in self.pages():
            for item in self._items_of(page):
                yield item
