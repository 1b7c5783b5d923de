"""The TypeScript SDK's own test suite (Node's built-in runner) against the real server.

Runs sdks/typescript/test/api.test.ts — the spec's quickstart verbatim, pagination over several
pages, a 429 retried after Retry-After, errors with code and requestId, an SMS send retried with the
same Idempotency-Key, webhooks delivered by the platform and verified — as `node --test` in a
subprocess, pointed at this test's live server with AIP_BASE_URL and AIP_KEY.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from core.modes import Mode
from phone.models import Contact, Message

from .conftest import Server

pytestmark = pytest.mark.slow  # a Node process running a whole suite against the live server


def _tap_totals(output: str) -> dict[str, int]:
    return {
        name: int(value)
        for name, value in re.findall(r"^# (tests|pass|fail|skipped|cancelled) (\d+)$", output, flags=re.MULTILINE)
    }


def test_typescript_sdk_suite_passes_against_the_live_server(server: Server, typescript_sdk: Path) -> None:
    env = {**os.environ, "AIP_BASE_URL": server.url, "AIP_KEY": server.key}
    result = subprocess.run(
        ["node", "--test", "dist/test/api.test.js"],
        cwd=typescript_sdk,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    totals = _tap_totals(output)
    failed = [line.strip() for line in output.splitlines() if line.lstrip().startswith("not ok")]
    assert result.returncode == 0 and totals.get("fail") == 0, "\n".join(failed) + "\n\n" + output[-20000:]

    # Nothing may skip here: the organisation is fresh and every route exists.
    skipped = [line.strip() for line in output.splitlines() if "# SKIP" in line]
    assert totals.get("skipped") == 0, "\n".join(skipped)
    assert totals.get("tests", 0) >= 18 and totals["pass"] == totals["tests"] - totals["skipped"], output[-5000:]

    # What the quickstart did is in the database: a test-mode text and the contact.
    assert (
        Message.objects.filter(
            organization=server.org, to_number="+15555550123", body="Hi from our app", mode=Mode.TEST
        ).count()
        == 1
    )
    assert Contact.objects.filter(organization=server.org, phone_number="+15555550123", name="Jordan").exists()
