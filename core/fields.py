"""Model fields of our own."""

from __future__ import annotations

import zlib
from typing import Any

from django.db import models

# Raw deflate primed with the JSON our payloads are made of: on a 1-2 KB body it saves another
# fifth over plain zlib, since the names and envelope no longer have to appear once before they can
# be referred to. Stored values start with their format byte; a new dictionary needs a new format
# (old values keep decoding with theirs).
_FORMAT_V1 = b"\x01"
_DICTIONARY_V1 = (
    b'"phoneNumber":"+"email":"company":"notes":"startsAt":"endsAt":"service":"segments":"body":'
    b'"transcription":"voicemail":"appointments":"callId":"contactId":"agentId":"language":"label":'
    b'"deliveredAt":"sentAt":"statusUpdatedAt":"error":null,"errorCode":null,"updatedAt":"name":"'
    b'"sms.received","sms.sent","sms.status_updated","voicemail.created","transcript.ready",'
    b'"contact.created","contact.updated","contact.deleted","appointment.booked","call.started",'
    b'"direction":"inbound","direction":"outbound","from":"+","to":"+","status":"completed",'
    b'"startedAt":"","endedAt":"","durationSeconds":,"summary":"","outcome":"","contact":{"id":"con_",'
    b'"agent":{"id":"agt_","name":""},"hasTranscript":true,"hasRecording":false,"hasRecording":true},'
    b'{"id":"evt_","type":"call.completed","createdAt":"2026-","businessId":"biz_","data":{"id":"'
    b'"livemode":false}"livemode":true}'
)


class CompressedTextField(models.BinaryField):
    """Text kept compressed in a binary column; Python sees a ``str``.

    For large text written once and read whole (a webhook event's JSON body: 1-2 KB, about half of
    that compressed). PostgreSQL compresses only values in rows over about 2 KB, so a body this size
    would otherwise be stored as is. Not for filtering: the column holds compressed bytes."""

    _pyi_private_set_type: str
    _pyi_private_get_type: str  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def get_default(self) -> Any:
        return "" if not self.has_default() else super().get_default()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else decompress(value)

    def to_python(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return decompress(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, str):
            value = compress(value)
        return super().get_db_prep_value(value, connection, prepared)

    def value_to_string(self, obj: models.Model) -> str:
        return str(self.value_from_object(obj))


def compress(text: str) -> bytes:
    if not text:
        return b""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)
    return _FORMAT_V1 + compressor.compress(text.encode("utf-8")) + compressor.flush()


def decompress(value: bytes | memoryview) -> str:
    data = bytes(value)
    if not data:
        return ""
    if data[:1] != _FORMAT_V1:
        raise ValueError(f"unknown compressed text format {data[:1]!r}")
    decompressor = zlib.decompressobj(-15, _DICTIONARY_V1)
    return (decompressor.decompress(data[1:]) + decompressor.flush()).decode("utf-8")
