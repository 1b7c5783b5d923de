from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Literal

import httpx

from . import _async_resources as ar
from . import _resources as r
from ._core import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncCore,
    Core,
    Settings,
    Timeout,
)
from ._core import (
    logger as sdk_logger,
)
from ._webhooks import DEFAULT_TOLERANCE, verify_webhook
from .types import Event

_KEY_PREFIXES: dict[str, Literal["live", "test"]] = {"aip_live_": "live", "aip_test_": "test"}


def _settings(
    api_key: str | None,
    base_url: str | None,
    max_retries: int,
    timeout: Timeout,
    default_headers: Mapping[str, str] | None,
    logger: logging.Logger | None,
    debug: bool,
) -> tuple[Settings, Literal["live", "test"]]:
    api_key = api_key or os.environ.get("AIP_KEY")
    if not api_key:
        raise ValueError("An API key is required: AiPhone360(api_key='aip_live_…') or set AIP_KEY.")
    prefix = next((p for p in _KEY_PREFIXES if api_key.startswith(p)), None)
    if prefix is None:
        raise ValueError(
            "The API key must start with aip_live_ or aip_test_ (copy it whole from Settings → Developer)."
        )
    if not isinstance(timeout, httpx.Timeout) and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, not {type(timeout).__name__}")
    log = logger or sdk_logger
    if debug or os.environ.get("AIP_LOG", "").lower() == "debug":
        _enable_debug_logging(log)
    settings = Settings(
        api_key=api_key,
        base_url=(base_url or os.environ.get("AIP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        max_retries=max_retries,
        timeout=timeout,
        default_headers=dict(default_headers or {}),
        logger=log,
    )
    return settings, _KEY_PREFIXES[prefix]


def _enable_debug_logging(log: logging.Logger) -> None:
    """``debug=True``: every request is logged to stderr (method, path, status, request id, retries, latency)."""
    log.setLevel(logging.DEBUG)
    if not any(getattr(handler, "_aiphone360", False) for handler in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler._aiphone360 = True  # type: ignore[attr-defined]
        log.addHandler(handler)


class AiPhone360:
    """The AI Phone 360 API client.

    ``api_key`` defaults to the ``AIP_KEY`` environment variable and ``base_url`` to ``AIP_BASE_URL``
    or the production API. ``mode`` is "live" or "test", from the key's prefix. Network errors,
    timeouts, 429 and 5xx are retried ``max_retries`` times with exponential backoff and jitter,
    honouring Retry-After. ``timeout`` is seconds per attempt or an ``httpx.Timeout``. Pass
    ``http_client`` to bring your own ``httpx.Client`` (proxies, hooks). Each request is logged at
    DEBUG to ``logger`` (default: the ``aiphone360`` logger); ``debug=True`` (or ``AIP_LOG=debug``)
    prints those lines to stderr.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        debug: bool = False,
    ) -> None:
        settings, self.mode = _settings(api_key, base_url, max_retries, timeout, default_headers, logger, debug)
        self._setup(Core(settings, http_client=http_client))

    def _setup(self, core: Core) -> None:
        self._core = core
        self.base_url = core.settings.base_url
        self.calls = r.Calls(core)
        self.contacts = r.Contacts(core)
        self.sms = r.Sms(core)
        self.config = r.Config(core)
        self.webhooks = r.Webhooks(core)
        self.keys = r.Keys(core)
        self.tools = r.Tools(core)
        self.agents = r.Agents(core)
        self.data_fields = r.DataFields(core)
        self.usage = r.UsageResource(core)
        self.events = r.Events(core)
        # issue 18
        self.messages = r.Messages(core)
        self.knowledge_bases = r.KnowledgeBases(core)

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
    ) -> AiPhone360:
        """A client with some options changed, sharing this one's connection pool:
        ``client.with_options(max_retries=0, timeout=5).sms.send(…)``."""
        twin = object.__new__(AiPhone360)
        twin.mode = self.mode
        twin._setup(
            self._core.copy(
                max_retries=max_retries,
                timeout=timeout,
                default_headers={**self._core.settings.default_headers, **default_headers} if default_headers else None,
                logger=logger,
            )
        )
        return twin

    @staticmethod
    def verify_webhook(
        raw_body: bytes | str,
        signature_header: str | Sequence[str] | None,
        secret: str | None,
        tolerance: int = DEFAULT_TOLERANCE,
        *,
        now: int | None = None,
    ) -> Event:
        """See :func:`aiphone360.verify_webhook`."""
        return verify_webhook(raw_body, signature_header, secret, tolerance, now=now)

    def close(self) -> None:
        """Close the connection pool (not a client you passed in)."""
        self._core.close()

    def __enter__(self) -> AiPhone360:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AiPhone360(mode={self.mode!r}, base_url={self.base_url!r})"


class AsyncAiPhone360:
    """The same client for asyncio, on ``httpx.AsyncClient``: every method is awaited, and lists
    iterate with ``async for``::

        async with AsyncAiPhone360() as client:
            contact = await client.contacts.create(phone_number="+15555550123")
            async for call in client.calls.list(limit=100):
                ...
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        debug: bool = False,
    ) -> None:
        settings, self.mode = _settings(api_key, base_url, max_retries, timeout, default_headers, logger, debug)
        self._setup(AsyncCore(settings, http_client=http_client))

    def _setup(self, core: AsyncCore) -> None:
        self._core = core
        self.base_url = core.settings.base_url
        self.calls = ar.AsyncCalls(core)
        self.contacts = ar.AsyncContacts(core)
        self.sms = ar.AsyncSms(core)
        self.config = ar.AsyncConfig(core)
        self.webhooks = ar.AsyncWebhooks(core)
        self.keys = ar.AsyncKeys(core)
        self.tools = ar.AsyncTools(core)
        self.agents = ar.AsyncAgents(core)
        self.data_fields = ar.AsyncDataFields(core)
        self.usage = ar.AsyncUsageResource(core)
        self.events = ar.AsyncEvents(core)
        # issue 18
        self.messages = ar.AsyncMessages(core)
        self.knowledge_bases = ar.AsyncKnowledgeBases(core)

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
    ) -> AsyncAiPhone360:
        """A client with some options changed, sharing this one's connection pool."""
        twin = object.__new__(AsyncAiPhone360)
        twin.mode = self.mode
        twin._setup(
            self._core.copy(
                max_retries=max_retries,
                timeout=timeout,
                default_headers={**self._core.settings.default_headers, **default_headers} if default_headers else None,
                logger=logger,
            )
        )
        return twin

    @staticmethod
    def verify_webhook(
        raw_body: bytes | str,
        signature_header: str | Sequence[str] | None,
        secret: str | None,
        tolerance: int = DEFAULT_TOLERANCE,
        *,
        now: int | None = None,
    ) -> Event:
        """See :func:`aiphone360.verify_webhook`."""
        return verify_webhook(raw_body, signature_header, secret, tolerance, now=now)

    async def close(self) -> None:
        await self._core.close()

    async def __aenter__(self) -> AsyncAiPhone360:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncAiPhone360(mode={self.mode!r}, base_url={self.base_url!r})"
