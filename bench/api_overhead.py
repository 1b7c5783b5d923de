"""Framework overhead of the public API: GET /api/public/v1/keys?limit=1 against a bare Django view.

Both run in the same gunicorn (2 workers) on PostgreSQL + Redis; the bare view runs the same query
and serialisation without authentication, the gate, rate limiting or the envelope.

    python bench/api_overhead.py [--seconds 10]

Needs PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL override) and `wrk`. Target ratio ≥ 0.6.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_env, gunicorn, prepare_database, provision, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    args = parser.parse_args()

    env = bench_env()
    prepare_database(env)
    org, secret = provision(env)
    auth = {"Authorization": f"Bearer {secret}"}
    with gunicorn(env, workers=2, threads=args.threads) as base:
        api_url = f"{base}/api/public/v1/keys?limit=1"
        bare_url = f"{base}/bench/bare-keys?org={_org_pk(env, org['id'])}"
        wrk(api_url, headers=auth, seconds=2, connections=args.connections)  # warm caches and connections
        wrk(bare_url, seconds=2, connections=args.connections)
        # Alternating short rounds, so background load on the machine falls on both sides alike.
        api_runs, bare_runs = [], []
        for _ in range(args.rounds):
            api_runs.append(wrk(api_url, headers=auth, seconds=args.seconds, connections=args.connections))
            bare_runs.append(wrk(bare_url, seconds=args.seconds, connections=args.connections))
    api_rps = statistics.median(run["rps"] for run in api_runs)
    bare_rps = statistics.median(run["rps"] for run in bare_runs)
    ratios = [a["rps"] / b["rps"] for a, b in zip(api_runs, bare_runs, strict=True)]
    print(
        f"gunicorn: 2 workers x {args.threads} threads; {args.rounds} alternating rounds of {args.seconds} s, "
        f"{args.connections} connections"
    )
    print(
        f"public API  GET /keys?limit=1 : {api_rps:8.1f} req/s (median)  p50 "
        f"{statistics.median(r['p50_ms'] for r in api_runs):.2f} ms"
    )
    print(
        f"bare Django view, same query  : {bare_rps:8.1f} req/s (median)  p50 "
        f"{statistics.median(r['p50_ms'] for r in bare_runs):.2f} ms"
    )
    print(f"ratio per round               : {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"ratio (API / bare, medians)   : {api_rps / bare_rps:.2f}  (target ≥ 0.60)")
    if any(run["non2xx"] for run in api_runs):
        print("warning: the API runs had non-2xx responses — the figures are not comparable")


def _org_pk(env: dict[str, str], public_id: str) -> str:
    from bench._server import manage

    return manage(
        env,
        "shell",
        "-v0",
        "-c",
        f"from accounts.models import Organization; print(Organization.objects.get(public_id='{public_id}').pk)",
    ).strip()


if __name__ == "__main__":
    main()
