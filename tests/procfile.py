"""The Procfile's command lines as tests read them: `${NAME:-default}` becomes the default."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from django.conf import settings


def procfile_arguments(name: str, **values: str) -> list[str]:
    """The words of the Procfile's `name` line; `values` replace the `${NAME:-default}` placeholders they name."""
    line = next(
        line for line in Path(settings.BASE_DIR, "Procfile").read_text().splitlines() if line.startswith(f"{name}:")
    )
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: values.get(match[1], match[2]), line.removeprefix(f"{name}:"))
    return shlex.split(line)
