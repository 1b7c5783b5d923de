"""Cursor pagination: a ``Page`` holds one page in the API's shape and iterates across all pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from ._objects import ApiObject
from .types import Pagination

T = TypeVar("T", bound=ApiObject)


class Page(Generic[T]):
    """``page.data`` and ``page.pagination`` (``next_cursor``, ``has_more``, ``limit``), as the API sends them.

    Iterating a page yields every item from it on, fetching later pages only when needed::

        for call in client.calls.list(limit=100):
            ...
    """

    def __init__(
        self,
        envelope: dict[str, Any],
        *,
        item: type[T],
        params: dict[str, Any],
        fetch: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self.data: list[T] = [item(row) for row in envelope["data"]]
        raw = envelope.get("pagination") or {"nextCursor": None, "hasMore": False, "limit": len(self.data)}
        self.pagination = Pagination(raw)
        self._item = item
        self._params = params
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return bool(self.pagination.has_more and self.pagination.next_cursor)

    def get_next_page(self) -> Page[T] | None:
        """The following page, or None on the last one."""
        if not self.has_next_page():
            return None
        params = {**self._params, "cursor": self.pagination.next_cursor}
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

    def to_dict(self) -> dict[str, Any]:
        return {"data": [row.to_dict() for row in self.data], "pagination": self.pagination.to_dict()}

    def __repr__(self) -> str:
        return f"Page(data=<{len(self.data)} {self._item.__name__}>, pagination={self.pagination!r})"
