from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Literal

import httpx

from ._core import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Core
from ._resources import Agents, Calls, Config, Contacts, DataFields, Keys, Sms, Tools, UsageResource, Webhooks
from ._webhooks import DEFAULT_TOLERANCE, verify_webhook
from .types import WebhookEvent

_KEY_PREFIXES: dict[str, Literal["live", "test"]] = {"aip_live_": "live", "aip_test_": "test"}


class AiPhone360:
    """The AI Phone 360 API client.

    ``api_key`` defaults to the ``AIP_KEY`` environment variable and ``base_url`` to ``AIP_BASE_URL``
    or the production API. ``mode`` is "live" or "test", from the key's prefix. Network errors,
    timeouts, 429 and 5xx are retried ``max_retries`` times with exponential backoff and jitter,
    honouring Retry-After. Pass ``http_client`` to bring your own ``httpx.Client`` (proxies, hooks).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        api_key = api_key or os.environ.get("AIP_KEY")
        if not api_key:
            raise ValueError("An API key is required: AiPhone360(api_key='aip_live_…') or set AIP_KEY.")
        prefix = next((p for p in _KEY_PREFIXES if api_key.startswith(p)), None)
        if prefix is None:
            raise ValueError(
                "The API key must start with aip_live_ or aip_test_ (copy it whole from Settings → Developer)."
            )
        self.mode: Literal["live", "test"] = _KEY_PREFIXES[prefix]
        self.base_url = (base_url or os.environ.get("AIP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._core = Core(
            api_key=api_key,
            base_url=self.base_url,
            max_retries=max_retries,
            timeout=timeout,
            http_client=http_client,
            default_headers=default_headers,
        )
        self.calls = Calls(self._core)
        self.contacts = Contacts(self._core)
        self.sms = Sms(self._core)
        self.config = Config(self._core)
        self.webhooks = Webhooks(self._core)
        self.keys = Keys(self._core)
        self.tools = Tools(self._core)
        self.agents = Agents(self._core)
        self.data_fields = DataFields(self._core)
        self.usage = UsageResource(self._core)

    @staticmethod
    def verify_webhook(
        raw_body: bytes | str,
        signature_header: str | Sequence[str] | None,
        secret: str | None,
        tolerance: int = DEFAULT_TOLERANCE,
        *,
        now: int | None = None,
    ) -> WebhookEvent:
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
