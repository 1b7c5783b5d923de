"""The JSON shapes of phone records, shared by API responses and webhook event payloads.

One function per record so `GET /calls/{id}` and the `call.completed` event can never disagree.
Field names are camelCase, as on the wire.
"""

from __future__ import annotations

from typing import Any

from core.modes import Mode
from core.timefmt import iso

from .models import (
    AiConfig,
    Appointment,
    Call,
    Contact,
    KnowledgeBase,
    Message,
    SmsOptOut,
    TranscriptTurn,
    Voicemail,
)


def contact_ref(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {"id": contact.public_id, "name": contact.name or None, "phoneNumber": contact.phone_number}


def contact_json(contact: Contact) -> dict[str, Any]:
    opted_out = getattr(contact, "sms_opted_out", None)
    if opted_out is None:  # lists annotate it; a single contact asks
        opted_out = SmsOptOut.objects.filter(
            organization_id=contact.organization_id, mode=contact.mode, phone_number=contact.phone_number
        ).exists()
    return {
        "id": contact.public_id,
        "phoneNumber": contact.phone_number,
        "name": contact.name or None,
        "email": contact.email or None,
        "company": contact.company or None,
        "smsOptedOut": bool(opted_out),
        "createdAt": iso(contact.created_at),
        "updatedAt": iso(contact.updated_at),
    }


def call_json(call: Call) -> dict[str, Any]:
    """A call as listed. `has*` flags tell a client which sub-resources it may fetch."""
    return {
        "id": call.public_id,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status,
        "startedAt": iso(call.started_at),
        "endedAt": iso(call.ended_at),
        "durationSeconds": call.duration_seconds,
        "summary": call.summary or None,
        "outcome": call.outcome or None,
        "contact": contact_ref(call.contact),
        "agent": {"id": call.agent_public_id or None, "name": call.agent_name} if call.agent_name else None,
        "hasTranscript": _has(call, "has_transcript", lambda: call.turns.exists()),
        "hasRecording": _has(call, "has_recording", lambda: hasattr(call, "recording")),
    }


def call_detail_json(call: Call) -> dict[str, Any]:
    voicemail = getattr(call, "voicemail", None)
    return {
        **call_json(call),
        "voicemail": voicemail_json(voicemail) if voicemail else None,
        "appointments": [appointment_json(a) for a in call.appointments.select_related("contact").all()],
    }


def _has(call: Call, annotation: str, fallback: Any) -> bool:
    # Lists annotate these flags in the query; a single call (or an event payload) asks directly.
    value = getattr(call, annotation, None)
    return bool(fallback() if value is None else value)


def turn_json(turn: TranscriptTurn) -> dict[str, Any]:
    return {"speaker": turn.speaker, "text": turn.text, "offsetMs": turn.offset_ms}


def transcript_json(call: Call, turns: list[TranscriptTurn]) -> dict[str, Any]:
    return {"callId": call.public_id, "turns": [turn_json(t) for t in turns]}


def voicemail_json(voicemail: Voicemail) -> dict[str, Any]:
    return {
        "id": voicemail.public_id,
        "callId": voicemail.call.public_id,
        "from": voicemail.from_number,
        "transcription": voicemail.transcription or None,
        "durationSeconds": voicemail.duration_seconds,
        "createdAt": iso(voicemail.created_at),
    }


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.public_id,
        "status": appointment.status,
        "service": appointment.service,
        "startsAt": iso(appointment.starts_at),
        "durationMinutes": appointment.duration_minutes,
        "contact": contact_ref(appointment.contact),
        "callId": appointment.call.public_id if appointment.call is not None else None,
        "notes": appointment.notes or None,
        "createdAt": iso(appointment.created_at),
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "direction": message.direction,
        "from": message.from_number,
        "to": message.to_number,
        "body": message.body,
        "encoding": message.encoding,
        "segments": message.segments,
        "status": message.status,
        "mode": message.mode,
        "test": message.mode == Mode.TEST,
        "error": {"code": message.error_code, "message": message.error_message} if message.error_code else None,
        "contactId": message.contact.public_id if message.contact is not None else None,
        "createdAt": iso(message.created_at),
        "sentAt": iso(message.sent_at),
        "deliveredAt": iso(message.delivered_at),
        "statusUpdatedAt": iso(message.status_updated_at or message.sent_at or message.created_at),
    }


def knowledge_base_json(knowledge_base: KnowledgeBase) -> dict[str, Any]:
    """`document_count` and `last_changed` are annotated by the API's queryset."""
    return {
        "id": knowledge_base.public_id,
        "name": knowledge_base.name,
        "description": knowledge_base.description or None,
        "documentCount": knowledge_base.document_count,  # type: ignore[attr-defined]
        "createdAt": iso(knowledge_base.created_at),
        "updatedAt": iso(knowledge_base.last_changed),  # type: ignore[attr-defined]
    }


def ai_config_json(config: AiConfig) -> dict[str, Any]:
    """The curated, safe subset. The payments, spam and PII settings are deliberately absent."""
    return {
        "language": config.language,
        "timezone": config.zone_name,
        "callHandlingMode": config.call_handling_mode,
        "greeting": config.greeting,
        "businessHours": config.business_hours,
        "voicemailEnabled": config.voicemail_enabled,
        "smsHelpReply": config.sms_help_reply or None,
        "smsQuietHours": {
            "start": config.sms_quiet_hours_start.strftime("%H:%M"),
            "end": config.sms_quiet_hours_end.strftime("%H:%M"),
        },
        "updatedAt": iso(config.updated_at),
    }
