"""The `.env` `make run` writes (config/local_env.py) and the settings that read it: README commands work
without exporting DEBUG, a variable set in the environment still wins, and the tests never see a `.env`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.local_env import local_env_text, write_local_env

ROOT = Path(__file__).resolve().parents[2]
# What this test process (pytest-env) or a developer's shell may have set; each case sets its own.
CLEARED = {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "OUTBOUND_ALLOW_LOOPBACK", "DATABASE_URL", "ENV_FILE"}
CLEARED |= {"ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.OUTBOUND_ALLOW_LOOPBACK, s.DATABASES['default']['NAME'])"
)


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_written_file_turns_debug_on_with_sqlite_and_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    assert write_local_env(target, base_dir=tmp_path) is True
    assert target.read_text() == local_env_text(tmp_path)
    assert "DEBUG=true\n" in target.read_text()
    assert f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n" in target.read_text()
    target.write_text("DEBUG=true\n# edited by hand\n")
    assert write_local_env(target, base_dir=tmp_path) is False
    assert target.read_text() == "DEBUG=true\n# edited by hand\n"


@pytest.mark.slow  # fresh Django processes
def test_settings_read_the_env_file_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    write_local_env(env_file, base_dir=tmp_path)

    from_file = _python(PRINT_SETTINGS, {"ENV_FILE": str(env_file)})
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.split() == ["True", "True", str(tmp_path / "db.sqlite3")]

    # Set in the environment, a variable beats the file.
    explicit = {"ENV_FILE": str(env_file), "DEBUG": "false", "SECRET_KEY": "s" * 50, "FIELD_ENCRYPTION_KEY": "k" * 50}
    overridden = _python(PRINT_SETTINGS, explicit)
    assert overridden.returncode == 0, overridden.stderr
    assert overridden.stdout.split()[0] == "False"

    # Without the file (and without DEBUG), settings refuse to start without a SECRET_KEY: what the README's
    # manage.py commands met before `make run` wrote one.
    missing = _python(PRINT_SETTINGS, {"ENV_FILE": str(tmp_path / "absent.env")})
    assert missing.returncode != 0 and "SECRET_KEY must be set when DEBUG is off" in missing.stderr


@pytest.mark.slow  # a fresh Django process
def test_a_readme_manage_py_command_works_as_written_with_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    write_local_env(env_file, base_dir=tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in CLEARED}, "ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_tests_themselves_read_no_env_file() -> None:
    assert os.environ["ENV_FILE"] == "" and settings.ENV_FILE == ""
