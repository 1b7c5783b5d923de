"""Cost and exactness of request logging (developer/public_api/request_log.py).

1. Request-path cost: microseconds to build and buffer one entry (memory deque and Redis list),
   measured in-process.
2. Flush throughput: entries per second moved from the Redis list into PostgreSQL (one COPY per batch).
3. Overhead: wrk throughput of GET /api/public/v1/keys?limit=1 under gunicorn (2 workers) with
   logging on and REQUEST_LOG_ENABLED=false, alternated over several rounds.
4. Exactness end to end, for the Redis buffer and the per-process memory buffer: exactly N
   requests from several client processes; after the flushers catch up the table must hold exactly
   N rows for that key — none lost, none twice.

    python bench/request_log.py [--seconds 10] [--rounds 2] [--requests 20000]

Needs PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL override) and `wrk`.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_env, gunicorn, manage, prepare_database, provision, wrk

PATH = "/api/public/v1/keys?limit=1"


def _send(port: int, secret: str, count: int) -> int:
    ok = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        connection.request("GET", PATH, headers={"Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        response.read()
        ok += response.status == 200
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return ok


def _rows_for(env: dict[str, str], key_id: str) -> tuple[int, int]:
    out = manage(
        env,
        "shell",
        "-v0",
        "-c",
        "from developer.models import RequestLog as R; "
        f"q = R.objects.filter(api_key__public_id='{key_id}'); "
        "print(q.count(), q.values('request_id').distinct().count())",
    )
    total, distinct = out.split()
    return int(total), int(distinct)


def _key_id(env: dict[str, str], org_id: str) -> str:
    return manage(
        env,
        "shell",
        "-v0",
        "-c",
        f"from developer.models import ApiKey; print(ApiKey.objects.filter(organization__public_id='{org_id}')"
        ".latest('created_at').public_id)",
    ).strip()


def end_to_end(label: str, env: dict[str, str], *, seconds: int, requests: int, port: int) -> None:
    org, secret = provision(env)
    key_id = _key_id(env, org["id"])
    with gunicorn(env, workers=2, port=port) as base:
        load = wrk(base + PATH, headers={"Authorization": f"Bearer {secret}"}, seconds=seconds)
        # Exactly `requests` more, from 4 client processes, after wrk's rows have been flushed
        # (wrk's own count misses requests still in flight when it stops, so it cannot be the reference).
        deadline = time.time() + 60
        settled = -1
        while time.time() < deadline:
            total, _ = _rows_for(env, key_id)
            if total == settled:
                break
            settled = total
            time.sleep(3)
        before = settled
        per_client = requests // 4
        with ProcessPoolExecutor(4) as pool:
            ok = sum(pool.map(_send, [port] * 4, [secret] * 4, [per_client] * 4))
        started = time.time()
        total = distinct = 0
        while time.time() - started < 60:
            total, distinct = _rows_for(env, key_id)
            if total - before >= ok:
                break
            time.sleep(0.5)
        lag = time.time() - started
    logged = total - before
    print(
        f"[{label}] wrk {load['rps']:.0f} req/s (p50 {load['p50_ms']:.2f} ms, non-2xx {load['non2xx']}); "
        f"exact run: {ok} requests answered 200, {logged} rows logged, {total - distinct} duplicate ids, "
        f"all rows visible {lag:.1f} s after the last response"
    )
    if logged != ok or total != distinct:
        print(f"[{label}] MISMATCH: lost {ok - logged}, duplicated {total - distinct}")


def overhead(env: dict[str, str], *, seconds: int, rounds: int) -> None:
    _org, secret = provision(env)
    results: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for label, enabled in (("on", "true"), ("off", "false")):
            with gunicorn({**env, "REQUEST_LOG_ENABLED": enabled}, workers=2, port=8773) as base:
                results[label].append(
                    wrk(base + PATH, headers={"Authorization": f"Bearer {secret}"}, seconds=seconds)["rps"]
                )
    on, off = max(results["on"]), max(results["off"])
    print(
        f"[overhead] best of {rounds}: logging on {on:.0f} req/s, off {off:.0f} req/s, on/off = {on / off:.2f} "
        f"(rounds on {[round(r) for r in results['on']]}, off {[round(r) for r in results['off']]})"
    )


def micro(env: dict[str, str]) -> None:
    code = r"""
import time, uuid, statistics
from django.conf import settings
from django.test import RequestFactory
from django.http import JsonResponse
from django.utils import timezone
from developer.public_api import request_log
from developer.public_api.request_log import MemoryBuffer, RedisBuffer, entry_for, insert_entries

factory = RequestFactory()
def one_request():
    req = factory.get('/api/public/v1/calls?limit=5&api_key=aip_live_' + 'A' * 43,
                      HTTP_AUTHORIZATION='Bearer aip_live_' + 'B' * 43, HTTP_USER_AGENT='bench')
    req.request_id = 'req_' + uuid.uuid4().hex[:24]  # as the API makes them
    return req
resp = JsonResponse({'success': False}, status=401); resp.error_code = 'INVALID_API_KEY'
reqs = [one_request() for _ in range(20000)]
for label, buf in (('memory', MemoryBuffer(10**6)), ('redis', RedisBuffer(settings.REDIS_URL, 'bench:reqlog', 10**6))):
    buf.clear() if hasattr(buf, 'clear') else None
    t = time.perf_counter()
    for r in reqs:
        buf.push(entry_for(r, resp, started_at=timezone.now(), latency_ms=1.0))
    per = (time.perf_counter() - t) / len(reqs) * 1e6
    print(f'[request path] build + buffer one entry ({label}): {per:.1f} us')
    if label == 'redis':
        t = time.perf_counter()
        n = buf.flush(insert_entries, 500)
        dt = time.perf_counter() - t
        print(f'[flush] {n} entries Redis -> PostgreSQL in {dt:.2f} s = {n / dt:.0f} entries/s (batches of 500)')
    buf.clear()
from developer.models import RequestLog
RequestLog.objects.filter(agent__text='bench').delete()
"""
    print(manage(env, "shell", "-v0", "-c", code), end="")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()

    env = bench_env(REQUEST_LOG_FLUSH_SECONDS="1")
    prepare_database(env)
    micro(env)
    overhead(env, seconds=args.seconds, rounds=args.rounds)
    end_to_end("redis buffer", env, seconds=args.seconds, requests=args.requests, port=8771)
    # The memory buffer: no Redis anywhere (cache in-process too), each gunicorn worker flushes its own.
    memory_env = {**env, "REDIS_URL": "", "CACHE_URL": "locmemcache://", "CELERY_BROKER_URL": "memory://"}
    end_to_end("memory buffer", memory_env, seconds=args.seconds, requests=args.requests, port=8772)


if __name__ == "__main__":
    main()
