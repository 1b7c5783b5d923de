"""The TypeScript SDK as it is published: `npm pack`'s tarball, used from ESM, CommonJS and a
TypeScript project, the ESM build in a runtime without Node's modules, and the event types
generated from the OpenAPI document (regenerated here from the live document: drift fails)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from .conftest import TS_DIR, typescript_build_lock

pytestmark = pytest.mark.slow  # npm and node processes: seconds each

NPM_ENV = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false"}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("openapi_to_ts", TS_DIR / "scripts" / "openapi_to_ts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_types_are_those_of_the_live_openapi_document() -> None:
    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    expected = _generator().generate(document)
    committed = (TS_DIR / "src" / "generated" / "openapi.ts").read_text()
    assert committed == expected, (
        "src/generated/openapi.ts is out of date: regenerate it from /api/public/v1/openapi.json with "
        "`python scripts/openapi_to_ts.py openapi.json > src/generated/openapi.ts` and fix what tsc then reports"
    )
    # One union member per webhook the document describes.
    for event_type in document["webhooks"]:
        assert f'type: "{event_type}";' in committed


@pytest.fixture(scope="module")
def packed(typescript_sdk: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], dict[str, Any]]:
    out = tmp_path_factory.mktemp("npm-pack")
    with typescript_build_lock():  # prepack rebuilds dist/esm and dist/cjs
        result = subprocess.run(
            ["npm", "pack", "--json", "--pack-destination", str(out)],
            cwd=typescript_sdk,
            capture_output=True,
            text=True,
            env=NPM_ENV,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("[") :])[0]
    tarball = out / report["filename"]
    with tarfile.open(tarball) as archive:
        names = sorted(member.name.removeprefix("package/") for member in archive.getmembers() if member.isfile())
    return tarball, names, report


def test_npm_pack_ships_both_builds_their_types_and_the_docs_and_nothing_else(
    packed: tuple[Path, list[str], dict[str, Any]],
) -> None:
    _, names, report = packed
    package = json.loads((TS_DIR / "package.json").read_text())
    assert report["version"] == package["version"]
    for required in (
        "package.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "dist/esm/index.js",
        "dist/esm/index.d.ts",
        "dist/esm/package.json",
        "dist/esm/webhooks.js",
        "dist/esm/generated/openapi.d.ts",
        "dist/cjs/index.js",
        "dist/cjs/index.d.ts",
        "dist/cjs/package.json",
        "dist/cli/cli.js",  # the `listen` command, the package's bin
    ):
        assert required in names, required
    assert not [
        n for n in names if n.startswith(("src/", "test/", "dist/test", "dist/src", "node_modules/", "scripts/"))
    ]
    assert all(n.startswith("dist/") or n in {"package.json", "README.md", "LICENSE", "CHANGELOG.md"} for n in names)


def _install(tarball: Path, project: Path) -> None:
    """What `npm install <tarball>` lays out, without the network: the package under node_modules."""
    target = project / "node_modules" / "@aiphone360" / "sdk"
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile():
                member.name = member.name.removeprefix("package/")
                archive.extract(member, target, filter="data")


def test_the_tarball_works_from_esm_commonjs_and_typescript(
    packed: tuple[Path, list[str], dict[str, Any]], tmp_path: Path
) -> None:
    tarball, _, report = packed
    _install(tarball, tmp_path)
    check = (
        "const ok = sdk.VERSION === {version!r} && typeof sdk.AiPhone360 === 'function' && "
        "typeof sdk.verifyWebhookAsync === 'function' && new sdk.RateLimitError({{message: 'x', code: 'RATE_LIMIT_EXCEEDED', "
        "status: 429}}) instanceof sdk.AiPhone360Error; console.log(ok ? 'ok' : 'broken', sdk.VERSION);"
    ).format(version=report["version"])
    esm = subprocess.run(
        ["node", "--input-type=module", "-e", f"import * as sdk from '@aiphone360/sdk'; {check}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert esm.stdout.startswith("ok"), esm.stdout + esm.stderr
    cjs = subprocess.run(
        ["node", "-e", f"const sdk = require('@aiphone360/sdk'); {check}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cjs.stdout.startswith("ok"), cjs.stdout + cjs.stderr
    # ESM and CommonJS resolve to their own builds through the export conditions.
    resolved = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            "import { createRequire } from 'node:module'; const r = createRequire(process.cwd() + '/x.js'); "
            "console.log(import.meta.resolve('@aiphone360/sdk')); console.log(r.resolve('@aiphone360/sdk'));",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    esm_path, cjs_path = resolved.stdout.split()
    assert esm_path.endswith("/dist/esm/index.js") and cjs_path.endswith("/dist/cjs/index.js"), resolved.stdout

    # A TypeScript project consuming the package's types: the event union narrows, and a typo fails.
    (tmp_path / "app.ts").write_text(
        "import { AiPhone360, type WebhookEvent } from '@aiphone360/sdk';\n"
        "export function handle(event: WebhookEvent): string {\n"
        "  if (event.type === 'contact.created') return event.data.phoneNumber;\n"
        "  return event.type;\n"
        "}\n"
        "export async function send(client: AiPhone360): Promise<string | null> {\n"
        "  const message = await client.sms.send({ to: '+15555550123', body: 'hi' });\n"
        "  return message.requestId;\n"
        "}\n"
    )
    (tmp_path / "bad.ts").write_text(
        "import { AiPhone360 } from '@aiphone360/sdk';\n"
        "export async function make(client: AiPhone360) {\n"
        "  await client.agents.create({ agentKey: 'sales', displayName: 'Sales' });\n"
        "}\n"
    )
    tsc = str(TS_DIR / "node_modules" / "typescript" / "bin" / "tsc")
    for resolution, module in (("NodeNext", "NodeNext"), ("Bundler", "ES2022")):
        base = ["node", tsc, "--strict", "--noEmit", "--skipLibCheck", "false", "--lib", "ES2022,DOM"]
        base += ["--module", module, "--moduleResolution", resolution]
        good = subprocess.run([*base, "app.ts"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert good.returncode == 0, (resolution, good.stdout + good.stderr)
        bad = subprocess.run([*base, "bad.ts"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0 and "instructions" in bad.stdout, (resolution, bad.stdout)


def test_the_esm_build_runs_without_node_modules(typescript_sdk: Path) -> None:
    """Deno, Bun and edge runtimes: test/edge-runtime.test.mjs loads dist/esm into a V8 context with
    only web globals and a linker that refuses `node:` imports, then verifies and calls the API."""
    with typescript_build_lock():
        subprocess.run(["node", "scripts/build.mjs"], cwd=typescript_sdk, check=True, timeout=300)
        result = subprocess.run(
            ["node", "--experimental-vm-modules", "test/edge-runtime.test.mjs"],
            cwd=typescript_sdk,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert re.search(r"^# pass 3$", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^# fail 0$", result.stdout, flags=re.MULTILINE)
