"""`aiphone360 listen` (Python) and `npx @aiphone360/sdk listen` (TypeScript) against the real server.

Each CLI runs as its own process, follows the event log of a live server and forwards new events to a
real local HTTP receiver, which checks the signature with the secret the CLI printed at start.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from core.signing import verify
from phone.services import contact_create
from tests.conftest import make_key
from tests.webhooks.receiver import Receiver, Reply
from webhooks.models import Event

from .conftest import PY_SRC, TS_DIR, Server, typescript_build_lock

pytestmark = pytest.mark.slow

SECRET_LINE = re.compile(r"Ready! Your webhook signing secret is (whsec_[A-Za-z0-9_-]+)")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    local = Receiver()
    yield local
    local.close()


def python_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "aiphone360", "listen", *args]


def typescript_cli(*args: str) -> list[str]:
    return ["node", str(TS_DIR / "dist" / "cli" / "cli.js"), "listen", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIP_")}
    env["PYTHONPATH"] = str(PY_SRC)
    return env


def _read_secret(stdout: IO[str]) -> str:
    for _ in range(10):
        line = stdout.readline()
        if match := SECRET_LINE.search(line):
            return match.group(1)
    raise AssertionError("the CLI printed no signing secret")


def _listen_and_check(command: list[str], server: Server, receiver: Receiver) -> None:
    receiver.reply(Reply(status=204), Reply(status=500))
    seeded = set(Event.objects.filter(organization=server.org).values_list("public_id", flat=True))
    process = subprocess.Popen(
        [
            *command,
            "--forward-to",
            receiver.url,
            "--api-key",
            server.key,
            "--base-url",
            server.url,
            "--max-events",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        secret = _read_secret(process.stdout)
        assert process.stdout.readline().startswith(f"Forwarding test events to {receiver.url}")
        # Two events after the CLI started (test mode, as the key); a live one it must not see.
        contact_create(organization=server.org, phone_number="+14155550101", name="Ana", mode="test")
        contact_create(organization=server.org, phone_number="+14155550102", name="Ben", mode="live")
        contact_create(organization=server.org, phone_number="+14155550103", name="Cy", mode="test")
        arrived = receiver.wait_for_requests(2, timeout=30)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err

    expected = list(
        Event.objects.filter(organization=server.org, mode="test")
        .exclude(public_id__in=seeded)
        .order_by("created_at", "public_id")
    )
    assert [e.type for e in expected] == ["contact.created", "contact.created"]
    assert len(arrived) == 2
    for request, event in zip(arrived, expected, strict=True):
        headers = request.headers
        verify(header=headers["x-aip-signature"], body=request.body, secret=secret)  # raises if it does not match
        assert json.loads(request.body) == json.loads(event.body)  # the event exactly as a delivery sends it
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"] == "AIPhone360-Webhooks/1.0"
        assert headers["x-aip-event-id"] == event.public_id
        assert headers["x-aip-event-type"] == "contact.created"
        assert headers["x-aip-mode"] == "test" and headers["x-aip-attempt"] == "1"
        assert headers["x-aip-delivery-id"].startswith("del_")
    lines = [line for line in out.splitlines() if "-->" in line]
    assert len(lines) == 2
    assert f"contact.created [{expected[0].public_id}]" in lines[0] and "[204]" in lines[0]
    assert f"contact.created [{expected[1].public_id}]" in lines[1] and "[500]" in lines[1]


def _refuses_a_live_key(command: list[str], server: Server) -> None:
    live = make_key(server.org, mode="live")
    refused = subprocess.run(
        [*command, "--forward-to", "http://127.0.0.1:9/x", "--api-key", live, "--base-url", server.url],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert refused.returncode == 2 and "--live" in refused.stderr and refused.stdout == ""


def test_python_listen_forwards_new_events_signed_like_deliveries(server: Server, receiver: Receiver) -> None:
    _listen_and_check(python_cli(), server, receiver)


def test_python_listen_refuses_a_live_key_without_live(server: Server) -> None:
    _refuses_a_live_key(python_cli(), server)


def test_typescript_listen_forwards_new_events_signed_like_deliveries(
    server: Server, receiver: Receiver, typescript_cli_build: Path
) -> None:
    _listen_and_check(typescript_cli(), server, receiver)


def test_typescript_listen_refuses_a_live_key_without_live(server: Server, typescript_cli_build: Path) -> None:
    _refuses_a_live_key(typescript_cli(), server)


@pytest.fixture
def typescript_cli_build(typescript_sdk: Path) -> Iterator[Path]:
    """The CLI compiled by the package's own build (scripts/build.mjs) into dist/cli, held for the
    test: another worker's build or `npm pack` would empty dist/ under it."""
    with typescript_build_lock():
        subprocess.run(["node", "scripts/build.mjs"], cwd=typescript_sdk, check=True, timeout=300)
        yield typescript_sdk


def test_npx_runs_listen_from_the_installed_package(typescript_cli_build: Path, tmp_path: Path) -> None:
    """`npx @aiphone360/sdk listen`: the packed tarball installed offline, its bin run by npx."""
    packed = subprocess.run(
        ["npm", "pack", "--pack-destination", str(tmp_path), "--silent"],
        cwd=typescript_cli_build,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "app", "version": "1.0.0", "private": true}')
    tarball = tmp_path / packed.stdout.strip().splitlines()[-1]
    subprocess.run(
        ["npm", "install", "--offline", "--no-audit", "--no-fund", str(tarball)],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**_env(), "AIP_API_KEY": "aip_live_" + "x" * 43}
    helped = subprocess.run(
        ["npx", "--no-install", "@aiphone360/sdk", "listen", "--help"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert helped.returncode == 0 and "--forward-to" in helped.stdout, helped.stderr
    refused = subprocess.run(
        ["npx", "--no-install", "@aiphone360/sdk", "listen", "--forward-to", "http://127.0.0.1:9/x"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2 and "--live" in refused.stderr
