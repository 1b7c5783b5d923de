"""The `.env` that `make run` writes once for local development, so the README's `manage.py` commands work
as written (DEBUG on, the SQLite database, loopback webhook receivers) without exporting anything.

`config/settings.py` reads it with `overwrite=False`: a variable set in the environment always wins, so
pytest (which sets its own) and CI (which has no `.env`) are unaffected. It is git-ignored and never
overwritten: edit it freely. Run as `python -m config.local_env [path]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def local_env_text(base_dir: Path) -> str:
    return (
        "# Written once by `make run` for local development; git-ignored. Real environment variables override it.\n"
        "DEBUG=true\n"
        "OUTBOUND_ALLOW_LOOPBACK=true\n"
        f"DATABASE_URL=sqlite:///{base_dir / 'db.sqlite3'}\n"
    )


def write_local_env(path: Path, *, base_dir: Path = BASE_DIR) -> bool:
    """Write `path` unless it exists; True when it was written."""
    if path.exists():
        return False
    path.write_text(local_env_text(base_dir))
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else BASE_DIR / ".env"
    if write_local_env(target):
        print(f"==> Wrote {target} (DEBUG on, SQLite): manage.py commands work as the README writes them")
