"""Lean attempt rows, step 1 of 2: the compact columns, filled from the old ones (issue 22, point 1).

An attempt stops storing its request body and headers: the body is its event's, and the headers are
rebuilt from the event, the delivery and the signature's digests (``webhooks.wire``). Existing
attempts are moved over row by row: one whose headers are exactly the standard set keeps only its
digests; one whose headers or body differ from what would be rebuilt keeps them as they were, in
``request_headers_override`` / ``request_body_override``, so every attempt still shows what it sent.
(Every code path so far sent the event's body: replays and test sends deliver an event of their
own or the original's, so the body override is a safety net, not a case that is expected.)

Data moves and the column drops (0006) are separate migrations: PostgreSQL refuses to ALTER a table
whose rows the same transaction rewrote and then updated. Both directions work, in batches by key.
"""

from typing import Any

from django.db import migrations, models

from core.signing import HEADER_NAME
from webhooks import wire

BATCH = 2000


def _batches(queryset: Any) -> Any:
    last = 0
    while rows := list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH]):
        yield rows
        last = rows[-1].pk


def _rebuilt(attempt: Any, signature: str) -> dict[str, str]:
    delivery, event = attempt.delivery, attempt.delivery.event
    return wire.request_headers(
        signature=signature,
        event_id=event.public_id,
        event_type=event.type,
        mode=event.mode,
        delivery_id=delivery.public_id,
        number=attempt.number,
    )


def lean_attempt_parts(attempt: Any) -> dict[str, Any]:
    """The new columns of a legacy attempt row (``request_headers`` and ``request_body`` set)."""
    headers = dict(attempt.request_headers or {})
    timestamp = int(attempt.started_at.timestamp())
    digests = wire.signature_digests(headers.get(HEADER_NAME, ""), timestamp=timestamp)
    # Compared as dicts: PostgreSQL's jsonb kept them in its own key order, not the order sent.
    standard = digests is not None and headers == _rebuilt(attempt, headers[HEADER_NAME])
    body = attempt.request_body
    return {
        "signature": digests,
        "request_headers_override": None if standard else headers,
        "request_body_override": None if body == attempt.delivery.event.body else body,
    }


def attempts_forward(apps: Any, schema_editor: Any) -> None:
    Attempt = apps.get_model("webhooks", "Attempt")
    fields = ["signature", "request_headers_override", "request_body_override"]
    for rows in _batches(Attempt.objects.select_related("delivery__event")):
        for row in rows:
            for name, value in lean_attempt_parts(row).items():
                setattr(row, name, value)
        Attempt.objects.bulk_update(rows, fields)


def attempts_backward(apps: Any, schema_editor: Any) -> None:
    Attempt = apps.get_model("webhooks", "Attempt")
    for rows in _batches(Attempt.objects.select_related("delivery__event")):
        for row in rows:
            if row.request_headers_override is not None:
                row.request_headers = row.request_headers_override
            else:
                signature = wire.signature_header(
                    bytes(row.signature or b""), timestamp=int(row.started_at.timestamp())
                )
                row.request_headers = _rebuilt(row, signature)
            override = row.request_body_override
            row.request_body = override if override is not None else row.delivery.event.body
        Attempt.objects.bulk_update(rows, ["request_headers", "request_body"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_delivery_leases_slow_lane_queue_times"),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="signature",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="attempt",
            name="request_headers_override",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="attempt",
            name="request_body_override",
            field=models.TextField(blank=True, null=True),
        ),
        # Nullable before the move, so that going back re-adds the column empty and then fills it.
        migrations.AlterField(model_name="attempt", name="request_body", field=models.TextField(null=True)),
        migrations.RunPython(attempts_forward, attempts_backward, elidable=True),
    ]
