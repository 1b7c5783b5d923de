"""Cursor pagination: a page holds one page in the API's shape and iterates across all pages.

``Page`` for the synchronous client; ``AsyncPage`` (and ``AsyncPageRequest``, what an async
``list()`` returns: await it for one page, or ``async for`` over it for every item) for the async one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._core import ResponseInfo, Result
from ._objects import ApiObject
from .types import Pagination

T = TypeVar("T", bound=ApiObject)


class _PageData(Generic[T]):
    def __init__(self, result: Result, *, item: type[T], params: dict[str, Any]) -> None:
        envelope = result.envelope
        self.data: list[T] = [item(row) for row in envelope["data"]]
        raw = envelope.get("pagination") or {"nextCursor": None, "hasMore": False, "limit": len(self.data)}
        self.pagination = Pagination(raw)
        #: The HTTP answer of this page (headers, rate limit, request id).
        self.last_response: ResponseInfo = result.info
        self._item = item
        self._params = params

    @property
    def request_id(self) -> str | None:
        return self.last_response.request_id

    def has_next_page(self) -> bool:
        return bool(self.pagination.has_more and self.pagination.next_cursor)

    def _next_params(self) -> dict[str, Any]:
        return {**self._params, "cursor": self.pagination.next_cursor}

    def to_dict(self) -> dict[str, Any]:
        return {"data": [row.to_dict() for row in self.data], "pagination": self.pagination.to_dict()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data=<{len(self.data)} {self._item.__name__}>, pagination={self.pagination!r})"


class Page(_PageData[T]):
    """``page.data`` and ``page.pagination`` (``next_cursor``, ``has_more``, ``limit``), as the API sends them.

    Iterating a page yields every item from it on, fetching later pages only when needed::

        for call in client.calls.list(limit=100):
            ...
    """

    def __init__(
        self, result: Result, *, item: type[T], params: dict[str, Any], fetch: Callable[[dict[str, Any]], Result]
    ) -> None:
        super().__init__(result, item=item, params=params)
        self._fetch = fetch

    def get_next_page(self) -> Page[T] | None:
        """The following page, or None on the last one."""
        if not self.has_next_page():
            return None
        params = self._next_params()
        return Page(self._fetch(params), item=self._item, params=params, fetch=self._fetch)

    def iter_pages(self) -> Iterator[Page[T]]:
        page: Page[T] | None = self
        while page is not None:
            yield page
            page = page.get_next_page()

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item from this page on, across pages."""
        for page in self.iter_pages():
            yield from page.data

    def __iter__(self) -> Iterator[T]:
        return self.auto_paging_iter()


class AsyncPage(_PageData[T]):
    """The async client's page: ``async for item in page`` walks every item from it on."""

    def __init__(
        self,
        result: Result,
        *,
        item: type[T],
        params: dict[str, Any],
        fetch: Callable[[dict[str, Any]], Awaitable[Result]],
    ) -> None:
        super().__init__(result, item=item, params=params)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[T] | None:
        if not self.has_next_page():
            return None
        params = self._next_params()
        return AsyncPage(await self._fetch(params), item=self._item, params=params, fetch=self._fetch)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.get_next_page()

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for row in page.data:
                yield row

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()


class AsyncPageRequest(Generic[T]):
    """What an async ``list()`` returns: ``await`` it for the first page, or ``async for`` over it
    for every item across pages (the first page is fetched when iteration starts)."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for row in page:
            yield row
