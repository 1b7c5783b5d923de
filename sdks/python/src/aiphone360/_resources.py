"""The API's resources, in Python's idiom: keyword arguments in snake_case, camelCase on the wire.

This module is the source of ``_async_resources.py``, which ``python -m aiphone360._generate_async``
writes from it (a test fails when the two differ): edit this one.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Literal

from ._base import NOT_GIVEN, RequestOptions, _fields, _id, _iso, _Resource
from ._core import Core
from ._pagination import Page
from .types import (
    Agent,
    AiConfig,
    ApiKey,
    ApiKeyWithSecret,
    Call,
    CallDetail,
    CallHandlingMode,
    Contact,
    DataField,
    DataFieldType,
    Deleted,
    EventSubscription,
    EventType,
    EventWithDeliveries,
    KnowledgeBase,
    Language,
    Message,
    MessageStatus,
    Mode,
    Recording,
    RotatedKey,
    RotationWindow,
    Scope,
    Tool,
    Transcript,
    Usage,
    WebhookDelivery,
    WebhookDeliveryDetail,
    WebhookEndpoint,
    WebhookEndpointWithSecret,
    WebhookEvent,
    WebhookRecoverResult,
    WebhookTestResult,
)

__all__ = ["NOT_GIVEN", "RequestOptions"]


class Calls(_Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        date_range: str | None = None,
        search: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Call]:
        """Calls, newest first. ``date_range``: today, 7d, 30d, 90d or "FROM,TO". Scope read:calls."""
        return self._list(
            Call,
            "/calls",
            dict(limit=limit, cursor=cursor, direction=direction, date_range=date_range, search=search),
            options,
        )

    def get(self, call_id: str, *, options: RequestOptions | None = None) -> CallDetail:
        return self._call(CallDetail, "GET", f"/calls/{_id(call_id)}", options=options)

    def transcript(self, call_id: str, *, options: RequestOptions | None = None) -> Transcript:
        """Speaker-attributed turns. Scope read:transcripts."""
        return self._call(Transcript, "GET", f"/calls/{_id(call_id)}/transcript", options=options)

    def recording(self, call_id: str, *, options: RequestOptions | None = None) -> Recording:
        """A signed URL that expires. Scope read:recordings."""
        return self._call(Recording, "GET", f"/calls/{_id(call_id)}/recording", options=options)


class Contacts(_Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        search: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Contact]:
        return self._list(Contact, "/contacts", dict(limit=limit, cursor=cursor, search=search), options)

    def get(self, contact_id: str, *, options: RequestOptions | None = None) -> Contact:
        return self._call(Contact, "GET", f"/contacts/{_id(contact_id)}", options=options)

    def create(
        self,
        *,
        phone_number: str,
        name: str | None = NOT_GIVEN,
        email: str | None = NOT_GIVEN,
        company: str | None = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Contact:
        """``phone_number`` in any common format is stored as E.164. Scope write:contacts."""
        body = _fields(phone_number=phone_number, name=name, email=email, company=company)
        return self._call(Contact, "POST", "/contacts", body=body, options=options)

    def update(
        self,
        contact_id: str,
        *,
        phone_number: str = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        email: str | None = NOT_GIVEN,
        company: str | None = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Contact:
        body = _fields(phone_number=phone_number, name=name, email=email, company=company)
        return self._call(Contact, "PATCH", f"/contacts/{_id(contact_id)}", body=body, options=options)

    def delete(self, contact_id: str, *, options: RequestOptions | None = None) -> Deleted:
        """Erase a contact: its calls and texts stay, unlinked. A second delete raises NotFoundError.
        Scope write:contacts."""
        return self._call(Deleted, "DELETE", f"/contacts/{_id(contact_id)}", options=options)


class Sms(_Resource):
    def send(
        self, *, to: str, body: str, idempotency_key: str | None = None, options: RequestOptions | None = None
    ) -> Message:
        """Send a text (POST /messages). Scope write:sms.

        An Idempotency-Key is generated for each call and reused by its automatic retries, so a
        retry never sends twice; pass ``idempotency_key`` to make your own retries safe too.
        """
        merged: RequestOptions = {**(options or {})}
        if idempotency_key is not None:
            merged["idempotency_key"] = idempotency_key
        return self._call(Message, "POST", "/messages", body={"to": to, "body": body}, options=merged)


class Config(_Resource):
    def get(self, *, options: RequestOptions | None = None) -> AiConfig:
        """The curated AI configuration. Scope read:usage."""
        return self._call(AiConfig, "GET", "/config", options=options)

    def update(
        self,
        *,
        language: Language = NOT_GIVEN,
        timezone: str = NOT_GIVEN,
        call_handling_mode: CallHandlingMode = NOT_GIVEN,
        greeting: str = NOT_GIVEN,
        business_hours: dict[str, Any] = NOT_GIVEN,
        voicemail_enabled: bool = NOT_GIVEN,
        sms_help_reply: str | None = NOT_GIVEN,
        sms_quiet_hours: dict[str, str] = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> AiConfig:
        """Update the safe subset of the config. Scope manage:config."""
        body = _fields(
            language=language,
            timezone=timezone,
            call_handling_mode=call_handling_mode,
            greeting=greeting,
            business_hours=business_hours,
            voicemail_enabled=voicemail_enabled,
            sms_help_reply=sms_help_reply,
            sms_quiet_hours=sms_quiet_hours,
        )
        return self._call(AiConfig, "PATCH", "/config", body=body, options=options)


class WebhookDeliveries(_Resource):
    def list(
        self,
        webhook_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        status: Literal["pending", "held", "succeeded", "failed", "expired"] | None = None,
        event_type: EventType | None = None,
        from_: datetime.datetime | str | None = None,
        to: datetime.datetime | str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[WebhookDelivery]:
        params = dict(limit=limit, cursor=cursor, status=status, event_type=event_type, from_=_iso(from_), to=_iso(to))
        return self._list(WebhookDelivery, f"/webhooks/{_id(webhook_id)}/deliveries", params, options)

    def get(self, webhook_id: str, delivery_id: str, *, options: RequestOptions | None = None) -> WebhookDeliveryDetail:
        """One delivery with its event and every attempt."""
        path = f"/webhooks/{_id(webhook_id)}/deliveries/{_id(delivery_id)}"
        return self._call(WebhookDeliveryDetail, "GET", path, options=options)

    def replay(self, webhook_id: str, delivery_id: str, *, options: RequestOptions | None = None) -> WebhookDelivery:
        """Send the same event (same evt_ id) again as a new delivery."""
        path = f"/webhooks/{_id(webhook_id)}/deliveries/{_id(delivery_id)}/replay"
        return self._call(WebhookDelivery, "POST", path, options=options)


class Webhooks(_Resource):
    """Webhook endpoints. Scope manage:webhooks."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.deliveries = WebhookDeliveries(core)

    def list(
        self, *, limit: int | None = None, cursor: str | None = None, options: RequestOptions | None = None
    ) -> Page[WebhookEndpoint]:
        return self._list(WebhookEndpoint, "/webhooks", dict(limit=limit, cursor=cursor), options)

    def get(self, webhook_id: str, *, options: RequestOptions | None = None) -> WebhookEndpoint:
        return self._call(WebhookEndpoint, "GET", f"/webhooks/{_id(webhook_id)}", options=options)

    def create(
        self,
        *,
        url: str,
        events: Sequence[EventSubscription],
        description: str = NOT_GIVEN,
        modes: Sequence[Mode] = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> WebhookEndpointWithSecret:
        """Register an endpoint; the result's ``secret`` (whsec_…) is shown only this once.

        ``modes``: ``["live"]``, ``["test"]`` or both (the default), the events it receives."""
        body = _fields(
            url=url,
            events=list(events),
            description=description,
            modes=list(modes) if modes is not NOT_GIVEN else NOT_GIVEN,
        )
        return self._call(WebhookEndpointWithSecret, "POST", "/webhooks", body=body, options=options)

    def update(
        self,
        webhook_id: str,
        *,
        url: str = NOT_GIVEN,
        events: Sequence[EventSubscription] = NOT_GIVEN,
        description: str = NOT_GIVEN,
        enabled: bool = NOT_GIVEN,
        modes: Sequence[Mode] = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> WebhookEndpoint:
        body = _fields(
            url=url,
            events=list(events) if events is not NOT_GIVEN else NOT_GIVEN,
            description=description,
            enabled=enabled,
            modes=list(modes) if modes is not NOT_GIVEN else NOT_GIVEN,
        )
        return self._call(WebhookEndpoint, "PATCH", f"/webhooks/{_id(webhook_id)}", body=body, options=options)

    def delete(self, webhook_id: str, *, options: RequestOptions | None = None) -> Deleted:
        return self._call(Deleted, "DELETE", f"/webhooks/{_id(webhook_id)}", options=options)

    def test(self, webhook_id: str, *, options: RequestOptions | None = None) -> WebhookTestResult:
        """Send a webhook.test event now and return the attempt's outcome."""
        return self._call(WebhookTestResult, "POST", f"/webhooks/{_id(webhook_id)}/test", options=options)

    def rotate_secret(
        self,
        webhook_id: str,
        *,
        overlap: RotationWindow = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> WebhookEndpointWithSecret:
        """New signing secret; during the overlap (default 24h) deliveries carry both signatures."""
        path = f"/webhooks/{_id(webhook_id)}/rotate-secret"
        return self._call(WebhookEndpointWithSecret, "POST", path, body=_fields(overlap=overlap), options=options)

    def recover(
        self, webhook_id: str, *, since: datetime.datetime | str, options: RequestOptions | None = None
    ) -> WebhookRecoverResult:
        """Re-send every failed delivery since ``since``."""
        path = f"/webhooks/{_id(webhook_id)}/recover"
        return self._call(WebhookRecoverResult, "POST", path, body={"since": _iso(since)}, options=options)


class Keys(_Resource):
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, options: RequestOptions | None = None
    ) -> Page[ApiKey]:
        """Your keys, masked. Scope read:usage."""
        return self._list(ApiKey, "/keys", dict(limit=limit, cursor=cursor), options)

    def get(self, key_id: str, *, options: RequestOptions | None = None) -> ApiKey:
        """One key, masked as in the list (GET /keys/{id}). Scope read:usage."""
        return self._call(ApiKey, "GET", f"/keys/{_id(key_id)}", options=options)

    def create(
        self,
        *,
        name: str,
        mode: Literal["live", "test"],
        scopes: Sequence[Scope],
        expires_at: datetime.datetime | str | None = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> ApiKeyWithSecret:
        """The result's ``secret`` is shown only once. Scope manage:config."""
        body = _fields(
            name=name,
            mode=mode,
            scopes=list(scopes),
            expires_at=_iso(expires_at) if expires_at is not NOT_GIVEN else NOT_GIVEN,
        )
        return self._call(ApiKeyWithSecret, "POST", "/keys", body=body, options=options)

    def revoke(self, key_id: str, *, options: RequestOptions | None = None) -> ApiKey:
        return self._call(ApiKey, "POST", f"/keys/{_id(key_id)}/revoke", options=options)

    def rotate(
        self,
        key_id: str,
        *,
        grace_period: RotationWindow,
        options: RequestOptions | None = None,
    ) -> RotatedKey:
        """A replacement key; the old one keeps working for the grace period."""
        return self._call(
            RotatedKey, "POST", f"/keys/{_id(key_id)}/rotate", body=_fields(grace_period=grace_period), options=options
        )


class Tools(_Resource):
    """Custom tools the AI calls during a conversation. Scope manage:tools."""

    def list(
        self, *, limit: int | None = None, cursor: str | None = None, options: RequestOptions | None = None
    ) -> Page[Tool]:
        return self._list(Tool, "/tools", dict(limit=limit, cursor=cursor), options)

    def get(self, tool_id: str, *, options: RequestOptions | None = None) -> Tool:
        return self._call(Tool, "GET", f"/tools/{_id(tool_id)}", options=options)

    def create(
        self,
        *,
        name: str,
        description: str,
        input_schema: dict[str, Any],
        endpoint_url: str,
        auth: dict[str, Any] = NOT_GIVEN,
        timeout_seconds: int = NOT_GIVEN,
        enabled: bool = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Tool:
        body = _fields(
            name=name,
            description=description,
            input_schema=input_schema,
            endpoint_url=endpoint_url,
            auth=auth,
            timeout_seconds=timeout_seconds,
            enabled=enabled,
        )
        return self._call(Tool, "POST", "/tools", body=body, options=options)

    def update(
        self,
        tool_id: str,
        *,
        name: str = NOT_GIVEN,
        description: str = NOT_GIVEN,
        input_schema: dict[str, Any] = NOT_GIVEN,
        endpoint_url: str = NOT_GIVEN,
        auth: dict[str, Any] = NOT_GIVEN,
        timeout_seconds: int = NOT_GIVEN,
        enabled: bool = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Tool:
        body = _fields(
            name=name,
            description=description,
            input_schema=input_schema,
            endpoint_url=endpoint_url,
            auth=auth,
            timeout_seconds=timeout_seconds,
            enabled=enabled,
        )
        return self._call(Tool, "PATCH", f"/tools/{_id(tool_id)}", body=body, options=options)

    def delete(self, tool_id: str, *, options: RequestOptions | None = None) -> Deleted:
        return self._call(Deleted, "DELETE", f"/tools/{_id(tool_id)}", options=options)


class Agents(_Resource):
    """Specialised AI agents. Scope manage:agents."""

    def list(
        self, *, limit: int | None = None, cursor: str | None = None, options: RequestOptions | None = None
    ) -> Page[Agent]:
        return self._list(Agent, "/agents", dict(limit=limit, cursor=cursor), options)

    def get(self, agent_id: str, *, options: RequestOptions | None = None) -> Agent:
        return self._call(Agent, "GET", f"/agents/{_id(agent_id)}", options=options)

    def create(
        self,
        *,
        agent_key: str,
        display_name: str,
        instructions: str,
        match_hints: Sequence[str] = NOT_GIVEN,
        tools: dict[str, Any] = NOT_GIVEN,
        knowledge_base_ids: Sequence[str] = NOT_GIVEN,
        is_default: bool = NOT_GIVEN,
        enabled: bool = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Agent:
        """``tools`` takes use_custom_tool_ids, allow_payments, allow_booking, allow_transfer and
        allow_knowledge_search (snake_case or camelCase keys)."""
        body = _fields(
            agent_key=agent_key,
            display_name=display_name,
            instructions=instructions,
            match_hints=match_hints,
            tools=tools,
            knowledge_base_ids=knowledge_base_ids,
            is_default=is_default,
            enabled=enabled,
        )
        return self._call(Agent, "POST", "/agents", body=body, options=options)

    def update(
        self,
        agent_id: str,
        *,
        agent_key: str = NOT_GIVEN,
        display_name: str = NOT_GIVEN,
        instructions: str = NOT_GIVEN,
        match_hints: Sequence[str] = NOT_GIVEN,
        tools: dict[str, Any] = NOT_GIVEN,
        knowledge_base_ids: Sequence[str] = NOT_GIVEN,
        is_default: bool = NOT_GIVEN,
        enabled: bool = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> Agent:
        body = _fields(
            agent_key=agent_key,
            display_name=display_name,
            instructions=instructions,
            match_hints=match_hints,
            tools=tools,
            knowledge_base_ids=knowledge_base_ids,
            is_default=is_default,
            enabled=enabled,
        )
        return self._call(Agent, "PATCH", f"/agents/{_id(agent_id)}", body=body, options=options)

    def delete(self, agent_id: str, *, options: RequestOptions | None = None) -> Deleted:
        return self._call(Deleted, "DELETE", f"/agents/{_id(agent_id)}", options=options)


class DataFields(_Resource):
    """Data-collection fields, optionally tied to one agent. Scope manage:agents."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        agent_id: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[DataField]:
        """All fields, or only those tied to ``agent_id``."""
        return self._list(DataField, "/data-fields", dict(limit=limit, cursor=cursor, agent_id=agent_id), options)

    def get(self, field_id: str, *, options: RequestOptions | None = None) -> DataField:
        return self._call(DataField, "GET", f"/data-fields/{_id(field_id)}", options=options)

    def create(
        self,
        *,
        key: str,
        label: str,
        type: DataFieldType = NOT_GIVEN,
        choices: Sequence[str] = NOT_GIVEN,
        required: bool = NOT_GIVEN,
        agent_id: str | None = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> DataField:
        body = _fields(key=key, label=label, type=type, choices=choices, required=required, agent_id=agent_id)
        return self._call(DataField, "POST", "/data-fields", body=body, options=options)

    def update(
        self,
        field_id: str,
        *,
        key: str = NOT_GIVEN,
        label: str = NOT_GIVEN,
        type: DataFieldType = NOT_GIVEN,
        choices: Sequence[str] = NOT_GIVEN,
        required: bool = NOT_GIVEN,
        agent_id: str | None = NOT_GIVEN,
        options: RequestOptions | None = None,
    ) -> DataField:
        body = _fields(key=key, label=label, type=type, choices=choices, required=required, agent_id=agent_id)
        return self._call(DataField, "PATCH", f"/data-fields/{_id(field_id)}", body=body, options=options)

    def delete(self, field_id: str, *, options: RequestOptions | None = None) -> Deleted:
        return self._call(Deleted, "DELETE", f"/data-fields/{_id(field_id)}", options=options)


class UsageResource(_Resource):
    def get(
        self,
        *,
        from_: datetime.date | str | None = None,
        to: datetime.date | str | None = None,
        options: RequestOptions | None = None,
    ) -> Usage:
        """Usage and charges by key, metric and day (dates inclusive, UTC); default: month to date."""
        return self._call(Usage, "GET", "/usage", query={"from": _iso(from_), "to": _iso(to)}, options=options)


# --- Event log ---------------------------------------------------------------------------------------


class Events(_Resource):
    """The event log of the last 30 days, of the key's mode. Scope manage:webhooks."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        type: EventType | None = None,
        from_: datetime.datetime | str | None = None,
        to: datetime.datetime | str | None = None,
        after: str | None = None,
        wait: int | None = None,
        options: RequestOptions | None = None,
    ) -> Page[WebhookEvent]:
        """Newest first (iterate for every page), or with ``after="evt_…"`` the events after that one, oldest
        first, one page (continue with ``after=`` the last id); ``wait`` (0–25 s) long-polls for the next one."""
        params = dict(limit=limit, cursor=cursor, type=type, from_=_iso(from_), to=_iso(to), after=after, wait=wait)
        return self._list(WebhookEvent, "/events", params, options)

    def get(self, event_id: str, *, options: RequestOptions | None = None) -> EventWithDeliveries:
        """One event with each endpoint's delivery status."""
        return self._call(EventWithDeliveries, "GET", f"/events/{_id(event_id)}", options=options)


# --- issue 18: message history and knowledge bases ------------------------------------------------


class Messages(_Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        status: MessageStatus | None = None,
        phone_number: str | None = None,
        date_range: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Message]:
        """Texts both ways, newest first, with their delivery status. ``phone_number`` is the other
        party's; ``date_range``: today, 7d, 30d, 90d or "FROM,TO". Scope read:contacts."""
        return self._list(
            Message,
            "/messages",
            dict(
                limit=limit,
                cursor=cursor,
                direction=direction,
                status=status,
                phone_number=phone_number,
                date_range=date_range,
            ),
            options,
        )

    def get(self, message_id: str, *, options: RequestOptions | None = None) -> Message:
        """One text with its delivery status and the carrier's error code. Scope read:contacts."""
        return self._call(Message, "GET", f"/messages/{_id(message_id)}", options=options)


class KnowledgeBases(_Resource):
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, options: RequestOptions | None = None
    ) -> Page[KnowledgeBase]:
        """The business's knowledge bases (shared by both modes), read-only. Scope manage:agents."""
        return self._list(KnowledgeBase, "/knowledge-bases", dict(limit=limit, cursor=cursor), options)

    def get(self, knowledge_base_id: str, *, options: RequestOptions | None = None) -> KnowledgeBase:
        return self._call(KnowledgeBase, "GET", f"/knowledge-bases/{_id(knowledge_base_id)}", options=options)
