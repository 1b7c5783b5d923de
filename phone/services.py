"""Every change to phone data: contacts, calls and what follows them, text messages, AI config.

The public API, the carrier webhook, the simulator and admin all call these functions, so the
same validation, compliance check, events, metering and audit apply whichever door is used.
Events go through `webhooks.events.emit` inside the transaction that made the change.
"""

from __future__ import annotations

import datetime
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record
from billing.attribution import SYSTEM, Attribution, by_key
from billing.metering import record_usage, usage_confirm, usage_release, usage_reserve
from billing.models import Metric
from core.errors import UNSET, ServiceError, Unset, given
from core.modes import Mode
from webhooks.events import emit

from . import ai_config_rules as rules
from .backends import OutboundSms, SmsBackendError, get_backend
from .models import (
    AiConfig,
    Appointment,
    BusinessNumber,
    Call,
    Contact,
    Direction,
    KnowledgeBase,
    Message,
    Recording,
    SmsOptOut,
    TranscriptTurn,
    Voicemail,
)
from .payloads import (
    ai_config_json,
    appointment_json,
    call_json,
    contact_json,
    message_json,
    transcript_json,
    voicemail_json,
)
from .phone_numbers import InvalidPhoneNumber, region_for_timezone, to_e164
from .sms_encoding import sms_encoding
from .sms_keywords import classify_inbound, in_quiet_hours

if TYPE_CHECKING:
    from accounts.services import Actor

logger = logging.getLogger(__name__)

LIVE, TEST = Mode.LIVE.value, Mode.TEST.value
SMS_BODY_MAX_LENGTH = 1600


# --- Numbers -------------------------------------------------------------------------------------


def organization_region(organization: Organization) -> str:
    """The region national-format numbers of this business are read in."""
    return organization.country or region_for_timezone(organization.timezone)


def phone_number_clean(raw: Any, *, organization: Organization, field: str) -> str:
    """E.164 for user input, or a ValidationError naming `field`.

    A number of possible length is accepted even where `phonenumbers` knows no assigned range:
    the public docs' own examples use the fictional 555-01xx block (+15555550123), the
    library's range metadata lags new allocations, and for texts the carrier is the final judge
    (its refusal is reported back on the message). Too short, too long, letters or an unknown
    country code are still refused here.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({field: ["Give a phone number, e.g. +14155552671."]})
    try:
        return to_e164(raw, default_region=organization_region(organization), require_valid=False)
    except InvalidPhoneNumber as exc:
        raise ValidationError({field: [str(exc)]}) from exc


# --- Contacts ------------------------------------------------------------------------------------

# Wire name → keyword of contact_create/contact_update (the API's translation of a body).
CONTACT_FIELDS = {"phoneNumber": "phone_number", "name": "name", "email": "email", "company": "company"}


def _contact_values(given_values: dict[str, Any], *, organization: Organization, partial: bool) -> dict[str, str]:
    """Validate the given keyword values; returns model field values. All errors at once, keyed by wire name."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    if "phone_number" in given_values or not partial:
        try:
            values["phone_number"] = phone_number_clean(
                given_values.get("phone_number"), organization=organization, field="phoneNumber"
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for wire, field, limit in (("name", "name", 200), ("company", "company", 200), ("email", "email", 254)):
        if field not in given_values:
            continue
        value = given_values[field]
        if value is None:
            values[field] = ""
        elif not isinstance(value, str):
            errors[wire] = ["Must be a string or null."]
        elif len(value.strip()) > limit:
            errors[wire] = [f"At most {limit} characters."]
        else:
            values[field] = value.strip()
    if values.get("email"):
        try:
            validate_email(values["email"])
        except ValidationError:
            errors["email"] = ["Must be a valid e-mail address."]
        else:
            values["email"] = _normalise_email(values["email"])
    if errors:
        raise ValidationError(errors)
    return values


def _normalise_email(email: str) -> str:
    # The domain is case-insensitive; the local part is left as typed (it may be case-sensitive).
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _duplicate_number_error(mode: str) -> ValidationError:
    where = "in test mode " if mode == TEST else ""
    return ValidationError({"phoneNumber": [f"Another contact of this business {where}already has this phone number."]})


def contact_create(
    *,
    organization: Organization,
    mode: str,
    phone_number: str | Unset = UNSET,
    name: str | Unset | None = UNSET,
    email: str | Unset | None = UNSET,
    company: str | Unset | None = UNSET,
    caused_by: Attribution = SYSTEM,
) -> Contact:
    """Create a contact in `mode`: `phone_number` required (read in the business's region), unique per
    business and mode; None clears a text field.

    `caused_by` (the API key of the request) is whose usage the `contact.created` deliveries are."""
    values = _contact_values(
        given(phone_number=phone_number, name=name, email=email, company=company),
        organization=organization,
        partial=False,
    )
    if Contact.objects.filter(organization=organization, mode=mode, phone_number=values["phone_number"]).exists():
        raise _duplicate_number_error(mode)
    try:
        with transaction.atomic():
            now = timezone.now()
            contact = Contact.objects.create(
                organization=organization, mode=mode, created_at=now, updated_at=now, **values
            )
            emit(
                organization=organization,
                type="contact.created",
                data=contact_json(contact),
                mode=mode,
                caused_by=caused_by,
            )
    except IntegrityError as exc:  # a concurrent create took the number first
        raise _duplicate_number_error(mode) from exc
    return contact


def contact_update(
    *,
    contact: Contact,
    phone_number: str | Unset = UNSET,
    name: str | Unset | None = UNSET,
    email: str | Unset | None = UNSET,
    company: str | Unset | None = UNSET,
    caused_by: Attribution = SYSTEM,
) -> Contact:
    """Change the fields given (None clears name, email or company); `contact.updated` fires (and
    updatedAt moves) only when something changed, caused by `caused_by`. The event is in the contact's mode."""
    organization, mode = contact.organization, contact.mode
    values = _contact_values(
        given(phone_number=phone_number, name=name, email=email, company=company),
        organization=organization,
        partial=True,
    )
    number = values.get("phone_number")
    if (
        number
        and number != contact.phone_number
        and Contact.objects.filter(organization=organization, mode=mode, phone_number=number)
        .exclude(pk=contact.pk)
        .exists()
    ):
        raise _duplicate_number_error(mode)
    try:
        with transaction.atomic():
            contact = Contact.objects.select_for_update().get(pk=contact.pk)
            changed = [field for field, value in values.items() if getattr(contact, field) != value]
            if not changed:
                return contact
            for field in changed:
                setattr(contact, field, values[field])
            contact.updated_at = timezone.now()
            contact.save(update_fields=[*changed, "updated_at"])
            emit(
                organization=organization,
                type="contact.updated",
                data={**contact_json(contact), "changedFields": sorted(_wire_name(f) for f in changed)},
                mode=mode,
                caused_by=caused_by,
            )
    except IntegrityError as exc:
        raise _duplicate_number_error(mode) from exc
    return contact


class _ErasedContact:
    """What the audit trail keeps of an erased contact: its id, never its name or number."""

    _meta = Contact._meta
    pk = None

    def __init__(self, public_id: str) -> None:
        self.public_id = public_id

    def __str__(self) -> str:
        return self.public_id


def contact_delete(*, contact: Contact, actor: Actor, caused_by: Attribution = SYSTEM) -> None:
    """Erase a contact (a data-subject request): the row and its personal data go.

    Calls and texts stay (they are the business's records) without the link, so nothing shows the
    name any more; the numbers on them are the call's and text's own. The contact's appointments go
    with it (their notes are about the person). An SMS opt-out is kept: it is a compliance record,
    and erasing it would let the business text someone who said STOP. Emits `contact.deleted` with
    the id only, and audits the erasure under the id only.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update().select_related("organization").get(pk=contact.pk)
        organization, public_id = contact.organization, contact.public_id
        Appointment.objects.filter(contact=contact).delete()
        calls = Call.objects.filter(contact=contact).update(contact=None)
        messages = Message.objects.filter(contact=contact).update(contact=None)
        contact.delete()
        audit_record(
            organization=organization,
            actor=actor,
            action="contact.deleted",
            target=_ErasedContact(public_id),
            metadata={"mode": contact.mode, "callsUnlinked": calls, "messagesUnlinked": messages},
        )
        emit(
            organization=organization,
            type="contact.deleted",
            data={"id": public_id, "deleted": True},
            mode=contact.mode,
            caused_by=caused_by,
        )


def _wire_name(field: str) -> str:
    return {"phone_number": "phoneNumber"}.get(field, field)


def contact_for_number(*, organization: Organization, phone_number: str, mode: str, name: str = "") -> Contact:
    """The business's contact in `mode` for an E.164 number, created (with `contact.created`) on first contact."""
    contact = Contact.objects.filter(organization=organization, mode=mode, phone_number=phone_number).first()
    if contact is not None:
        return contact
    try:
        with transaction.atomic():
            now = timezone.now()
            contact = Contact.objects.create(
                organization=organization,
                mode=mode,
                phone_number=phone_number,
                name=name,
                created_at=now,
                updated_at=now,
            )
            emit(organization=organization, type="contact.created", data=contact_json(contact), mode=mode)
    except IntegrityError:
        contact = Contact.objects.get(organization=organization, mode=mode, phone_number=phone_number)
    return contact


# --- AI config -----------------------------------------------------------------------------------

# Wire names the API may change → keywords of ai_config_update; and the sensitive ones it must refuse by name.
AI_CONFIG_FIELDS = {
    "language": "language",
    "timezone": "timezone",
    "callHandlingMode": "call_handling_mode",
    "greeting": "greeting",
    "businessHours": "business_hours",
    "voicemailEnabled": "voicemail_enabled",
    "smsHelpReply": "sms_help_reply",
    "smsQuietHours": "sms_quiet_hours",
}
AI_CONFIG_WRITABLE = tuple(AI_CONFIG_FIELDS)
AI_CONFIG_SENSITIVE = (
    "paymentsEnabled",
    "paymentLinkMaxAmount",
    "spamFilterLevel",
    "spamBlockedNumbers",
    "piiRedactionEnabled",
    "piiRetentionDays",
)
# Any other field in these families is sensitive too, whatever a client chooses to call it.
_SENSITIVE_PREFIXES = ("payment", "spam", "pii")


# The test config's own columns; every other one is copied from the live config when the copy is made,
# so a setting added to AiConfig later is copied too.
_AI_CONFIG_OWN = frozenset({"id", "organization", "mode", "test_timezone", "updated_at"})


def ai_config_for(*, organization: Organization, mode: str = LIVE) -> AiConfig:
    """The AI config of `mode`. Live calls and live texts always read the live one.

    The test config is a copy of the live one (time zone included) made the first time test mode
    needs it; from then on the two change independently. Concurrent first reads make one copy:
    get_or_create under the unique (organization, mode) constraint re-reads the winner's row.
    """
    if mode not in (LIVE, TEST):
        raise ValueError(f"mode must be live or test, not {mode!r}")
    configs = AiConfig.objects.select_related("organization")
    if mode == LIVE:
        config, _ = configs.get_or_create(organization=organization, mode=LIVE)
        return config
    test = configs.filter(organization=organization, mode=TEST).first()
    if test is not None:
        return test
    live = ai_config_for(organization=organization, mode=LIVE)
    defaults = {
        field.attname: getattr(live, field.attname)
        for field in AiConfig._meta.concrete_fields
        if field.name not in _AI_CONFIG_OWN
    }
    defaults["test_timezone"] = live.organization.timezone
    config, _ = configs.get_or_create(organization=organization, mode=TEST, defaults=defaults)
    return config


def mode_timezone(*, organization: Organization, mode: str) -> str:
    """The time zone a key of `mode` sees (date filters): the business's, or the test config's own."""
    if mode == TEST:
        zone = (
            AiConfig.objects.filter(organization=organization, mode=TEST)
            .values_list("test_timezone", flat=True)
            .first()
        )
        if zone:
            return zone
    return organization.timezone


def _is_sensitive(name: str) -> bool:
    return name in AI_CONFIG_SENSITIVE or name.lower().startswith(_SENSITIVE_PREFIXES)


def ai_config_refusal(name: str) -> str:
    """Why a wire field other than the writable ones is refused (sensitive families by name)."""
    if _is_sensitive(name):
        return (
            "This setting is sensitive (payments, spam or PII) and cannot be changed through "
            "the API. Change it in the AI Phone 360 app."
        )
    return f"Unknown field. Writable fields: {', '.join(AI_CONFIG_WRITABLE)}."


_AI_CONFIG_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "language": rules.clean_language,
    "timezone": rules.clean_timezone,
    "call_handling_mode": lambda v: rules.clean_choice(v, tuple(AiConfig.CallHandlingMode.values)),
    "greeting": lambda v: rules.clean_text(v, max_length=rules.GREETING_MAX_LENGTH, allow_empty=False),
    "business_hours": rules.clean_business_hours,
    "voicemail_enabled": rules.clean_bool,
    "sms_help_reply": lambda v: rules.clean_text(v, max_length=rules.HELP_REPLY_MAX_LENGTH, allow_empty=True),
    "sms_quiet_hours": rules.clean_quiet_hours,
}
_AI_CONFIG_WIRE = {keyword: wire for wire, keyword in AI_CONFIG_FIELDS.items()}


def ai_config_check(**fields: Any) -> dict[str, Any]:
    """The given `ai_config_update` keywords cleaned, or a ValidationError naming every bad wire field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field, clean in _AI_CONFIG_CLEANERS.items():
        if field not in fields:
            continue
        try:
            values[field] = clean(fields[field])
        except ValueError as exc:
            errors[_AI_CONFIG_WIRE[field]] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return values


def ai_config_update(
    *,
    organization: Organization,
    actor: Actor,
    mode: str = LIVE,
    language: str | Unset = UNSET,
    timezone: str | Unset = UNSET,
    call_handling_mode: str | Unset = UNSET,
    greeting: str | Unset = UNSET,
    business_hours: dict[str, list[dict[str, str]]] | Unset = UNSET,
    voicemail_enabled: bool | Unset = UNSET,
    sms_help_reply: str | Unset = UNSET,
    sms_quiet_hours: dict[str, str] | Unset = UNSET,
) -> AiConfig:
    """Validate every field given first (all errors at once), then write them together and audit the change.

    Changes only `mode`'s config: a test key's change (time zone included) never reaches live calls or texts.
    """
    fields = given(
        language=language,
        timezone=timezone,
        call_handling_mode=call_handling_mode,
        greeting=greeting,
        business_hours=business_hours,
        voicemail_enabled=voicemail_enabled,
        sms_help_reply=sms_help_reply,
        sms_quiet_hours=sms_quiet_hours,
    )
    if not fields:
        raise ValidationError({"body": [f"Give at least one of: {', '.join(AI_CONFIG_WRITABLE)}."]})
    values = ai_config_check(**fields)

    with transaction.atomic():
        config = ai_config_for(organization=organization, mode=mode)
        config = AiConfig.objects.select_for_update().select_related("organization").get(pk=config.pk)
        before = ai_config_json(config)
        if "timezone" in values and mode == TEST:
            config.test_timezone = values.pop("timezone")
        elif "timezone" in values:
            # The business's one time zone; quiet hours and date filters read it from the organisation.
            organization = config.organization
            organization.timezone = values.pop("timezone")
            organization.save(update_fields=["timezone"])
        if "sms_quiet_hours" in values:
            config.sms_quiet_hours_start, config.sms_quiet_hours_end = values.pop("sms_quiet_hours")
        for field, value in values.items():
            setattr(config, field, value)
        config.save()
        after = ai_config_json(config)
        changed = sorted(
            wire for wire in map(_AI_CONFIG_WIRE.__getitem__, fields) if before.get(wire) != after.get(wire)
        )
        if changed:
            audit_record(
                organization=organization,
                actor=actor,
                action="ai_config.updated",
                target=config,
                metadata={"fields": changed, "mode": mode},
            )
    return config


# --- SMS compliance ------------------------------------------------------------------------------


class SmsPurpose(enum.Enum):
    STANDARD = "standard"
    # The carrier-mandated answer to STOP/START/HELP: it must reach the person who just texted,
    # even though they opted out a second ago or it is the middle of the night.
    KEYWORD_REPLY = "keyword_reply"


class ComplianceRefused(ServiceError):
    """422 with one of the codes below; the message tells the caller what to do about it."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code, status=422)


OPTED_OUT = "RECIPIENT_OPTED_OUT"
QUIET_HOURS = "QUIET_HOURS"
NO_SMS_NUMBER = "NO_SMS_NUMBER"


def sms_compliance_check(
    *,
    organization: Organization,
    to_number: str,
    mode: str = LIVE,
    purpose: SmsPurpose = SmsPurpose.STANDARD,
    now: datetime.datetime | None = None,
) -> BusinessNumber:
    """The one chokepoint every outbound text passes (API, app, simulator, keyword replies).

    Returns the number to send from, or raises ComplianceRefused:
    - NO_SMS_NUMBER: the business has no SMS-capable number;
    - RECIPIENT_OPTED_OUT: the recipient texted STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT)
      and has not texted START, YES or UNSTOP since;
    - QUIET_HOURS: it is within the quiet-hours window (default 21:00-08:00), read in the business's
      time zone as the public contract defines it.
    Opt-outs and quiet hours are `mode`'s own: a live text reads only the live config and live opt-outs.
    """
    sender = (
        BusinessNumber.objects.filter(organization=organization, sms_capable=True).order_by("created_at", "id").first()
    )
    if sender is None:
        raise ComplianceRefused(
            "This business has no SMS-capable phone number to send from. Add one in the AI Phone 360 app.",
            code=NO_SMS_NUMBER,
        )
    if purpose is SmsPurpose.KEYWORD_REPLY:
        return sender
    opt_out = SmsOptOut.objects.filter(organization=organization, mode=mode, phone_number=to_number).first()
    if opt_out is not None:
        raise ComplianceRefused(
            f"The recipient {to_number} opted out of texts from this business (replied {opt_out.keyword.upper()} "
            f"on {opt_out.opted_out_at:%Y-%m-%d}). Nothing was sent; they must text START to opt back in.",
            code=OPTED_OUT,
        )
    config = ai_config_for(organization=organization, mode=mode)
    start, end = config.quiet_hours
    zone = config.zone_name
    local = (now or timezone.now()).astimezone(ZoneInfo(zone))
    if in_quiet_hours(local.time(), start=start, end=end):
        raise ComplianceRefused(
            f"It is {local:%H:%M} in {zone}, inside this business's quiet hours "
            f"({start:%H:%M}-{end:%H:%M}), when no texts are sent. Nothing was sent; retry after {end:%H:%M}.",
            code=QUIET_HOURS,
        )
    return sender


# --- Sending SMS ---------------------------------------------------------------------------------


class SmsNotSent(ServiceError):
    """The carrier did not take the message; it is stored as failed with the carrier's reason."""

    def __init__(self, message: Message, error: SmsBackendError) -> None:
        if error.permanent:
            text, code, status = (
                f"The carrier refused message {message.public_id}: {error.message}",
                "SMS_REJECTED",
                422,
            )
        else:
            text, code, status = (
                f"Message {message.public_id} was not sent: {error.message} Nothing was charged; retry later.",
                "SMS_CARRIER_UNAVAILABLE",
                502,
            )
        super().__init__(text, code=code, status=status)
        self.sms = message


# Wire name → keyword of sms_send.
SMS_SEND_FIELDS = {"to": "to_number", "body": "body"}


def _clean_send(to_number: Any, body: Any, *, organization: Organization) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    try:
        to_number = phone_number_clean(to_number, organization=organization, field="to")
    except ValidationError as exc:
        to_number = ""
        errors.update(exc.message_dict)
    if not isinstance(body, str) or not body.strip():
        errors["body"] = ["Give the text to send (1 to 1,600 characters)."]
    elif len(body) > SMS_BODY_MAX_LENGTH:
        errors["body"] = [f"At most 1,600 characters (this one has {len(body):,})."]
    if errors:
        raise ValidationError(errors)
    return to_number, body


def sms_send(
    *,
    organization: Organization,
    to_number: str | None = None,
    body: str | None = None,
    mode: str,
    api_key_id: int | None = None,
    purpose: SmsPurpose = SmsPurpose.STANDARD,
    now: datetime.datetime | None = None,
) -> Message:
    """Validate, check compliance, then send `{to, body}`.

    Test mode stops after the checks: a synthetic success is stored flagged as test, counted for
    visibility as test usage and announced with a test-mode `sms.sent`; no carrier, no charge.

    Live mode is prepaid: the segments are counted against the month's free quota and whatever lies
    beyond it is taken from the wallet (a conditional debit, `usage_reserve`) in the transaction
    that stores the message, before the carrier is called, so concurrent sends cannot overdraw the
    wallet: one it cannot pay for raises InsufficientCredits (402) and nothing is stored or sent.
    If the carrier refuses, the reservation is released (units and money back, with its own ledger
    row); once it accepts, the message is marked sent, its usage recorded at the price already
    taken (no second charge) and `sms.sent` emitted, in one transaction.
    """
    to_number, body = _clean_send(to_number, body, organization=organization)
    sender = sms_compliance_check(organization=organization, to_number=to_number, mode=mode, purpose=purpose, now=now)
    encoding = sms_encoding(body)
    contact = Contact.objects.filter(organization=organization, mode=mode, phone_number=to_number).first()
    message = Message(
        organization=organization,
        direction=Direction.OUTBOUND,
        mode=mode,
        from_number=sender.e164,
        to_number=to_number,
        body=body,
        encoding=encoding.encoding,
        segments=encoding.segments,
        contact=contact,
        api_key_id=api_key_id,
        status=Message.Status.QUEUED,
    )
    if mode == TEST:
        with transaction.atomic():
            message.status, message.sent_at = Message.Status.SENT, timezone.now()
            message.status_updated_at = message.sent_at
            message.save()
            _sms_accounted(message)
        return message

    with transaction.atomic():  # committed before the carrier call, so a crash mid-call leaves a trace
        reservation = usage_reserve(
            organization=organization,
            metric=Metric.SMS_SEGMENTS,
            quantity=message.segments,
            reference=f"sms:{message.public_id}",
            api_key_id=api_key_id,
        )
        message.save()
    try:
        accepted = get_backend().send(
            OutboundSms(
                reference=message.public_id,
                from_number=message.from_number,
                to_number=message.to_number,
                body=message.body,
            )
        )
    except SmsBackendError as exc:
        message.status, message.error_code, message.error_message = Message.Status.FAILED, exc.code, exc.message[:500]
        message.status_updated_at = timezone.now()
        with transaction.atomic():
            message.save(update_fields=["status", "error_code", "error_message", "status_updated_at"])
            usage_release(reservation=reservation, reason=f"SMS {message.public_id} not sent: refund")
        logger.warning("SMS %s not sent: %s (%s)", message.public_id, exc.code, exc.message)
        raise SmsNotSent(message, exc) from exc
    with transaction.atomic():
        # A carrier's status callback may already have moved it further (it can beat this commit only if
        # the carrier answers the callback before the send call returns); never move it back.
        current = Message.objects.select_for_update().get(pk=message.pk)
        if Message.STATUS_RANK[current.status] < Message.STATUS_RANK[Message.Status.SENT]:
            message.status = Message.Status.SENT
        else:
            message.status = current.status
        message.sent_at = message.status_updated_at = timezone.now()
        message.provider_message_id = accepted.provider_message_id[:64]
        message.save(update_fields=["status", "sent_at", "status_updated_at", "provider_message_id"])
        usage_confirm(reservation=reservation)
        _sms_sent(message)
    return message


def _sms_accounted(message: Message) -> None:
    """Test mode: counted for visibility, never charged."""
    record_usage(
        organization=message.organization,
        metric="sms_segments",
        quantity=message.segments,
        mode=message.mode,
        reference=f"sms:{message.public_id}",
        api_key_id=message.api_key_id,
    )
    _sms_sent(message)


def _sms_sent(message: Message) -> None:
    emit(
        organization=message.organization,
        type="sms.sent",
        data=message_json(message),
        mode=message.mode,
        caused_by=by_key(message.api_key_id),  # the sending key's usage; an automatic reply's is the system's
    )


# --- Delivery status (carrier callbacks) ---------------------------------------------------------

# Twilio's MessageStatus values → ours. The in-between ones (accepted, scheduled, sending) are "queued"
# to a client: the carrier has the text but has not handed it on yet.
CARRIER_STATUSES = {
    "accepted": Message.Status.QUEUED,
    "scheduled": Message.Status.QUEUED,
    "queued": Message.Status.QUEUED,
    "sending": Message.Status.QUEUED,
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "read": Message.Status.DELIVERED,
    "undelivered": Message.Status.UNDELIVERED,
    "failed": Message.Status.FAILED,
    "canceled": Message.Status.FAILED,
}
# What Twilio's commonest delivery error codes mean (https://www.twilio.com/docs/api/errors).
CARRIER_ERRORS = {
    "30001": "Queue overflow at the carrier.",
    "30002": "The carrier suspended the sending account.",
    "30003": "Unreachable destination handset (switched off or out of coverage).",
    "30004": "Message blocked by the recipient or their carrier.",
    "30005": "Unknown destination handset: the number does not exist.",
    "30006": "Landline or unreachable carrier.",
    "30007": "Filtered by the carrier as spam.",
    "30008": "Unknown error from the carrier.",
    "30034": "Sender not registered for A2P 10DLC.",
}


class UnknownCarrierStatus(ServiceError):
    def __init__(self, status: str) -> None:
        super().__init__(f"Unknown message status {status!r}.", code="UNKNOWN_STATUS", status=400)


class UnknownCarrierMessage(ServiceError):
    def __init__(self, sid: str) -> None:
        super().__init__(f"No message was sent with carrier id {sid!r}.", code="UNKNOWN_MESSAGE", status=404)


def sms_status_update(
    *, provider_message_id: str, carrier_status: str, error_code: str = "", at: datetime.datetime | None = None
) -> Message:
    """Apply a carrier's delivery report to the outbound text it sent as `provider_message_id`.

    Only forward: queued → sent → delivered / failed / undelivered (the last three final). A report
    for a status the message has passed, or already has, changes nothing and emits nothing, so a
    carrier retrying or reordering its callbacks is harmless. A change emits `sms.status_updated` in
    the message's mode, with `previousStatus`; failures carry the carrier's error code.
    """
    status = CARRIER_STATUSES.get(carrier_status.strip().lower())
    if status is None:
        raise UnknownCarrierStatus(carrier_status)
    if not provider_message_id:
        raise UnknownCarrierMessage(provider_message_id)
    at = at or timezone.now()
    with transaction.atomic():
        message = (
            # of=("self",): PostgreSQL cannot lock the nullable side of the contact's outer join.
            Message.objects.select_for_update(of=("self",))
            .select_related("organization", "contact")
            .filter(direction=Direction.OUTBOUND, provider_message_id=provider_message_id[:64])
            .first()
        )
        if message is None:
            raise UnknownCarrierMessage(provider_message_id)
        if Message.STATUS_RANK[status] <= Message.STATUS_RANK[message.status]:
            return message
        previous = message.status
        message.status, message.status_updated_at = status, at
        if status == Message.Status.SENT or (message.sent_at is None and status != Message.Status.FAILED):
            message.sent_at = message.sent_at or at
        if status == Message.Status.DELIVERED:
            message.delivered_at = at
        if status in (Message.Status.FAILED, Message.Status.UNDELIVERED):
            code = error_code.strip()[:30]
            message.error_code = f"CARRIER_{code}" if code else "CARRIER_UNDELIVERED"
            message.error_message = CARRIER_ERRORS.get(
                code, f"The carrier could not deliver the message{f' (error {code})' if code else ''}."
            )
        message.save(
            update_fields=["status", "status_updated_at", "sent_at", "delivered_at", "error_code", "error_message"]
        )
        emit(
            organization=message.organization,
            type="sms.status_updated",
            data={**message_json(message), "previousStatus": previous},
            mode=message.mode,
            caused_by=by_key(message.api_key_id),
        )
    return message


# --- Inbound SMS ---------------------------------------------------------------------------------


class UnknownBusinessNumber(ServiceError):
    def __init__(self, number: str) -> None:
        super().__init__(f"No business on this platform owns {number}.", code="UNKNOWN_NUMBER", status=404)


def _carrier_number(raw: str) -> str:
    """Carriers send E.164 already; anything else (a short code, an alphanumeric sender) is kept as is."""
    try:
        return to_e164(raw, default_region="US", require_valid=False)
    except InvalidPhoneNumber:
        return raw.strip()[:20]


def sms_receive(
    *,
    to_number: str,
    from_number: str,
    body: str,
    provider_message_id: str = "",
    received_at: datetime.datetime | None = None,
    mode: str = LIVE,
) -> Message:
    """Store an inbound text, apply STOP/START/HELP, emit `sms.received`, and answer a keyword.

    A carrier retrying its webhook with the same message id gets the stored message back.
    """
    to_number, from_number = _carrier_number(to_number), _carrier_number(from_number)
    number = BusinessNumber.objects.select_related("organization").filter(e164=to_number).first()
    if number is None:
        raise UnknownBusinessNumber(to_number)
    organization = number.organization
    if provider_message_id:
        existing = Message.objects.filter(direction=Direction.INBOUND, provider_message_id=provider_message_id).first()
        if existing is not None:
            return existing
    keyword = classify_inbound(body)
    encoding = sms_encoding(body)
    received_at = received_at or timezone.now()
    try:
        with transaction.atomic():
            opt_out_changed = _apply_keyword(
                organization=organization,
                mode=mode,
                phone_number=from_number,
                keyword=keyword,
                body=body,
                at=received_at,
            )
            existed = Contact.objects.filter(organization=organization, mode=mode, phone_number=from_number).exists()
            contact = contact_for_number(organization=organization, phone_number=from_number, mode=mode)
            if opt_out_changed and existed:
                emit(
                    organization=organization,
                    type="contact.updated",
                    data={**contact_json(contact), "changedFields": ["smsOptedOut"]},
                    mode=mode,
                )
            message = Message.objects.create(
                organization=organization,
                direction=Direction.INBOUND,
                mode=mode,
                from_number=from_number,
                to_number=to_number,
                body=body,
                encoding=encoding.encoding,
                segments=encoding.segments,
                status=Message.Status.RECEIVED,
                contact=contact,
                provider_message_id=provider_message_id[:64],
                created_at=received_at,
            )
            emit(
                organization=organization,
                type="sms.received",
                data={**message_json(message), "keyword": keyword},
                mode=mode,
            )
    except IntegrityError:
        # The same carrier message arrived twice at once; the other request stored it.
        return Message.objects.get(direction=Direction.INBOUND, provider_message_id=provider_message_id)

    reply = keyword_reply(organization=organization, mode=mode, keyword=keyword, business_number=number.e164)
    if reply:
        try:
            sms_send(
                organization=organization,
                to_number=from_number,
                body=reply,
                mode=mode,
                purpose=SmsPurpose.KEYWORD_REPLY,
            )
        except ServiceError as exc:  # the inbound text is stored either way; the reply is best effort
            logger.warning("Keyword reply to %s for %s failed: %s", from_number, organization.public_id, exc.message)
    return message


def _apply_keyword(
    *, organization: Organization, mode: str, phone_number: str, keyword: str | None, body: str, at: datetime.datetime
) -> bool:
    """Record an opt-out or opt-in; returns whether the number's opt-out state changed."""
    if keyword == "opt_out":
        word = body.strip().strip("!.?,;:").split()[0].upper()[:20] if body.strip() else "STOP"
        _, created = SmsOptOut.objects.get_or_create(
            organization=organization,
            mode=mode,
            phone_number=phone_number,
            defaults={"keyword": word, "opted_out_at": at},
        )
        return created
    if keyword == "opt_in":
        deleted, _ = SmsOptOut.objects.filter(organization=organization, mode=mode, phone_number=phone_number).delete()
        return bool(deleted)
    return False


def keyword_reply(
    *, organization: Organization, keyword: str | None, business_number: str, mode: str = LIVE
) -> str | None:
    if keyword == "help":
        config = ai_config_for(organization=organization, mode=mode)
        return config.sms_help_reply or (
            f"{organization.name}: for help call {business_number}. Msg & data rates may apply. "
            "Reply STOP to unsubscribe."
        )
    if keyword == "opt_out":
        return (
            f"{organization.name}: you are unsubscribed and will receive no more texts from this number. "
            "Reply START to resubscribe."
        )
    if keyword == "opt_in":
        return f"{organization.name}: you are resubscribed to texts. Reply HELP for help, STOP to unsubscribe."
    return None


# --- Calls ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    offset_ms: int


def call_start(
    *,
    organization: Organization,
    direction: str,
    from_number: str,
    to_number: str,
    started_at: datetime.datetime | None = None,
    agent_public_id: str = "",
    agent_name: str = "",
    contact_name: str = "",
    mode: str = LIVE,
) -> Call:
    """A call begins in `mode` (carrier calls are live; only the simulator makes test calls). The other
    party becomes (or already is) a contact of that mode; inbound calls emit `call.started`."""
    if direction not in Direction.values:
        raise ValueError(f"direction must be inbound or outbound, not {direction!r}")
    with transaction.atomic():
        counterpart = from_number if direction == Direction.INBOUND else to_number
        contact = contact_for_number(organization=organization, phone_number=counterpart, name=contact_name, mode=mode)
        call = Call.objects.create(
            organization=organization,
            mode=mode,
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            started_at=started_at or timezone.now(),
            status=Call.Status.IN_PROGRESS,
            contact=contact,
            agent_public_id=agent_public_id,
            agent_name=agent_name,
        )
        if direction == Direction.INBOUND:
            emit(organization=organization, type="call.started", data=call_json(call), mode=mode)
    return call


def call_handoff(*, call: Call, agent_public_id: str, agent_name: str) -> Call:
    """The greeter handed the live call to a specialist, who now handles it (and is named on `call.completed`)."""
    if call.status != Call.Status.IN_PROGRESS:
        raise ServiceError(f"Call {call.public_id} has ended; it can no longer be handed off.")
    call.agent_public_id, call.agent_name = agent_public_id, agent_name
    call.save(update_fields=["agent_public_id", "agent_name"])
    return call


def call_transcript_save(*, call: Call, turns: Iterable[Turn]) -> list[TranscriptTurn]:
    rows = [
        TranscriptTurn(call=call, position=index, speaker=turn.speaker, text=turn.text, offset_ms=turn.offset_ms)
        for index, turn in enumerate(sorted(turns, key=lambda t: t.offset_ms))
    ]
    if not rows:
        raise ValueError("A transcript needs at least one turn.")
    with transaction.atomic():
        if call.turns.exists():
            raise ServiceError(f"Call {call.public_id} already has a transcript.")
        TranscriptTurn.objects.bulk_create(rows)
        emit(organization=call.organization, type="transcript.ready", data=transcript_json(call, rows), mode=call.mode)
    return rows


def call_recording_attach(
    *, call: Call, audio: bytes, duration_seconds: int, content_type: str = "audio/wav", extension: str = ".wav"
) -> Recording:
    recording = Recording(
        call=call, content_type=content_type, duration_seconds=duration_seconds, size_bytes=len(audio)
    )
    recording.audio.save(f"recording{extension}", ContentFile(audio), save=True)
    return recording


def voicemail_create(*, call: Call, transcription: str, duration_seconds: int) -> Voicemail:
    with transaction.atomic():
        voicemail = Voicemail.objects.create(
            organization=call.organization,
            call=call,
            from_number=call.from_number,
            transcription=transcription,
            duration_seconds=duration_seconds,
            created_at=call.ended_at or timezone.now(),
        )
        emit(organization=call.organization, type="voicemail.created", data=voicemail_json(voicemail), mode=call.mode)
    return voicemail


def appointment_book(
    *,
    organization: Organization,
    contact: Contact,
    service: str,
    starts_at: datetime.datetime,
    duration_minutes: int = 30,
    call: Call | None = None,
    notes: str = "",
) -> Appointment:
    """Book for `contact`, in the contact's mode (and the call's, which must be the same)."""
    if contact.organization_id != organization.pk or (call is not None and call.organization_id != organization.pk):
        raise ValueError("The contact and call must belong to the organisation.")
    if call is not None and call.mode != contact.mode:
        raise ValueError("The contact and call must be of the same mode.")
    with transaction.atomic():
        appointment = Appointment.objects.create(
            organization=organization,
            contact=contact,
            call=call,
            service=service,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            notes=notes,
        )
        emit(
            organization=organization, type="appointment.booked", data=appointment_json(appointment), mode=contact.mode
        )
    return appointment


def call_complete(
    *,
    call: Call,
    ended_at: datetime.datetime,
    status: str = Call.Status.COMPLETED,
    summary: str = "",
    outcome: str = "",
) -> Call:
    """The call ended and post-call processing (summary, outcome) finished: emits `call.completed`."""
    if status == Call.Status.IN_PROGRESS or status not in Call.Status.values:
        raise ValueError(f"A finished call cannot have status {status!r}.")
    if ended_at < call.started_at:
        raise ValueError("A call cannot end before it starts.")
    with transaction.atomic():
        call.ended_at, call.status, call.summary, call.outcome = ended_at, status, summary, outcome
        call.duration_seconds = int((ended_at - call.started_at).total_seconds())
        call.save(update_fields=["ended_at", "status", "summary", "outcome", "duration_seconds"])
        emit(organization=call.organization, type="call.completed", data=call_json(call), mode=call.mode)
    return call


# --- Business numbers ----------------------------------------------------------------------------


def business_number_add(
    *,
    organization: Organization,
    number: str,
    label: str = "",
    sms_capable: bool = True,
    voice_capable: bool = True,
    actor: Actor = None,
) -> BusinessNumber:
    e164 = phone_number_clean(number, organization=organization, field="number")
    if BusinessNumber.objects.filter(e164=e164).exclude(organization=organization).exists():
        raise ValidationError({"number": ["This number belongs to another business."]})
    with transaction.atomic():
        business_number, created = BusinessNumber.objects.get_or_create(
            organization=organization,
            e164=e164,
            defaults={"label": label, "sms_capable": sms_capable, "voice_capable": voice_capable},
        )
        if created:
            audit_record(organization=organization, actor=actor, action="phone_number.added", target=business_number)
    return business_number


def business_number_update(
    *,
    business_number: BusinessNumber,
    actor: Actor,
    label: str | Unset = UNSET,
    sms_capable: bool | Unset = UNSET,
    voice_capable: bool | Unset = UNSET,
) -> BusinessNumber:
    """Change what a number is called and can do; the number itself is fixed (remove it and add the new one)."""
    fields = given(label=label, sms_capable=sms_capable, voice_capable=voice_capable)
    with transaction.atomic():
        business_number = BusinessNumber.objects.select_for_update().get(pk=business_number.pk)
        changed = sorted(name for name, value in fields.items() if getattr(business_number, name) != value)
        for name in changed:
            setattr(business_number, name, fields[name])
        if changed:
            business_number.full_clean()
            business_number.save(update_fields=changed)
            audit_record(
                organization=business_number.organization,
                actor=actor,
                action="phone_number.updated",
                target=business_number,
                metadata={"fields": changed},
            )
    return business_number


@transaction.atomic
def business_number_remove(*, business_number: BusinessNumber, actor: Actor) -> None:
    """Texts and calls to the number stop routing to the business at once."""
    audit_record(
        organization=business_number.organization,
        actor=actor,
        action="phone_number.removed",
        target=business_number,
        metadata={"number": business_number.e164},
    )
    business_number.delete()


# --- Knowledge bases and the AI config's staff-only settings (changed by staff in admin) ---------


@transaction.atomic
def knowledge_base_save(*, knowledge_base: KnowledgeBase, changed: Iterable[str], actor: Actor) -> KnowledgeBase:
    creating = knowledge_base.pk is None
    knowledge_base.full_clean()
    knowledge_base.save()
    audit_record(
        organization=knowledge_base.organization,
        actor=actor,
        action=f"knowledge_base.{'created' if creating else 'updated'}",
        target=knowledge_base,
        metadata={"fields": sorted(changed)},
    )
    return knowledge_base


@transaction.atomic
def knowledge_base_documents_changed(
    *, knowledge_base: KnowledgeBase, actor: Actor, added: int, changed: int, deleted: int
) -> None:
    """Documents were added, edited or removed (admin's inline): the base counts as updated, audited."""
    KnowledgeBase.objects.filter(pk=knowledge_base.pk).update(updated_at=timezone.now())
    audit_record(
        organization=knowledge_base.organization,
        actor=actor,
        action="knowledge_base.documents_changed",
        target=knowledge_base,
        metadata={"added": added, "changed": changed, "deleted": deleted},
    )


@transaction.atomic
def knowledge_base_delete(*, knowledge_base: KnowledgeBase, actor: Actor) -> None:
    audit_record(
        organization=knowledge_base.organization,
        actor=actor,
        action="knowledge_base.deleted",
        target=knowledge_base,
        metadata={"name": knowledge_base.name},
    )
    knowledge_base.delete()


def ai_config_staff_update(
    *,
    organization: Organization,
    actor: Actor,
    mode: str = LIVE,
    payments_enabled: bool | Unset = UNSET,
    payment_link_max_amount: Any = UNSET,
    spam_filter_level: str | Unset = UNSET,
    spam_blocked_numbers: list[str] | Unset = UNSET,
    pii_redaction_enabled: bool | Unset = UNSET,
    pii_retention_days: int | Unset = UNSET,
) -> AiConfig:
    """The sensitive settings (payments, spam, PII) the public API never changes. Blocked numbers are
    stored in E.164 like every number the carriers' webhooks are matched against."""
    fields = given(
        payments_enabled=payments_enabled,
        payment_link_max_amount=payment_link_max_amount,
        spam_filter_level=spam_filter_level,
        spam_blocked_numbers=spam_blocked_numbers,
        pii_redaction_enabled=pii_redaction_enabled,
        pii_retention_days=pii_retention_days,
    )
    if "spam_blocked_numbers" in fields:
        numbers = fields["spam_blocked_numbers"]
        if not isinstance(numbers, list):
            raise ValidationError({"spam_blocked_numbers": ["Give a list of phone numbers."]})
        fields["spam_blocked_numbers"] = list(
            dict.fromkeys(
                phone_number_clean(number, organization=organization, field="spam_blocked_numbers")
                for number in numbers
            )
        )
    with transaction.atomic():
        config = ai_config_for(organization=organization, mode=mode)
        config = AiConfig.objects.select_for_update().select_related("organization").get(pk=config.pk)
        changed = sorted(name for name, value in fields.items() if getattr(config, name) != value)
        for name in changed:
            setattr(config, name, fields[name])
        if changed:
            config.full_clean()
            config.save(update_fields=[*changed, "updated_at"])
            audit_record(
                organization=organization,
                actor=actor,
                action="ai_config.updated",
                target=config,
                metadata={"fields": changed, "sensitive": True, "mode": mode},
            )
    return config
