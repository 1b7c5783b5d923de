"""The delivery engine: claiming due deliveries, sending them, recording the attempts, holds, the sweep and pruning.

From an event to an attempt row::

    emit()                        events.py, in the caller's transaction: the Event and one pending
                                  Delivery per subscribed endpoint (on PostgreSQL in one statement)
      -> after commit             dispatch.enqueue_fanout(): the organisation's turn, unless one waits
      -> tasks.turn               a threaded worker (Procfile `webhooks`, or `webhooks_slow`) runs
         deliveries_turn()
           _claim()               locks the organisation's endpoints of the lane, takes each one's oldest
                                  due rows up to its room (WEBHOOK_ENDPOINT_MAX_IN_FLIGHT minus what is in
                                  flight), claims them under a lease token, writes an Attempt per row
           _send_and_record()     POSTs them all at once on threads, renews the leases while any is in
                                  flight, and _record()s answers as they come: the Attempt, the Delivery
                                  (succeeded, retry later, failed) and the endpoint's lane; the
                                  attempts whose request left are metered there (_meter_attempts)
      -> deliveries_sweep()       beat, every few seconds: frees leases whose worker died (the attempt is
                                  closed as worker_lost), wakes organisations with due work, expires and
                                  releases holds

Isolation: a request waits on a thread, never a whole process; an endpoint never has more than its
cap in flight; organisations take turns (at most one queued turn each per lane, see dispatch.py); an
endpoint whose attempts time out or answer slowly is served by the slow lane's own queue and workers.
Order: none is promised between deliveries (a retry waits its backoff while later events go out);
an endpoint's due deliveries are claimed oldest first, and one delivery's attempts never overlap.

Endpoint management, test sends, replay and recover stay in services.py; the event body is
rendered in events.py.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organization
from billing.access import access_state, load_access_state, refresh_access_state
from billing.metering import affordable_units, record_usage
from core import metrics, outbound, partitions
from core.signing import HEADER_NAME, sign
from core.sql import ARRAY_PARAMETER, insert_rows, prepared_cursor, rows_by_pk, update_rows

from . import policy, wire
from .dispatch import FAST, SLOW, enqueue_turn
from .events import TEST_EVENT_TYPE
from .models import Attempt, Delivery, Endpoint, Event
from .retention import webhook_partitions_maintain

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 15
RESPONSE_EXCERPT_BYTES = 4096
# A claim is a short lease, renewed every LEASE_RENEW_SECONDS while its request is in flight: a
# worker that dies stops renewing, and the sweep frees its rows within seconds.
CLAIM_LEASE = timedelta(seconds=10)
LEASE_RENEW_SECONDS = 3.0
# How long a turn waits for a whole batch before it records the answers already in and keeps waiting
# for the rest (renewing their leases), so one slow receiver does not hold back the others' results.
GATHER_RESULTS_SECONDS = 0.5
# An attempt that takes this long (or times out) puts its endpoint in the slow lane; a quicker one
# takes it back to the fast lane.
SLOW_AFTER_MS = 5000
# Short waits ride on a Celery countdown (far below the broker's visibility timeout); longer
# ones wait in next_attempt_at for the sweep.
MAX_COUNTDOWN = timedelta(minutes=5)
# The sweep leaves alone work that became due this recently: its turn is normally on its way.
SWEEP_GRACE = timedelta(seconds=2)
SWEEP_BATCH = 500
# An endpoint's last-attempt and last-success times are kept to this resolution under load.
HEALTH_RESOLUTION = timedelta(seconds=1)
HOLD_LIMIT = timedelta(days=30)
RETENTION = timedelta(days=30)
AUTO_DISABLE_AFTER = timedelta(days=5)


def max_in_flight() -> int:
    """Requests one endpoint may have in flight at once (claimed rows are exactly those in flight)."""
    return int(settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT)


def _turn_share(cap: int) -> int:
    """What one turn takes of an endpoint's room: half the cap, so a second turn of the same
    organisation can claim while the first is still sending (the two overlap instead of alternating)."""
    return max(1, (cap + 1) // 2)


# ---------------------------------------------------------------------------------------------
# Endpoints disabled by what their answers said


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
    token: uuid.UUID


@dataclass
class _Batch:
    claims: list[_Claim] = dataclass_field(default_factory=list)
    # Due rows of this lane were left for endpoints that still had room (a helper turn can take them).
    more: bool = False
    # Endpoints of the other lane have due work.
    other_lane_due: bool = False


def deliveries_turn(*, organization_id: int, lane: str = FAST, now: datetime | None = None) -> list[Attempt]:
    """One organisation's turn in one lane: claim what its endpoints have room for, send, record.

    It hands on rather than loops: a helper turn is woken at once when more is due than this turn
    took, the other lane when its endpoints have work, and the next turn of this lane when the
    answers are in. Each goes to the back of the queue, behind the other organisations' turns.
    """
    batch = _claim(organization_id=organization_id, lane=lane, now=now or timezone.now())
    if batch.more:
        enqueue_turn(organization_id=organization_id, lane=lane)
    if batch.other_lane_due:
        enqueue_turn(organization_id=organization_id, lane=SLOW if lane == FAST else FAST)
    if not batch.claims:
        return []
    _send_and_record(batch.claims, now=now)
    if _lane_due(organization_id, lane=lane, now=now or timezone.now()):
        enqueue_turn(organization_id=organization_id, lane=lane)
    return [claim.attempt for claim in batch.claims]


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """Claim a due delivery, POST it once, record the attempt and schedule what comes next.

    Returns None when there was nothing to do: the delivery is not due, already claimed by
    another worker, finished, or was just held or failed without a request.
    """
    attempts = deliveries_attempt(delivery_ids=[delivery_id], now=now)
    return attempts[0] if attempts else None


def deliveries_attempt(*, delivery_ids: list[int], now: datetime | None = None) -> list[Attempt]:
    """Attempt these due deliveries now, whatever their lane (a test send), under the same
    per-endpoint cap: what does not fit goes out as the first answers come in."""
    attempts: list[Attempt] = []
    left = list(delivery_ids)
    while left:
        batch = _claim(delivery_ids=left, now=now or timezone.now())
        if not batch.claims:
            break
        _send_and_record(batch.claims, now=now)
        attempts += [claim.attempt for claim in batch.claims]
        taken = {claim.delivery.pk for claim in batch.claims}
        left = [pk for pk in left if pk not in taken]
    return attempts


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def _due(queryset: QuerySet[Delivery], now: datetime) -> QuerySet[Delivery]:
    return queryset.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).filter(_unclaimed(now))


def _lane_due(organization_id: int, *, lane: str, now: datetime) -> bool:
    """Whether the organisation's endpoints of ``lane`` have due work: asked after every turn, so on
    PostgreSQL a prepared statement (planned once per connection, not over every partition each time)."""
    if connection.vendor == "postgresql":
        with prepared_cursor(connection) as cursor:
            cursor.execute(
                _LANE_DUE_SQL.format(slow="NULL" if lane == FAST else "NOT NULL"), [organization_id, now, now]
            )
            return cursor.fetchone() is not None
    due = _due(Delivery.objects.filter(organization_id=organization_id), now)
    return due.filter(endpoint__slow_since__isnull=lane == FAST).exists()


# _lane_due's query: _due's rows (the status in the text, for the partial index) of the lane's endpoints.
_LANE_DUE_SQL = """
    SELECT 1 FROM "webhooks_delivery" d JOIN "webhooks_endpoint" e ON e.id = d.endpoint_id
    WHERE d.organization_id = %s AND d.status = 'pending' AND d.next_attempt_at <= %s
          AND (d.claimed_until IS NULL OR d.claimed_until <= %s) AND e.slow_since IS {slow}
    LIMIT 1
"""


def _in_flight(endpoints: list[Endpoint], *, now: datetime) -> dict[int, int]:
    """Requests in flight per endpoint (its rows leased past ``now``): asked by every claim, so on
    PostgreSQL a prepared statement, as _lane_due."""
    if not endpoints:
        return {}
    if connection.vendor == "postgresql":
        with prepared_cursor(connection) as cursor:
            cursor.execute(_IN_FLIGHT_SQL.format(array=ARRAY_PARAMETER), [[e.pk for e in endpoints], now])
            return dict(cursor.fetchall())
    return dict(
        Delivery.objects.filter(endpoint__in=endpoints, claimed_until__gt=now)
        .values("endpoint_id")
        .annotate(n=Count("id"))
        .values_list("endpoint_id", "n")
    )


_IN_FLIGHT_SQL = """
    SELECT "endpoint_id", count(*) FROM "webhooks_delivery"
    WHERE "endpoint_id" = ANY(CAST({array} AS bigint[])) AND "claimed_until" > %s
    GROUP BY "endpoint_id"
"""


def _claim(
    *, now: datetime, organization_id: int | None = None, lane: str | None = None, delivery_ids: list[int] | None = None
) -> _Batch:
    """Claim, in one transaction, the due rows of an organisation's endpoints in ``lane`` (or the
    due rows among ``delivery_ids``, in any lane): per endpoint its oldest first, no more than its
    room under the cap. Rows of disabled endpoints fail, live rows of an organisation that cannot
    pay are held, the rest get an Attempt (metered once its request has left: see _record)."""
    token = uuid.uuid4()
    cap = max_in_flight()
    batch = _Batch()
    if delivery_ids is not None:
        scope = Endpoint.objects.filter(pk__in=Delivery.objects.filter(pk__in=delivery_ids).values("endpoint_id"))
    elif organization_id is not None:
        scope = Endpoint.objects.filter(organization_id=organization_id)
    else:
        raise ValueError("claim an organisation's due deliveries or given ones")
    with transaction.atomic():
        # An endpoint another turn is claiming for right now is skipped: that turn takes what it has room for.
        endpoints = _lock_endpoints(list(scope.order_by("pk")))
        mine = [e for e in endpoints if lane is None or e.lane == lane]
        others = [e for e in endpoints if lane is not None and e.lane != lane]
        in_flight = _in_flight(mine, now=now)
        picked: list[int] = []
        share = cap if delivery_ids is not None else _turn_share(cap)
        rooms = {e.pk: cap - in_flight.get(e.pk, 0) for e in mine}
        # (The turn that holds a full endpoint's requests wakes the next one when they are answered.)
        takes = {pk: min(room, share) for pk, room in rooms.items() if room > 0}
        for endpoint_id, ids in _due_per_endpoint(takes, delivery_ids=delivery_ids, now=now).items():
            take = takes[endpoint_id]
            if len(ids) > take:
                ids = ids[:take]
                batch.more = batch.more or take < rooms[endpoint_id]
            picked += ids
        if others:
            batch.other_lane_due = _due(Delivery.objects.filter(endpoint__in=others), now).exists()
        if not picked:
            return batch

        rows = rows_by_pk(Delivery, picked, order_by=("next_attempt_at", "id"))
        by_pk = {e.pk: e for e in mine}
        # One instance per organisation (a turn's rows are all one's) and per event (shared by its endpoints'
        # deliveries: its body decompressed once), not one joined into every row.
        organizations = {o.pk: o for o in rows_by_pk(Organization, {row.organization_id for row in rows})}
        events = {e.pk: e for e in rows_by_pk(Event, {row.event_id for row in rows})}
        rows = [row for row in rows if row.event_id in events]  # as the join did: never claimed without its event
        for row in rows:
            row.endpoint = by_pk[row.endpoint_id]  # one instance per endpoint: its secrets are decrypted once
            row.organization = organizations[row.organization_id]
            row.event = events[row.event_id]
        lost = [d.pk for d in rows if d.claimed_until is not None]  # a lease that ran out: its worker died
        if lost:
            _close_lost_attempts(lost, now=now)
        can_pay: dict[int, bool] = {}
        disabled, held, ready = [], [], []
        for delivery in rows:
            event = delivery.event
            if not delivery.endpoint.enabled and event.type != TEST_EVENT_TYPE:
                disabled.append(delivery)
                continue
            if event.is_live and event.organization_id not in can_pay:
                # A cached "cannot pay" is read again from the database before holding: a reader that loaded
                # the state just before a top-up committed can cache the old answer after the top-up dropped
                # it, and would otherwise re-hold what the top-up released, for as long as the cache lasts.
                can_pay[event.organization_id] = (
                    access_state(event.organization_id).has_credits
                    or refresh_access_state(event.organization_id).has_credits
                )
            if event.is_live and not can_pay[event.organization_id]:
                held.append(delivery)
            else:
                ready.append(delivery)

        for delivery in disabled:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED,
                next_attempt_at=None,
                claimed_until=None,
                completed_at=now,
                status_reason=f"Endpoint disabled: {delivery.endpoint.disabled_reason}"[:500],
            )
        if held:
            Delivery.objects.filter(pk__in=[d.pk for d in held]).update(
                status=Delivery.Status.HELD,
                held_since=Coalesce(F("held_since"), Value(now)),
                next_attempt_at=None,
                claimed_until=None,
                status_reason="Held: the organization's wallet is empty.",
            )
        if not ready:
            return batch

        # The claim itself: a conditional update under a fresh token. Only the rows it moved are
        # this turn's (a second claim of the same rows, from a redelivered message or another
        # worker, finds them leased and takes nothing), with their attempt numbers as written.
        numbers = _take([d.pk for d in ready], token=token, now=now)
        signing: dict[int, list[str]] = {}
        for delivery in ready:
            if delivery.pk not in numbers:
                continue
            delivery.attempt_count = numbers[delivery.pk]
            delivery.claimed_until, delivery.claim_token = now + CLAIM_LEASE, token
            secrets = signing.get(delivery.endpoint_id) or signing.setdefault(
                delivery.endpoint_id, delivery.endpoint.signing_secrets(now)
            )
            headers = _request_headers(delivery, number=delivery.attempt_count, secrets=secrets, now=now)
            due_since = delivery.next_attempt_at or now
            # The row keeps only the signature's digests: the body is the event's and the other
            # headers are rebuilt from the event and the delivery (webhooks.wire).
            digests = wire.signature_digests(headers[HEADER_NAME], timestamp=int(now.timestamp()))
            attempt = Attempt(
                delivery=delivery,
                number=delivery.attempt_count,
                request_url=delivery.endpoint.url,
                signature=digests,
                request_headers_override=headers if digests is None else None,  # never expected: kept whole
                queued_ms=max(0, int((now - due_since).total_seconds() * 1000)),
                started_at=now,
            )
            batch.claims.append(_Claim(delivery=delivery, attempt=attempt, headers=headers, token=token))
        insert_rows([claim.attempt for claim in batch.claims])
    return batch


def _take(ids: list[int], *, token: uuid.UUID, now: datetime) -> dict[int, int]:
    """The claim's conditional update, in one round trip: the rows among ``ids`` still due and
    unleased get ``token``, a lease and their next attempt number; returns {pk: attempt number} of
    the rows it moved (RETURNING: PostgreSQL, and SQLite since 3.35)."""
    quote = connection.ops.quote_name
    meta = Delivery._meta
    fields = {field.name: field for field in meta.concrete_fields}

    def column(name: str) -> str:
        return quote(str(fields[name].column))

    def value(name: str, value: Any) -> Any:
        return fields[name].get_db_prep_save(value, connection)

    id_params: list[Any]
    if connection.vendor == "postgresql":
        match, id_params = f"{column('id')} = ANY({ARRAY_PARAMETER})", [ids]  # one array, however many rows
    else:
        match, id_params = f"{column('id')} IN ({', '.join(['%s'] * len(ids))})", list(ids)
    count, until = column("attempt_count"), column("claimed_until")
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {column('claim_token')} = %s, {until} = %s, {count} = {count} + 1, "
        f"{column('held_since')} = NULL "
        f"WHERE {match} AND {column('status')} = '{Delivery.Status.PENDING.value}' AND {column('next_attempt_at')} <= %s "
        f"AND ({until} IS NULL OR {until} <= %s) "
        f"RETURNING {column('id')}, {count}"
    )
    at = value("next_attempt_at", now)
    params = [value("claim_token", token), value("claimed_until", now + CLAIM_LEASE), *id_params]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [*params, at, at])
        return {pk: number for pk, number in cursor.fetchall()}


def _due_per_endpoint(takes: dict[int, int], *, delivery_ids: list[int] | None, now: datetime) -> dict[int, list[int]]:
    """Each endpoint's oldest due rows, one more than its take (to tell whether more is due), oldest
    first. One statement for all of them on PostgreSQL (each endpoint's rows still an index scan of its
    due rows, see _DUE_SQL), so an organisation with many endpoints costs one round trip, not one per
    endpoint; elsewhere one query per endpoint."""
    if not takes:
        return {}
    if connection.vendor == "postgresql":
        only = f"AND d.id = ANY({ARRAY_PARAMETER})" if delivery_ids is not None else ""
        params: list[Any] = [list(takes), list(takes.values()), now, now]
        with prepared_cursor(connection) as cursor:
            cursor.execute(
                _DUE_SQL.format(only=only, array=ARRAY_PARAMETER),
                params + ([delivery_ids] if delivery_ids is not None else []),
            )
            rows = cursor.fetchall()
    else:
        rows = []
        for endpoint_id, take in takes.items():
            due = _due(Delivery.objects.filter(endpoint_id=endpoint_id), now)
            if delivery_ids is not None:
                due = due.filter(pk__in=delivery_ids)
            rows += due.order_by("next_attempt_at", "id").values_list("endpoint_id", "next_attempt_at", "pk")[
                : take + 1
            ]
    found: dict[int, list[tuple[datetime, int]]] = {}
    for endpoint_id, due_at, pk in rows:
        found.setdefault(endpoint_id, []).append((due_at or now, pk))  # never None: due rows have a time
    return {endpoint_id: [pk for _, pk in sorted(due)] for endpoint_id, due in found.items()}


# _due's rows per endpoint (pending, due, unleased), the oldest take + 1 of each: written out, not
# built by the ORM, whose compiling of one query per endpoint and their union cost more CPU than the
# claim's other statements together. The lateral subquery is an index scan of the endpoint's due
# rows (del_endpoint_due) for each (endpoint, take) of the arrays.
_DUE_SQL = """
    SELECT e.endpoint_id, d.next_attempt_at, d.id
    FROM unnest(CAST({array} AS bigint[]), CAST({array} AS integer[])) AS e (endpoint_id, take)
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at FROM "webhooks_delivery" d
        WHERE d.endpoint_id = e.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= %s
              AND (d.claimed_until IS NULL OR d.claimed_until <= %s) {only}
        ORDER BY d.next_attempt_at, d.id
        LIMIT e.take + 1
    ) AS d
"""


# Namespace of the per-endpoint claim locks (PostgreSQL advisory locks: two int4 keys).
_CLAIM_LOCK_NAMESPACE = 1_414_001


def _lock_endpoints(endpoints: list[Endpoint]) -> list[Endpoint]:
    """The endpoints this transaction may claim for: the per-endpoint lock that makes the cap exact
    between concurrent turns. One another turn is claiming for right now is skipped (and counts as
    more to do). An advisory lock, not the row's: recording results and new deliveries' foreign-key
    checks never wait on it. SQLite (`make run`'s demo) has no such lock: there two turns claiming at
    the same moment may together exceed the cap."""
    if connection.vendor != "postgresql" or not endpoints:
        return endpoints
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::integer[]) AS id WHERE pg_try_advisory_xact_lock(%s, id)",
            [[e.pk for e in endpoints], _CLAIM_LOCK_NAMESPACE],
        )
        locked = {row[0] for row in cursor.fetchall()}
    return [e for e in endpoints if e.pk in locked]


def _meter_attempts(sent: list[_Sent]) -> None:
    """Meter the answered attempts whose request left for the receiver, in the transaction that records them.

    The rule, the same for tool calls (README "Money and metering"): an attempt is charged once a request
    left for the receiver, whatever came back (an error status, a timeout, a refused connection). Not
    charged: the SSRF guard's refusal before connecting ("refused"), a disabled endpoint's delivery (failed
    without an Attempt) and an attempt lost with its worker (closed as worker_lost, never recorded here);
    the re-send of a lost attempt is a new attempt, recorded and charged once.

    Retries count, under the key (or dashboard, or system) that caused the delivery. One usage record per
    organisation, mode and cause for each group of answers: each attempt is recorded by exactly one call,
    so the reference of its group's first attempt is as idempotent as a per-attempt one.
    """
    batches: dict[tuple[int, str, str, int | None], list[_Claim]] = {}
    for claim, outcome, _, _ in sent:
        if outcome.error_class == "refused":
            continue  # nothing left the machine
        d = claim.delivery
        batches.setdefault((d.organization_id, d.event.mode, d.source, d.api_key_id), []).append(claim)
    # Locks in one order in every transaction (organisation; live, whose month counter is locked first,
    # before test; then each rollup row), so two turns metering the same organisations cannot deadlock.
    ordered = sorted(batches.items(), key=lambda item: (item[0][0], item[0][1] != "live", item[0][2], item[0][3] or 0))
    for (_, mode, source, api_key_id), batch in ordered:
        record_usage(
            organization=batch[0].delivery.organization,
            metric="webhook_attempts",
            quantity=len(batch),
            mode=mode,
            reference=f"webhook-attempt:{batch[0].attempt.public_id}",
            api_key_id=api_key_id,
            source=source,
        )


def _close_lost_attempts(delivery_ids: list[int], *, now: datetime) -> int:
    return Attempt.objects.filter(delivery_id__in=delivery_ids, finished_at__isnull=True).update(
        finished_at=now,
        error_class="worker_lost",
        error_message="The worker stopped before this attempt finished; it is retried.",
    )


_Sent = tuple[_Claim, policy.Outcome, outbound.OutboundResponse | None, int]


def _send_and_record(claims: list[_Claim], *, now: datetime | None) -> None:
    """POST every claim at once, each on its own thread (the requests of a batch go to different
    endpoints or, up to the cap, to the same one), and record the answers as they come."""
    sent_at = now or timezone.now()
    pool = _sending_pool()
    waiting: set[Future[_Sent]] = {pool.submit(_send, claim, now=sent_at) for claim in claims}
    done, waiting = wait(waiting, timeout=GATHER_RESULTS_SECONDS)
    renewed = time.monotonic()
    while True:
        if done:
            _record([future.result() for future in done], now=sent_at)
        if not waiting:
            return
        if time.monotonic() - renewed >= LEASE_RENEW_SECONDS:
            _renew(claims, now=now)
            renewed = time.monotonic()
        done, waiting = wait(waiting, timeout=LEASE_RENEW_SECONDS, return_when=FIRST_COMPLETED)
        if done and waiting:  # gather the answers arriving together into one transaction
            more, waiting = wait(waiting, timeout=0.05)
            done |= more


# The sending threads of this process, shared by its turns: a thread waits on one request at a time
# and is reused by the next (starting a thread per request cost more CPU than the request). Threads
# are started only as needed; SENDING_THREADS bounds them far above what the per-endpoint cap lets
# any few endpoints hold, and the slow lane's endpoints are sent by another process's pool.
SENDING_THREADS = 1024
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _sending_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SENDING_THREADS, thread_name_prefix="webhook-send")
        return _pool


def _renew(claims: list[_Claim], *, now: datetime | None) -> None:
    """Extend the leases of the turn's requests still in flight: its rows still leased under its token
    (a recorded one's lease is cleared, so it is not renewed)."""
    Delivery.objects.filter(
        pk__in=[claim.delivery.pk for claim in claims], claim_token=claims[0].token, claimed_until__isnull=False
    ).update(claimed_until=(now or timezone.now()) + CLAIM_LEASE)


def _send(claim: _Claim, *, now: datetime) -> _Sent:
    """No database access here: this runs on a sending thread."""
    started = time.monotonic()
    response = None
    try:
        with metrics.webhook_request_in_flight(claim.delivery.endpoint.public_id):
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


def _record(sent: list[_Sent], *, now: datetime) -> None:
    """One transaction for every answer in: successes in three statements, each failure on its own."""
    with transaction.atomic():
        failures = [item for item in sent if not item[1].succeeded]
        if failures:
            # A failure writes its endpoint's row; take every row this transaction may write now, in id
            # order, so concurrent turns always lock them in the same order (no deadlock).
            endpoint_ids = sorted({claim.delivery.endpoint_id for claim, *_ in sent})
            list(Endpoint.objects.filter(pk__in=endpoint_ids).order_by("pk").select_for_update(no_key=True))
        _finish_successes([item for item in sent if item[1].succeeded], now=now)
        for claim, outcome, response, duration_ms in sorted(failures, key=lambda item: item[0].delivery.endpoint_id):
            _finish(
                claim,
                outcome=outcome,
                response=response,
                duration_ms=duration_ms,
                now=now + timedelta(milliseconds=duration_ms),
            )
        _meter_attempts(sent)


def _is_slow(outcome: policy.Outcome, duration_ms: int) -> bool:
    return outcome.error_class == "timeout" or duration_ms >= SLOW_AFTER_MS


def _request_headers(delivery: Delivery, *, number: int, secrets: list[str], now: datetime) -> dict[str, str]:
    event = delivery.event
    timestamp = int(now.timestamp())
    signature = sign(secrets=secrets, body=event.body.encode("utf-8"), timestamp=timestamp)
    return wire.request_headers(
        signature=signature,
        event_id=event.public_id,
        event_type=event.type,
        mode=event.mode,
        delivery_id=delivery.public_id,
        number=number,
    )


def _excerpt(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; the excerpt is for people, so replace it.
    return body[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


# Response headers that say nothing the attempt row does not already (its finish time, the excerpt)
# or that only concern the connection: not kept, they were most of a lean row's bytes.
_UNKEPT_RESPONSE_HEADERS = frozenset({"date", "content-length", "connection", "keep-alive", "transfer-encoding"})


def _kept_response_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = [(name, value) for name, value in headers.items() if name not in _UNKEPT_RESPONSE_HEADERS]
    return {name: value[:500] for name, value in kept[:50]}


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
    # endpoint pk -> (last finish time, status, slow_since after it)
    latest: dict[int, tuple[datetime, int, datetime | None]] = {}
    for claim, outcome, response, duration_ms in sent:
        at = now + timedelta(milliseconds=duration_ms)
        result = _record_result(claim.attempt, outcome=outcome, response=response, duration_ms=duration_ms, now=at)
        attempts.append([*(result[name] for name in _RESULT_FIELDS), claim.attempt.pk])
        code = response.status if response else 200
        # Each row only if it is still this claim's (see _finish).
        deliveries.append([at, code, claim.delivery.pk, claim.token, Delivery.Status.PENDING])
        endpoint = claim.delivery.endpoint
        if endpoint.pk not in latest or at >= latest[endpoint.pk][0]:
            slow_since = (endpoint.slow_since or at) if _is_slow(outcome, duration_ms) else None
            latest[endpoint.pk] = (at, code, slow_since)
    update_rows(Attempt, set_fields=_RESULT_FIELDS, where_fields=["id"], rows=attempts)
    update_rows(
        Delivery,
        set_fields=["completed_at", "last_status", "status", "status_reason", "next_attempt_at", "claimed_until"],
        where_fields=["id", "claim_token", "status"],
        rows=(
            [at, code, Delivery.Status.SUCCEEDED, "", None, None, pk, token, pending]
            for at, code, pk, token, pending in deliveries
        ),
    )
    endpoints = {claim.delivery.endpoint_id: claim.delivery.endpoint for claim, *_ in sent}
    update_rows(
        Endpoint,
        set_fields=["last_attempt_at", "last_status", "last_error", "last_success_at", "failing_since", "slow_since"],
        where_fields=["id"],
        # In id order, so concurrent turns lock the rows in the same order (no deadlock); and only
        # rows whose health changed, or was last written over a second ago: a busy endpoint's row is
        # the one every turn of its organisation would otherwise queue on.
        rows=(
            [at, code, "", at, None, slow_since, pk]
            for pk, (at, code, slow_since) in sorted(latest.items())
            if _health_changed(endpoints[pk], at=at, code=code, slow_since=slow_since)
        ),
    )


def _health_changed(endpoint: Endpoint, *, at: datetime, code: int, slow_since: datetime | None) -> bool:
    """Whether a success at ``at`` changes what the endpoint row (as read at the claim) says."""
    return (
        endpoint.last_success_at is None
        or at - endpoint.last_success_at >= HEALTH_RESOLUTION
        or endpoint.last_status != code
        or endpoint.failing_since is not None
        or endpoint.last_error != ""
        or (endpoint.slow_since is None) != (slow_since is None)
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
        # Guarded by the claim's token: if the lease ran out and another worker took over, this
        # late result is kept in the log but does not move the delivery.
        mine = Delivery.objects.filter(pk=delivery.pk, claim_token=claim.token, status=Delivery.Status.PENDING)
        endpoint_row = Endpoint.objects.filter(pk=delivery.endpoint_id)
        slow = _is_slow(outcome, duration_ms)
        endpoint_row.update(
            last_attempt_at=now,
            last_status=status,
            last_error=outcome.message[:500],
            failing_since=Coalesce(F("failing_since"), Value(now)),
            slow_since=Coalesce(F("slow_since"), Value(now)) if slow else None,
        )
        endpoint = endpoint_row.select_for_update(no_key=True).first()
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
            queued_at=due,
            status_reason=f"Attempt {number} failed: {outcome.message}"[:500],
        )
        if moved and short:
            organization_id, lane = delivery.organization_id, SLOW if slow else FAST
            transaction.on_commit(
                lambda: enqueue_turn(organization_id=organization_id, lane=lane, countdown=delay.total_seconds())
            )


# ---------------------------------------------------------------------------------------------
# Holds, sweep and retention


def release_held_when_funded(sender: Any, *, organization_id: int, **kwargs: Any) -> None:
    """Receiver of `billing.signals.wallet_funded` (connected in webhooks/apps.py): billing says when, webhooks releases."""
    deliveries_release_held(organization=Organization.objects.get(pk=organization_id))


def deliveries_release_held(*, organization: Organization, now: datetime | None = None) -> int:
    """Send an organisation's held deliveries, in event order, as far as its wallet pays for them.

    Billing calls this when funds arrive; the sweep calls it too in case that call was missed, and
    again after a partial top-up's releases were charged. Reads the wallet fresh (not the cached gate
    state) and does nothing while it is still empty. A partial top-up releases the oldest deliveries
    its balance (and the month's free attempts left) covers, less the live deliveries already pending
    (each will be charged an attempt); the rest stays held, so a release never takes the wallet below zero.
    Released rows are due at their event's time, so each endpoint's claim (oldest due first) sends
    them in event order, before any event that came later.
    """
    if not load_access_state(organization.pk).has_credits:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        # The organisation's held rows locked, oldest event first: concurrent releases queue up here
        # and each sees what the previous one released as pending.
        held = list(
            Delivery.objects.select_for_update(of=("self",))
            .filter(organization=organization, status=Delivery.Status.HELD)
            .order_by("event__created_at", "id")
            .values_list("pk", flat=True)
        )
        if not held:
            return 0
        # Pending first, then the balance: an attempt recorded between the two reads (its charge and its
        # delivery's status commit together) is then counted as pending and already paid, which releases one
        # fewer for now (the sweep releases it next time), never one more than the wallet pays for.
        pending_live = Delivery.objects.filter(
            organization=organization, status=Delivery.Status.PENDING, event__mode="live"
        ).count()
        budget = affordable_units(organization_id=organization.pk, metric="webhook_attempts", at=now)
        if budget is not None:
            held = held[: max(0, budget - pending_live)]
        if not held:
            return 0
        # held_since stays until the delivery is attempted: re-held at once, its 30 days keep counting.
        Delivery.objects.filter(pk__in=held, status=Delivery.Status.HELD).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=Subquery(Event.objects.filter(pk=OuterRef("event_id")).values("created_at")[:1]),
            queued_at=now,
            status_reason="",
        )
        organization_id = organization.pk
        transaction.on_commit(lambda: _wake_lanes(organization_id, now=now))
    logger.info("released %d held webhook deliveries of organization %s", len(held), organization.public_id)
    return len(held)


def _wake_lanes(organization_id: int, *, now: datetime) -> None:
    for lane in (FAST, SLOW):
        if _lane_due(organization_id, lane=lane, now=now):
            enqueue_turn(organization_id=organization_id, lane=lane)


@dataclass(frozen=True)
class SweepResult:
    woken: int  # organisation turns sent (one per organisation and lane with due work)
    lost_attempts: int
    expired: int
    released: int


def deliveries_sweep(*, now: datetime | None = None) -> SweepResult:
    """Free the leases of dead workers, wake every organisation with due work, expire and release holds.

    Runs every few seconds (beat). Its queries read only the pending and the claimed rows (partial
    indexes), so a table of millions of finished deliveries costs it nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # A lease that ran out belongs to a worker that died (or stalled) mid-attempt: close its
        # attempt and free the row; if that worker does answer late, its claim token no longer matches.
        lost = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimed_until__lte=now)
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        lost_attempts = _close_lost_attempts(lost, now=now) if lost else 0
        if lost:
            Delivery.objects.filter(pk__in=lost, claimed_until__lte=now).update(claimed_until=None)

    # Every organisation and lane with work due for a moment and unclaimed gets a turn, unless one waits.
    lanes = (
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE, claimed_until__isnull=True
        )
        .annotate(slow=ExpressionWrapper(Q(endpoint__slow_since__isnull=False), output_field=BooleanField()))
        .values_list("organization_id", "slow")
        .order_by()  # not the model's ordering: DISTINCT would be per row
        .distinct()
    )
    woken = sum(
        enqueue_turn(organization_id=organization_id, lane=SLOW if slow else FAST) for organization_id, slow in lanes
    )

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
    if lost or woken or expired or released:
        logger.info(
            "webhook sweep: %d leases freed (%d lost attempts), %d turns woken, %d expired, %d released",
            len(lost),
            lost_attempts,
            woken,
            expired,
            released,
        )
    return SweepResult(woken=woken, lost_attempts=lost_attempts, expired=expired, released=released)


def deliveries_prune(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) and orphaned events older than the retention.

    On PostgreSQL whole weeks go first (webhooks/retention.py), so what is left to delete here is only
    what those weeks kept back and the default partition: a prune costs the same at any volume. Row
    deletes go in batches, each its own short transaction, so a large backlog never holds long locks.
    Returns the number of deliveries deleted row by row (dropped weeks are logged, not counted).
    """
    now = now or timezone.now()
    cutoff = now - RETENTION
    if partitions.is_partitioned(Delivery._meta.db_table):
        cutoff = webhook_partitions_maintain(now=now, cutoff=cutoff)
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
