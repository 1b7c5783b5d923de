"""What every resource shares: "not given", per-request options and the call helpers of the
synchronous and asynchronous resources."""

from __future__ import annotations

import datetime
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

from ._core import AsyncCore, Core, Result, Timeout
from ._objects import ApiObject, camelize
from ._pagination import AsyncPage, AsyncPageRequest, Page

T = TypeVar("T", bound=ApiObject)


class _NotGiven:
    """Marks an argument the caller left out (None is a value: it clears a field)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()


class RequestOptions(TypedDict, total=False):
    idempotency_key: str
    max_retries: int
    timeout: Timeout
    headers: dict[str, str]


def _fields(**values: Any) -> dict[str, Any]:
    body: dict[str, Any] = camelize({name: value for name, value in values.items() if value is not NOT_GIVEN})
    return body


def _id(value: str) -> str:
    return quote(str(value), safe="")


def _iso(value: datetime.date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


def _object(item: type[T], result: Result) -> T:
    obj = item(result.envelope["data"])
    obj.last_response = result.info
    return obj


def _query(params: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = camelize({k: v for k, v in params.items() if v is not None})
    return query


class _Resource:
    def __init__(self, core: Core) -> None:
        self._core = core

    def _call(
        self,
        item: type[T],
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> T:
        return _object(item, self._core.request(method, path, body=body, query=query, **(options or {})))

    def _list(self, item: type[T], path: str, params: dict[str, Any], options: RequestOptions | None = None) -> Page[T]:
        query = _query(params)

        def fetch(page_params: dict[str, Any]) -> Result:
            return self._core.request("GET", path, query=page_params, **(options or {}))

        return Page(fetch(query), item=item, params=query, fetch=fetch)


class _AsyncResource:
    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def _call(
        self,
        item: type[T],
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> T:
        return _object(item, await self._core.request(method, path, body=body, query=query, **(options or {})))

    def _list(
        self, item: type[T], path: str, params: dict[str, Any], options: RequestOptions | None = None
    ) -> AsyncPageRequest[T]:
        query = _query(params)

        async def fetch(page_params: dict[str, Any]) -> Result:
            return await self._core.request("GET", path, query=page_params, **(options or {}))

        async def first() -> AsyncPage[T]:
            return AsyncPage(await fetch(query), item=item, params=query, fetch=fetch)

        return AsyncPageRequest(first)
