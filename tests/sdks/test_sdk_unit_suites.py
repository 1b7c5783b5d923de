"""Each SDK's offline unit suite (webhook vectors, backoff, retry loop on a scripted transport).

They run as their own processes, as a package's CI would: the Python SDK's with its own pytest
configuration (no Django), the TypeScript SDK's with Node's test runner.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # each suite is its own process: seconds to start


def test_python_sdk_unit_suite_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT / "sdks" / "python",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-5000:]
    assert re.search(r"^\d+ passed", result.stdout.splitlines()[-1]), result.stdout[-2000:]


def test_typescript_sdk_unit_suite_passes(typescript_sdk: Path) -> None:
    result = subprocess.run(
        # unit: webhooks, backoff, retries; features: errors, responses, logging, withOptions, telemetry,
        # HMAC and Web Crypto; openapi-types: the types checked against the document (when it compiled).
        ["node", "--test", "dist/test/unit.test.js", "dist/test/features.test.js", "dist/test/openapi-types.test.js"],
        cwd=typescript_sdk,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-5000:]
    assert re.search(r"^# fail 0$", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^# skipped 0$", result.stdout, flags=re.MULTILINE)
    passed = re.search(r"^# pass (\d+)$", result.stdout, flags=re.MULTILINE)
    assert passed and int(passed.group(1)) >= 45, result.stdout[-3000:]
