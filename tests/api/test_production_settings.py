"""Production readiness: safe defaults, `check --deploy` clean, and no secrets in logs."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from developer.logging import RedactSecretsFilter, redact

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "x7Yq2Lr9Vb3Nc8Mw4Ze6Kt1Hs5Jd0Pf-Ga7Ub2Ri9Oe3Wl8Xn4Qm6Cy1Tv5Sk0Dh",
    "FIELD_ENCRYPTION_KEY": "Cz1fLdyCpMyF0c0wqJZ3v8Qm7kR2sYtU4hN6jB9eXaI=",
    "ALLOWED_HOSTS": "api.aiphone360.com",
    "DATABASE_URL": "sqlite:///" + str(ROOT / "var" / "deploy-check.sqlite3"),
}


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "FIELD_ENCRYPTION_OLD_KEYS",
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "ALLOWED_HOSTS",
            "STATICFILES_BACKEND",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }  # set by the browser tests in this process
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # a fresh Django process
def test_check_deploy_is_clean_under_the_production_environment() -> None:
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_field_encryption_key_is_required_when_debug_is_off() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set when DEBUG is off" in result.stderr


def test_field_encryption_key_falls_back_to_secret_key_only_with_debug_on() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = _manage(
        [
            "shell",
            "-v0",
            "-c",
            "from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEY == settings.SECRET_KEY)",
        ],
        {**env, "DEBUG": "true"},
    )
    assert result.stdout.split() == ["True"], result.stderr


def test_debug_is_off_unless_asked_for() -> None:
    result = _manage(
        [
            "shell",
            "-v0",
            "-c",
            "from django.conf import settings; print(settings.DEBUG, "
            "settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)",
        ],
        PRODUCTION_ENV,
    )
    assert result.stdout.split() == ["False", "True", "True", "31536000"], result.stderr


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer aip_live_0123456789abcdefghijABCDEFGHIJ0123456789abc",
        "headers={'x-api-key': 'aip_test_0123456789abcdefghijABCDEFGHIJ0123456789abc'}",
        "secret whsec_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg rotated",
        "tool auth: Basic dXNlcjpwYXNzd29yZDEyMw==",
    ],
)
def test_logs_never_contain_keys_secrets_or_authorization(line: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("seen %s", line)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "REDACTED" in written
    for secret in ("0123456789abcdefghij", "Zm9vYmFy", "dXNlcjpw"):
        assert secret not in written


def test_configured_console_handler_redacts() -> None:
    console = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    assert console is not None
    assert "aip_live_[REDACTED]" in redact("key=aip_live_" + "a" * 43)
