"""The Python SDK as it is published: a wheel built offline from sdks/python with the setuptools and
wheel already installed (`pip wheel --no-build-isolation --no-index`), checked for its contents, its
metadata (version read from aiphone360/_version.py, README as the description, the licence) and
used from the unpacked wheel alone."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # a pip process building a wheel: seconds

PY_DIR = ROOT / "sdks" / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = sys.executable  # setuptools and wheel are dev dependencies (pyproject.toml)
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("sdk-src") / "python"
    shutil.copytree(PY_DIR, source, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".*"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("aiphone360-*.whl")
    return built


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((PY_DIR / "src" / "aiphone360" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


def test_the_wheel_holds_the_package_its_types_marker_and_its_docs(wheel: Path) -> None:
    version = _version()
    assert wheel.name == f"aiphone360-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"aiphone360-{version}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{dist_info}/METADATA"))
    for module in ("__init__", "_client", "_core", "_async_resources", "_resources", "_errors", "types", "_version"):
        assert f"aiphone360/{module}.py" in names, module
    assert "aiphone360/py.typed" in names
    assert any(name.startswith(f"{dist_info}/") and name.endswith("LICENSE") for name in names), sorted(names)
    assert not [name for name in names if name.startswith(("tests/", "aiphone360/tests"))]
    assert metadata["Name"] == "aiphone360" and metadata["Version"] == version
    assert metadata["Requires-Python"] == ">=3.10"
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert len(runtime) == 1 and runtime[0].replace(" ", "").startswith("httpx"), runtime  # the one dependency
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert "## Quickstart" in description and "## Errors" in description and "## Webhooks" in description
    assert "MIT" in (metadata["License"] or "") + " ".join(metadata.get_all("Classifier") or [])


def test_the_unpacked_wheel_imports_and_reports_its_metadata_version(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    script = (
        "import importlib.metadata, aiphone360; "
        f"assert aiphone360.__file__.startswith({str(tmp_path)!r}), aiphone360.__file__; "
        "print(aiphone360.__version__, importlib.metadata.version('aiphone360'), aiphone360.AsyncAiPhone360.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {script}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [_version(), _version(), "AsyncAiPhone360"]
