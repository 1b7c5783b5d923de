"""The receivers' guide's own Python and Node verifiers, run against real deliveries to a local receiver."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Organization
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Delivery
from webhooks.services import endpoint_create, endpoint_rotate_secret

from .receiver import Received, Receiver

pytestmark = pytest.mark.django_db
GUIDE = Path(__file__).resolve().parents[2] / "README.md"  # the receivers' guide lives in the README


def code_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.S)
    return next(block for block in blocks if containing in block)


def python_verifier() -> Any:
    namespace: dict[str, Any] = {}
    exec(code_block("python", "def verify_aip_signature"), namespace)  # noqa: S102 — our own documentation
    return namespace["verify_aip_signature"]


def deliver_one(org: Organization, receiver: Receiver) -> Received:
    delivery = Delivery.objects.get(
        event=emit(organization=org, type="contact.updated", data={"name": "Zoë", "note": "naïve café ✓"}, mode="live")
    )
    delivery_attempt(delivery_id=delivery.pk)
    return receiver.requests[-1]


def test_the_python_verifier_in_the_guide_accepts_real_deliveries_and_rejects_tampering(
    org: Organization, receiver: Receiver
) -> None:
    verify = python_verifier()
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    request = deliver_one(org, receiver)
    header = request.headers["x-aip-signature"]

    assert verify(request.body, header, secret) is True
    assert verify(request.body + b" ", header, secret) is False
    assert verify(request.body, header, "whsec_wrong") is False
    assert verify(request.body, "", secret) is False
    stale = re.sub(r"t=\d+", f"t={int(time.time()) - 301}", header)
    assert verify(request.body, stale, secret) is False

    _, new_secret = endpoint_rotate_secret(endpoint=endpoint, overlap="24h", actor=None)
    rotated = deliver_one(org, receiver)
    assert rotated.headers["x-aip-signature"].count("v1=") == 2
    assert verify(rotated.body, rotated.headers["x-aip-signature"], secret) is True
    assert verify(rotated.body, rotated.headers["x-aip-signature"], new_secret) is True


def test_the_node_verifier_in_the_guide_accepts_real_deliveries_and_rejects_tampering(
    org: Organization, receiver: Receiver, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; the Node verifier needs it.")
    _, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    request = deliver_one(org, receiver)
    header = request.headers["x-aip-signature"]
    stale = re.sub(r"t=\d+", f"t={int(time.time()) - 301}", header)
    cases = [
        (request.body.hex(), header, secret),
        ((request.body + b" ").hex(), header, secret),
        (request.body.hex(), header, "whsec_wrong"),
        (request.body.hex(), stale, secret),
    ]
    script = tmp_path / "verify.js"
    script.write_text(
        code_block("js", "function verifyAipSignature")
        + """
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map(([body, header, secret]) =>
  verifyAipSignature(Buffer.from(body, "hex"), header, secret))));
"""
    )

    result = subprocess.run(
        [node, str(script)], input=json.dumps(cases), capture_output=True, text=True, timeout=30, check=True
    )

    assert json.loads(result.stdout) == [True, False, False, False]
