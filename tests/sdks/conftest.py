"""Both official SDKs against the real server: pytest-django's `live_server` on a fresh organisation.

The organisation has test-mode calls (from the simulator), an SMS-capable number and quiet hours turned off,
so the spec's quickstart (which sends a text) passes at any hour. The Python SDK is imported from
sdks/python/src; the TypeScript SDK is built with tsc from sdks/typescript before its tests run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Organization
from demo.simulator import simulate_traffic
from phone.services import ai_config_update
from tests.conftest import ensure_plans, make_key, make_org

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = ROOT / "sdks" / "typescript"
PY_SRC = ROOT / "sdks" / "python" / "src"
if str(PY_SRC) not in sys.path:
    sys.path.insert(0, str(PY_SRC))

# The live server answers in a thread of this process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SEEDED_CALLS = 5


@dataclass
class Server:
    url: str  # the API base URL, e.g. http://localhost:41234/api/public/v1
    org: Organization
    key: str  # a full-scope aip_test_ key of `org`


def sdk_org(name: str = "SDK Test Dental", *, plan: str = "PRO") -> Organization:
    org = make_org(name, plan=plan)
    # Quiet hours off (start == end): the quickstart's text must not depend on the time of day.
    ai_config_update(organization=org, sms_quiet_hours={"start": "00:00", "end": "00:00"}, actor=None)
    # Test-mode calls, which the server's test key reads (the test config is copied from the live one above).
    simulate_traffic(organization=org, calls=SEEDED_CALLS, rng=random.Random(8), mode="test")  # adds an SMS number
    return org


@pytest.fixture(autouse=True)
def _seeded_rows(request: pytest.FixtureRequest) -> None:
    """A live-server test truncates every table afterwards, the plans seeded by migrations included."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")

    ensure_plans()


@pytest.fixture
def server(live_server: Any) -> Server:
    org = sdk_org()
    return Server(url=f"{live_server.url}/api/public/v1", org=org, key=make_key(org, mode="test"))


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


@contextmanager
def typescript_build_lock() -> Iterator[None]:
    """One xdist worker at a time builds or packs the SDK: `scripts/build.mjs` (also npm's prepack)
    empties dist/esm and dist/cjs before compiling, so a reader in another worker could find nothing."""
    digest = hashlib.sha256(str(TS_DIR).encode()).hexdigest()[:16]  # str hashes differ between processes
    with open(Path(tempfile.gettempdir()) / f"aiphone360-ts-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def typescript_sdk() -> Path:
    """The TypeScript SDK compiled to dist/ (installing its dev dependencies from npm when missing),
    once per test run whatever the number of workers: dist/src and dist/test are never rewritten
    while another worker reads them."""
    if not node_available():
        pytest.skip("Node.js and npm are needed for the TypeScript SDK tests (apt-get install nodejs npm)")
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"
    marker = TS_DIR / "dist" / ".built-for-run"
    with typescript_build_lock():
        if not marker.exists() or marker.read_text() != run:
            if not (TS_DIR / "node_modules" / "typescript").exists():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TS_DIR, check=True, timeout=300)
            subprocess.run(["npx", "--no-install", "tsc", "-p", "."], cwd=TS_DIR, check=True, timeout=300)
            marker.write_text(run)
    return TS_DIR
