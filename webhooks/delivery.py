"""The delivery engine: claiming due deliveries, sending them, recording the attempts, the sweep and pruning.

How an event becomes an attempt row::

    emit() (events.py, in the caller's transaction)
      -> Event + one pending Delivery per subscribed endpoint (events.deliveries_create)
      -> after commit: dispatch.enqueue_fanout() sends a task for the organisation
      -> tasks.deliver_batch -> deliveries_attempt(): _claim_many() locks due rows and writes an
         Attempt per row (metered by _meter_attempts), _send() POSTs them, _finish*() records
         the answers on the Attempt and moves the Delivery (succeeded, retry later, failed)
      -> deliveries_sweep() (beat) re-sends what the broker lost and recovers dead workers' claims.

Endpoint management, test sends, replay and recover stay in services.py; the event body is
rendered in events.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organization
from billing.access import access_state, load_access_state
from billing.metering import record_usage
from core import outbound
from core.signing import HEADER_NAME, sign
from core.sql import update_rows

from . import policy
from .dispatch import enqueue_deliveries, enqueue_fanout
from .events import TEST_EVENT_TYPE
from .models import Attempt, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 15
RESPONSE_EXCERPT_BYTES = 4096
USER_AGENT = "AIPhone360-Webhooks/1.0"
# Deliveries one batch takes: at most this many per endpoint (sent one after another) and in all.
PER_ENDPOINT_BATCH = 5
MAX_BATCH = 40
# Batches one task sends before it hands the rest of a backlog to a fresh task.
MAX_ROUNDS = 25
# A claim outlives the longest possible batch (its endpoint's attempts one after another, 15 s
# each at most) with room to write the results.
CLAIM_LEASE = timedelta(seconds=DELIVERY_TIMEOUT_SECONDS * PER_ENDPOINT_BATCH + 15)
# A task sent this long ago whose delivery is still unclaimed is presumed lost and sent again.
REQUEUE_AFTER = timedelta(minutes=2)
# Short waits ride on a Celery countdown (far below the broker's visibility timeout); longer
# ones wait in next_attempt_at for the sweep.
MAX_COUNTDOWN = timedelta(minutes=5)
SWEEP_BATCH = 500
MAX_PARALLEL_REQUESTS = 8
HOLD_LIMIT = timedelta(days=30)
RETENTION = timedelta(days=30)
AUTO_DISABLE_AFTER = timedelta(days=5)


# ---------------------------------------------------------------------------------------------
# Endpoints disabled by what their answers said


def endpoint_disable(endpoint: Endpoint, *, reason: str, now: datetime) -> None:
    """Disable and fail whatever was still waiting for it, so the log says why and recover can re-send."""
    endpoint.disable(reason=reason, now=now)
    Delivery.objects.filter(
        endpoint=endpoint, status__in=[Delivery.Status.PENDING, Delivery.Status.HELD], claimed_until__isnull=True
    ).update(
        status=Delivery.Status.FAILED,
        status_reason=f"Endpoint disabled: {reason}"[:500],
        next_attempt_at=None,
        completed_at=now,
    )


# ---------------------------------------------------------------------------------------------
# Delivery


@dataclass(frozen=True)
class _Claim:
    delivery: Delivery
    attempt: Attempt
    headers: dict[str, str]


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """Claim a due delivery, POST it once, record the attempt and schedule what comes next.

    Returns None when there was nothing to do: the delivery is not due, already claimed by
    another worker, finished, or was just held or failed without a request.
    """
    attempts = deliveries_attempt(delivery_ids=[delivery_id], now=now)
    return attempts[0] if attempts else None


def deliveries_attempt(
    *,
    delivery_ids: list[int],
    now: datetime | None = None,
    with_backlog: bool = False,
    organization_ids: Collection[int] = (),
) -> list[Attempt]:
    """Attempt several due deliveries at once (an event's fan-out, a released hold).

    One transaction claims a batch and one records every result, so a batch costs two commits
    instead of two per delivery. Requests to different endpoints go out concurrently; requests to
    the same endpoint go one after another, oldest first. A batch holds at most PER_ENDPOINT_BATCH
    deliveries per endpoint (so the claim outlives the slowest batch) and MAX_PARALLEL_REQUESTS
    endpoints; ids that did not fit go in the next batch.

    ``with_backlog`` (the worker's tasks) also drains the other due deliveries of the same
    organisations, oldest first, batch after batch until none is left: under load the queue
    empties in large batches whose claim, metering and bookkeeping cost little per delivery
    (events committed while a task waits send no task of their own; see dispatch.enqueue_fanout).
    ``organization_ids`` names organisations to drain besides those of ``delivery_ids``.
    """
    attempts: list[Attempt] = []
    wanted = list(delivery_ids)
    organizations: set[int] = set()
    if with_backlog:
        organizations = set(organization_ids)
        if wanted and not organizations:  # a fan-out task names its organisation; others are looked up
            organizations |= set(Delivery.objects.filter(pk__in=wanted).values_list("organization_id", flat=True))
    for _ in range(MAX_ROUNDS):
        batch_now = now or timezone.now()
        claims, wanted, more = _claim_many(wanted, now=batch_now, backlog_of=organizations)
        if more and organizations:
            # More is due than one batch: another worker process can take the next batch meanwhile.
            for organization_id in organizations:
                enqueue_fanout(organization_id=organization_id, delivery_ids=[], gather=False)
        if claims:
            _send_and_record(claims, now=batch_now)
            attempts += [claim.attempt for claim in claims]
        if not wanted and not more:
            return attempts
    # Still more after many batches: hand over, so this worker's other queues get a turn. A backlog
    # is already in the hands of the helper asked for above.
    if not organizations:
        enqueue_deliveries(wanted)
    return attempts


def _send_and_record(claims: list[_Claim], *, now: datetime) -> None:
    by_endpoint: dict[int, list[_Claim]] = {}
    for claim in claims:
        by_endpoint.setdefault(claim.delivery.endpoint_id, []).append(claim)
    groups = list(by_endpoint.values())
    if len(groups) == 1:
        results = [_send_in_order(groups[0], now=now)]
    else:
        with ThreadPoolExecutor(max_workers=min(len(groups), MAX_PARALLEL_REQUESTS)) as pool:
            results = list(pool.map(lambda group: _send_in_order(group, now=now), groups))
    sent = [item for group in results for item in group]
    with transaction.atomic():
        _finish_successes([item for item in sent if item[1].succeeded], now=now)
        for claim, outcome, response, duration_ms in sent:
            if not outcome.succeeded:
                _finish(
                    claim,
                    outcome=outcome,
                    response=response,
                    duration_ms=duration_ms,
                    now=now + timedelta(milliseconds=duration_ms),
                )


_Sent = tuple[_Claim, policy.Outcome, outbound.OutboundResponse | None, int]


def _send_in_order(claims: list[_Claim], *, now: datetime) -> list[_Sent]:
    """POST each claim in turn. No database access here: this may run on a helper thread."""
    return [_send(claim, now=now) for claim in claims]


def _send(claim: _Claim, *, now: datetime) -> _Sent:
    started = time.monotonic()
    response = None
    try:
        response = outbound.post(
            claim.delivery.endpoint.url,
            body=claim.delivery.event.body.encode("utf-8"),
            headers=claim.headers,
            timeout=DELIVERY_TIMEOUT_SECONDS,
            max_bytes=RESPONSE_EXCERPT_BYTES,
            truncate=True,
        )
    except outbound.OutboundRefused as exc:
        outcome = policy.classify_error("refused", f"Refused before connecting: {exc.reason}")
    except outbound.OutboundError as exc:
        outcome = policy.classify_error(exc.kind, str(exc))
    else:
        outcome = policy.classify_response(response.status, response.headers, now=now)
    duration_ms = response.elapsed_ms if response else int((time.monotonic() - started) * 1000)
    return claim, outcome, response, duration_ms


def _claim_many(
    delivery_ids: list[int],
    *,
    now: datetime,
    backlog_of: Collection[int] = (),
) -> tuple[list[_Claim], list[int], bool]:
    """Lock the due, unclaimed rows among ``delivery_ids`` and up to MAX_BATCH other due rows of the
    organisations in ``backlog_of``; hold or fail those that cannot go; claim the rest.

    Returns the claims, the ids asked for that were due but did not fit in this batch, and
    whether more of the backlog may be due.
    """
    wanted = set(delivery_ids)
    with transaction.atomic():
        # SKIP LOCKED: a row another worker is claiming right now is simply theirs.
        locked = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint", "organization")
            .order_by("created_at", "id")
        )
        # The ids are looked up by primary key alone and checked here: the planner's row estimates
        # for the status index lag far behind a busy outbox, and a row locked but not due is simply
        # released at commit.
        rows = [row for row in locked.filter(pk__in=delivery_ids) if _is_due(row, now)] if delivery_ids else []
        backlog: list[Delivery] = []
        if backlog_of:
            backlog = list(
                locked.filter(organization_id__in=backlog_of, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                .exclude(pk__in=delivery_ids)[:MAX_BATCH]
            )
        rows, left, dropped = _fit_batch(rows + backlog, wanted)
        more = len(backlog) == MAX_BATCH or dropped
        can_pay: dict[int, bool] = {}
        disabled, held, ready = [], [], []
        for delivery in rows:
            event = delivery.event
            if not delivery.endpoint.enabled and event.type != TEST_EVENT_TYPE:
                disabled.append(delivery)
                continue
            if event.is_live and event.organization_id not in can_pay:
                can_pay[event.organization_id] = access_state(event.organization_id).has_credits
            if event.is_live and not can_pay[event.organization_id]:
                held.append(delivery)
            else:
                ready.append(delivery)

        for delivery in disabled:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED,
                next_attempt_at=None,
                completed_at=now,
                status_reason=f"Endpoint disabled: {delivery.endpoint.disabled_reason}"[:500],
            )
        if held:
            Delivery.objects.filter(pk__in=[d.pk for d in held]).update(
                status=Delivery.Status.HELD,
                held_since=Coalesce(F("held_since"), Value(now)),
                next_attempt_at=None,
                status_reason="Held: the organization's wallet is empty.",
            )
        if not ready:
            return [], left, more

        Delivery.objects.filter(pk__in=[d.pk for d in ready]).update(
            claimed_until=now + CLAIM_LEASE, attempt_count=F("attempt_count") + 1, held_since=None
        )
        claims = []
        for delivery in ready:
            delivery.attempt_count += 1
            delivery.claimed_until = now + CLAIM_LEASE
            headers = _request_headers(delivery, number=delivery.attempt_count, now=now)
            attempt = Attempt(
                delivery=delivery,
                number=delivery.attempt_count,
                request_url=delivery.endpoint.url,
                request_headers=headers,
                request_body=delivery.event.body,
                started_at=now,
            )
            claims.append(_Claim(delivery=delivery, attempt=attempt, headers=headers))
        Attempt.objects.bulk_create([claim.attempt for claim in claims])
        _meter_attempts(claims)
    return claims, left, more


def _meter_attempts(claims: list[_Claim]) -> None:
    """Meter a batch's attempts, in the transaction that creates them, as the requests are about to leave.

    Every attempt counts, retries included. One usage record per organisation and mode for the whole
    batch: the attempts are created in the same transaction, so the batch reference is exactly as
    idempotent as a per-attempt one.
    """
    batches: dict[tuple[int, str], list[_Claim]] = {}
    for claim in claims:
        batches.setdefault((claim.delivery.organization_id, claim.delivery.event.mode), []).append(claim)
    for (_, mode), batch in batches.items():
        record_usage(
            organization=batch[0].delivery.organization,
            metric="webhook_attempts",
            quantity=len(batch),
            mode=mode,
            reference=f"webhook-attempt:{batch[0].attempt.public_id}",
        )


def _is_due(delivery: Delivery, now: datetime) -> bool:
    return (
        delivery.status == Delivery.Status.PENDING
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at <= now
        and (delivery.claimed_until is None or delivery.claimed_until <= now)
    )


def _fit_batch(rows: list[Delivery], wanted: set[int]) -> tuple[list[Delivery], list[int], bool]:
    """The rows one batch can take, oldest first per endpoint; the wanted ids left for the next
    batch; whether any row was left."""
    taken: list[Delivery] = []
    per_endpoint: dict[int, int] = {}
    left: list[int] = []
    dropped = False
    for row in rows:
        count = per_endpoint.get(row.endpoint_id, 0)
        fits = (
            len(taken) < MAX_BATCH
            and count < PER_ENDPOINT_BATCH
            and (count or len(per_endpoint) < MAX_PARALLEL_REQUESTS)
        )
        if fits:
            taken.append(row)
            per_endpoint[row.endpoint_id] = count + 1
        else:
            dropped = True
            if row.pk in wanted:
                left.append(row.pk)
    taken.sort(key=lambda row: (row.created_at, row.pk))  # each endpoint gets its oldest first
    return taken, left, dropped


def _claim(delivery_id: int, *, now: datetime) -> _Claim | None:
    claims, _, _ = _claim_many([delivery_id], now=now)
    return claims[0] if claims else None


def _request_headers(delivery: Delivery, *, number: int, now: datetime) -> dict[str, str]:
    event = delivery.event
    timestamp = int(now.timestamp())
    signature = sign(
        secrets=delivery.endpoint.signing_secrets(now), body=event.body.encode("utf-8"), timestamp=timestamp
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_NAME: signature,
        "X-AIP-Event-Id": event.public_id,
        "X-AIP-Event-Type": event.type,
        "X-AIP-Delivery-Id": delivery.public_id,
        "X-AIP-Attempt": str(number),
        "X-AIP-Mode": event.mode,
    }


def _excerpt(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; the excerpt is for people, so replace it.
    return body[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _kept_response_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value[:500] for name, value in list(headers.items())[:50]}


_RESULT_FIELDS = (
    "response_status",
    "response_headers",
    "response_body_excerpt",
    "duration_ms",
    "succeeded",
    "error_class",
    "error_message",
    "finished_at",
)


def _record_result(
    attempt: Attempt,
    *,
    outcome: policy.Outcome,
    response: outbound.OutboundResponse | None,
    duration_ms: int,
    now: datetime,
) -> dict[str, Any]:
    """Set what came back on the (unsaved) attempt and return the same values for an update."""
    result = {
        "response_status": response.status if response else None,
        "response_headers": _kept_response_headers(response.headers) if response else {},
        "response_body_excerpt": _excerpt(response.body) if response else "",
        "duration_ms": duration_ms,
        "succeeded": outcome.succeeded,
        "error_class": outcome.error_class,
        "error_message": outcome.message[:500],
        "finished_at": now,
    }
    for field, value in result.items():
        setattr(attempt, field, value)
    return result


def _finish_successes(sent: list[_Sent], *, now: datetime) -> None:
    """Record a batch's successes in three statements: the common case of a healthy endpoint."""
    if not sent:
        return
    attempts, deliveries = [], []
    latest: dict[int, tuple[datetime, int]] = {}  # endpoint pk -> (last finish time, status)
    for claim, outcome, response, duration_ms in sent:
        at = now + timedelta(milliseconds=duration_ms)
        result = _record_result(claim.attempt, outcome=outcome, response=response, duration_ms=duration_ms, now=at)
        attempts.append([*(result[name] for name in _RESULT_FIELDS), claim.attempt.pk])
        code = response.status if response else 200
        # Each row only if it is still this attempt's (see _finish).
        deliveries.append([at, code, claim.delivery.pk, claim.attempt.number, Delivery.Status.PENDING])
        endpoint_id = claim.delivery.endpoint_id
        if endpoint_id not in latest or at >= latest[endpoint_id][0]:
            latest[endpoint_id] = (at, code)
    update_rows(Attempt, set_fields=_RESULT_FIELDS, where_fields=["id"], rows=attempts)
    update_rows(
        Delivery,
        set_fields=["completed_at", "last_status", "status", "status_reason", "next_attempt_at", "claimed_until"],
        where_fields=["id", "attempt_count", "status"],
        rows=(
            [at, code, Delivery.Status.SUCCEEDED, "", None, None, pk, number, pending]
            for at, code, pk, number, pending in deliveries
        ),
    )
    update_rows(
        Endpoint,
        set_fields=["last_attempt_at", "last_status", "last_error", "last_success_at", "failing_since"],
        where_fields=["id"],
        rows=([at, code, "", at, None, pk] for pk, (at, code) in latest.items()),
    )


def _finish(
    claim: _Claim,
    *,
    outcome: policy.Outcome,
    response: outbound.OutboundResponse | None,
    duration_ms: int,
    now: datetime,
) -> None:
    """Record a failed attempt; disable the endpoint if it must be; schedule the retry or give up."""
    if outcome.succeeded:
        _finish_successes([(claim, outcome, response, duration_ms)], now=now - timedelta(milliseconds=duration_ms))
        return
    delivery, attempt = claim.delivery, claim.attempt
    number = attempt.number
    status = response.status if response else None
    result = _record_result(attempt, outcome=outcome, response=response, duration_ms=duration_ms, now=now)

    with transaction.atomic(savepoint=False):
        Attempt.objects.filter(pk=attempt.pk).update(**result)
        # Guarded by the attempt number: if the claim expired and another worker took over,
        # this late result is kept in the log but does not move the delivery.
        mine = Delivery.objects.filter(pk=delivery.pk, attempt_count=number, status=Delivery.Status.PENDING)
        endpoint_row = Endpoint.objects.filter(pk=delivery.endpoint_id)
        endpoint_row.update(
            last_attempt_at=now,
            last_status=status,
            last_error=outcome.message[:500],
            failing_since=Coalesce(F("failing_since"), Value(now)),
        )
        endpoint = endpoint_row.select_for_update().first()
        if endpoint is None:
            return  # deleted while the request was in flight, with its deliveries
        if outcome.disable_endpoint and endpoint.enabled:
            endpoint_disable(endpoint, reason=outcome.message, now=now)
        elif endpoint.enabled and endpoint.failing_since and now - endpoint.failing_since >= AUTO_DISABLE_AFTER:
            since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC")
            endpoint_disable(
                endpoint,
                now=now,
                reason=(
                    f"Every attempt since {since} failed (for {AUTO_DISABLE_AFTER.days} days); "
                    f"last error: {outcome.message}"
                ),
            )

        retries = outcome.retryable and delivery.event.type != TEST_EVENT_TYPE
        delay = policy.retry_delay(number, retry_after=outcome.retry_after) if retries and endpoint.enabled else None
        if delay is None:
            reason = outcome.message
            if not endpoint.enabled:
                reason = f"Endpoint disabled: {endpoint.disabled_reason}"
            elif retries:
                reason = f"Gave up after {number} attempts; last error: {outcome.message}"
            mine.update(
                status=Delivery.Status.FAILED,
                status_reason=reason[:500],
                next_attempt_at=None,
                claimed_until=None,
                completed_at=now,
                last_status=status,
            )
            return

        due = now + delay
        short = delay <= MAX_COUNTDOWN
        moved = mine.update(
            next_attempt_at=due,
            claimed_until=None,
            last_status=status,
            queued_at=due if short else None,
            status_reason=f"Attempt {number} failed: {outcome.message}"[:500],
        )
        if moved and short:
            transaction.on_commit(lambda: enqueue_deliveries([delivery.pk], countdown=delay.total_seconds()))


# ---------------------------------------------------------------------------------------------
# Holds, sweep and retention


def release_held_when_funded(sender: Any, *, organization_id: int, **kwargs: Any) -> None:
    """Receiver of `billing.signals.wallet_funded` (connected in webhooks/apps.py): billing says when, webhooks releases."""
    deliveries_release_held(organization=Organization.objects.get(pk=organization_id))


def deliveries_release_held(*, organization: Organization, now: datetime | None = None) -> int:
    """Send an organisation's held deliveries, oldest first, once its wallet can pay again.

    Billing calls this when funds arrive; the sweep calls it too in case that call was missed.
    Reads the wallet fresh (not the cached gate state) and does nothing while it is still empty.
    """
    if not load_access_state(organization.pk).has_credits:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(organization=organization, status=Delivery.Status.HELD)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        # held_since stays until the delivery is attempted: re-held at once, its 30 days keep counting.
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.HELD).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, queued_at=now, status_reason=""
        )
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    logger.info("released %d held webhook deliveries of organization %s", len(ids), organization.public_id)
    return len(ids)


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    lost_attempts: int
    expired: int
    released: int


def deliveries_sweep(*, now: datetime | None = None) -> SweepResult:
    """Re-send what is due but not in the broker, recover lost claims, expire and release holds."""
    now = now or timezone.now()
    due = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
    )
    lost_attempts = 0
    with transaction.atomic():
        ids = list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:SWEEP_BATCH])
        if ids:
            # A claim that expired belongs to a worker that died mid-attempt: close its attempt.
            lost_attempts = Attempt.objects.filter(
                delivery_id__in=ids, finished_at__isnull=True, delivery__claimed_until__lte=now
            ).update(
                finished_at=now,
                error_class="worker_lost",
                error_message="The worker stopped before this attempt finished; it is retried.",
            )
            Delivery.objects.filter(pk__in=ids).filter(
                Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
            ).update(claimed_until=None, queued_at=now)
            transaction.on_commit(lambda: enqueue_deliveries(ids))

    expired = Delivery.objects.filter(status=Delivery.Status.HELD, held_since__lte=now - HOLD_LIMIT).update(
        status=Delivery.Status.EXPIRED,
        next_attempt_at=None,
        completed_at=now,
        status_reason=f"Expired: held for more than {HOLD_LIMIT.days} days while the organization's wallet was empty.",
    )

    released = 0
    held_orgs = Delivery.objects.filter(status=Delivery.Status.HELD).values_list("organization_id", flat=True)
    for organization in Organization.objects.filter(pk__in=held_orgs.distinct()):
        if access_state(organization.pk).has_credits:
            released += deliveries_release_held(organization=organization, now=now)
    if ids or expired or released:
        logger.info(
            "webhook sweep: %d re-queued (%d lost attempts), %d expired, %d released",
            len(ids),
            lost_attempts,
            expired,
            released,
        )
    return SweepResult(requeued=len(ids), lost_attempts=lost_attempts, expired=expired, released=released)


def deliveries_prune(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) and orphaned events older than the retention.

    In batches, each its own short transaction, so a large backlog never holds long locks.
    """
    now = now or timezone.now()
    cutoff = now - RETENTION
    finished = Delivery.objects.filter(
        status__in=[Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.EXPIRED],
        created_at__lt=cutoff,
    )
    deleted = 0
    while ids := list(finished.order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            Attempt.objects.filter(delivery_id__in=ids).delete()
            Delivery.objects.filter(replay_of_id__in=ids).update(replay_of=None)
            _, counts = Delivery.objects.filter(pk__in=ids).delete()
            deleted += counts.get(Delivery._meta.label, 0)
    orphans = Event.objects.filter(created_at__lt=cutoff, deliveries__isnull=True)
    while ids := list(orphans.order_by("pk").values_list("pk", flat=True)[:batch]):
        Event.objects.filter(pk__in=ids).delete()
    return deleted
