"""Checks on raw public-API input that hold for every field. Pure functions.

NUL (U+0000) is refused everywhere: no field means anything with it, and PostgreSQL cannot store
or even compare text that holds one, so it would otherwise surface as a server error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."


class _MultiValueMapping(Protocol):
    def lists(self) -> Iterable[tuple[str, list[str]]]: ...


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths (`tools.matchHints[2]`, like VALIDATION_ERROR fields) of every string or key with a NUL."""
    if isinstance(value, str):
        return [path or "body"] if NUL in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                found.append(name)
            else:
                found += nul_paths(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}[{index}]")
    return found


def nul_query_parameters(params: _MultiValueMapping) -> list[str]:
    """Names of the query parameters whose name or any value holds a NUL."""
    return [name for name, values in params.lists() if NUL in name or any(NUL in v for v in values)]
