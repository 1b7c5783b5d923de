"""Checks on raw public-API input that hold for every field. Pure functions.

NUL (U+0000) is refused everywhere: no field means anything with it, and PostgreSQL cannot store
or even compare text that holds one, so it would otherwise surface as a server error. Lone UTF-16
surrogates (U+D800–U+DFFF, which JSON can spell as `"\\udc00"`) are refused for the same reason: no
UTF-8 encoder, and so no database, accepts them. Nesting is bounded so no parser or walk recurses
without limit; `json_depth_exceeds` checks the raw bytes before `json.loads` sees them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
SURROGATE_MESSAGE = "Must not contain a lone UTF-16 surrogate (U+D800–U+DFFF); send valid Unicode text."


def depth_message(limit: int) -> str:
    return f"Nested deeper than {limit} levels."


class _MultiValueMapping(Protocol):
    def lists(self) -> Iterable[tuple[str, list[str]]]: ...


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (NUL, or a lone surrogate), or None when it can."""
    if NUL in text:
        return NUL_MESSAGE
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return SURROGATE_MESSAGE
    return None


def bad_input_paths(value: Any, path: str = "") -> dict[str, str]:
    """Dotted paths (`tools.matchHints[2]`, like VALIDATION_ERROR fields) of every string or key that
    cannot be stored, each with the reason. Walks iteratively, so no nesting overflows the stack."""
    found: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, _BadKey):
            found[where] = item.problem
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                found[where or "body"] = problem
        elif isinstance(item, dict):
            children: list[tuple[str, Any]] = []
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                problem = text_problem(str(key))
                children.append((_printable(name), _BadKey(problem)) if problem else (name, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{where}[{index}]", child) for index, child in enumerate(item)]))
    return found


def _printable(name: str) -> str:
    """A field name as it can be reported: lone surrogates spelled `\\udc00`, since no encoder takes them."""
    return name.encode("utf-8", "backslashreplace").decode()


class _BadKey(NamedTuple):
    problem: str


def bad_query_parameters(params: _MultiValueMapping) -> dict[str, str]:
    """The query parameters whose name or any value cannot be stored, each with the reason."""
    found: dict[str, str] = {}
    for name, values in params.lists():
        problem = next((p for p in map(text_problem, [name, *values]) if p), None)
        if problem:
            found[_printable(name)] = problem
    return found


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects deeper than `limit`, brackets inside strings
    aside. A scan of the bytes, so it is safe on input that would overflow a recursive parser."""
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
