"""Non-API HTTP doors into phone data: signed recording downloads and the carrier's SMS webhooks (inbound
texts, delivery reports)."""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from core.errors import ServiceError
from core.modes import Mode

from . import byte_ranges, recording_urls, services
from .models import Recording
from .twilio_signature import is_valid_signature

logger = logging.getLogger(__name__)

_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@require_safe
def recording_media(request: HttpRequest, recording_id: str) -> HttpResponseBase:
    """The audio behind a signed URL from `GET /calls/{id}/recording`; 404 for a bad or expired link.

    Honours a single `Range` (206 with `Content-Range`, 416 when unsatisfiable) so an audio player can
    seek; the signature is checked before anything about the file is revealed.
    """
    if not recording_urls.verify(
        recording_id, request.GET.get("expires"), request.GET.get("signature"), now=time.time()
    ):
        raise Http404("This recording link is invalid or has expired. Request a new one from the API.")
    recording = Recording.objects.select_related("call").filter(public_id=recording_id).first()
    name = recording.audio.name if recording else None
    if recording is None or not name:
        raise Http404("Recording not found.")
    storage = recording.audio.storage
    try:
        size = storage.size(name)
    except FileNotFoundError as exc:
        raise Http404("Recording not found.") from exc

    # If-Range names a validator this view never sends, so it cannot match: send the whole file.
    range_header = None if "If-Range" in request.headers else request.headers.get("Range")
    response: HttpResponseBase
    try:
        byte_range = byte_ranges.parse_range(range_header, size)
    except byte_ranges.RangeNotSatisfiable:
        response = HttpResponse("Range not satisfiable.", status=416, content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, length = (byte_range.start, byte_range.length) if byte_range else (0, size)
        response = StreamingHttpResponse(
            _file_slice(storage, name, start, length), content_type=_content_type(recording, name)
        )
        response["Content-Length"] = str(length)
        if byte_range:
            response.status_code = 206
            response["Content-Range"] = byte_range.content_range(size)
        filename = f"{recording.call.public_id}{Path(name).suffix or '.wav'}"
        response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["Accept-Ranges"] = "bytes"
    remaining = max(0, int(request.GET["expires"]) - int(time.time()))
    # Private: the URL is a bearer credential; caches may keep it only as long as it is valid.
    response["Cache-Control"] = f"private, max-age={remaining}"
    response["Referrer-Policy"] = "no-referrer"
    return response


_CHUNK_BYTES = 64 * 1024


def _file_slice(storage: Storage, name: str, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes from `start`, read in chunks; the file is opened only when the body is sent."""
    with storage.open(name, "rb") as audio:
        audio.seek(start)
        while length > 0:
            chunk = audio.read(min(_CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _content_type(recording: Recording, name: str) -> str:
    return recording.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _public_url(request: HttpRequest) -> str:
    """The URL the carrier signed. Behind a proxy that rewrites the host, set SMS_WEBHOOK_BASE_URL."""
    base = settings.SMS_WEBHOOK_BASE_URL
    if base:
        return base.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


@csrf_exempt
@require_POST
def sms_inbound_webhook(request: HttpRequest) -> HttpResponse:
    """Twilio-style inbound text: a form post signed with X-Twilio-Signature (HMAC-SHA1, auth token)."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return HttpResponse(
            "Inbound SMS is not configured (TWILIO_AUTH_TOKEN is empty).", status=503, content_type="text/plain"
        )
    signature = request.headers.get("X-Twilio-Signature", "")
    if not is_valid_signature(_public_url(request), _pairs(request), token, signature):
        return HttpResponse("Invalid signature.", status=403, content_type="text/plain")
    try:
        to_number, from_number = request.POST["To"], request.POST["From"]
    except KeyError:
        return HttpResponse("To and From are required.", status=400, content_type="text/plain")
    try:
        services.sms_receive(
            to_number=to_number,
            from_number=from_number,
            body=request.POST.get("Body", ""),
            provider_message_id=request.POST.get("MessageSid", "") or request.POST.get("SmsSid", ""),
            mode=Mode.LIVE,  # a carrier's text is always live: it reads the live config and live opt-outs
        )
    except ServiceError as exc:
        # An unknown number is our configuration problem, not the carrier's: answer 404 so it shows
        # in the carrier's error log instead of being retried forever.
        logger.warning("Inbound SMS refused: %s", exc.message)
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    # Replies (HELP, STOP confirmations) are sent through the SMS backend, so the TwiML is empty.
    return HttpResponse(_EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def sms_status_webhook(request: HttpRequest) -> HttpResponse:
    """Twilio-style delivery report (the StatusCallback of an outbound text): MessageSid, MessageStatus and,
    for failures, ErrorCode, signed with X-Twilio-Signature like the inbound webhook.

    Moves the message's status forward only; a repeated or stale report answers 200 and changes nothing.
    """
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return HttpResponse(
            "SMS status callbacks are not configured (TWILIO_AUTH_TOKEN is empty).",
            status=503,
            content_type="text/plain",
        )
    signature = request.headers.get("X-Twilio-Signature", "")
    if not is_valid_signature(_public_url(request), _pairs(request), token, signature):
        return HttpResponse("Invalid signature.", status=403, content_type="text/plain")
    sid = request.POST.get("MessageSid", "") or request.POST.get("SmsSid", "")
    status = request.POST.get("MessageStatus", "") or request.POST.get("SmsStatus", "")
    if not sid or not status:
        return HttpResponse("MessageSid and MessageStatus are required.", status=400, content_type="text/plain")
    try:
        services.sms_status_update(
            provider_message_id=sid, carrier_status=status, error_code=request.POST.get("ErrorCode", "")
        )
    except ServiceError as exc:
        logger.warning("SMS status callback refused: %s", exc.message)
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    return HttpResponse(status=204)


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(name, value) for name, values in request.POST.lists() for value in values]
