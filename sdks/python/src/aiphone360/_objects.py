"""API objects: the wire JSON (camelCase keys) with snake_case attribute access.

``contact.phone_number`` reads ``contact["phoneNumber"]``; ``call.from_`` reads ``call["from"]``.
Item access keeps the exact wire names, and ``to_dict()`` gives plain JSON back, so nothing the
API sends is lost or renamed on the way.

Type checkers see only the attributes a class declares (the attribute lookup below is hidden from
them), so ``contact.phone_numbr`` fails ``mypy --strict``. A declared field the API leaves out of
an answer (``ApiKey.secret`` outside create and rotate) reads as None, and is typed ``… | None``.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import TYPE_CHECKING, Any, Union

from ._core import ResponseInfo


def to_camel(name: str) -> str:
    """``phone_number`` → ``phoneNumber``; ``from_`` → ``from``; ``success_rate_24h`` → ``successRate24h``."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Values under these keys are the caller's own JSON (a tool's JSON Schema): never renamed.
_OPAQUE_KEYS = frozenset({"inputSchema"})


def camelize(value: Any) -> Any:
    """Request bodies: snake_case keys (at any depth) become the API's camelCase; camelCase stays."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            wire = to_camel(key) if isinstance(key, str) else key
            out[wire] = item if wire in _OPAQUE_KEYS else camelize(item)
        return out
    if isinstance(value, (list, tuple)):
        return [camelize(item) for item in value]
    return value


def _object_class(hint: Any) -> type[ApiObject] | None:
    """The ApiObject subclass named by an annotation such as ``Contact | None``."""
    if isinstance(hint, type) and issubclass(hint, ApiObject):
        return hint
    if typing.get_origin(hint) in (Union, types.UnionType):
        for arg in typing.get_args(hint):
            found = _object_class(arg)
            if found is not None:
                return found
    return None


def _item_class(hint: Any) -> type[ApiObject] | None:
    """The element class of ``list[Appointment]`` (or of ``list[...] | None``)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        for arg in typing.get_args(hint):
            found = _item_class(arg)
            if found is not None:
                return found
        return None
    if typing.get_origin(hint) is list:
        (arg,) = typing.get_args(hint) or (None,)
        return _object_class(arg)
    return None


class ApiObject(dict):  # type: ignore[type-arg]
    """A JSON object from the API. Subclasses only declare attributes (for editors and type checkers)."""

    #: The HTTP answer this object came in (top-level results only): headers, status, retries.
    last_response: ResponseInfo | None = None

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` of the answer this object came in: quote it to support."""
        return self.last_response.request_id if self.last_response is not None else None

    @classmethod
    @functools.cache
    def _hints(cls) -> dict[str, Any]:
        try:
            return typing.get_type_hints(cls)
        except Exception:  # an unresolvable annotation must never break attribute access
            return {}

    if not TYPE_CHECKING:  # hidden from type checkers: only declared fields type-check

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            wire = to_camel(name)
            if wire in self:
                value = self[wire]
            elif name in self:
                value = self[name]
            elif name in type(self)._hints():
                return None  # declared, and absent from this answer (typed `| None`)
            else:
                raise AttributeError(f"{type(self).__name__} has no field {name!r} (wire name {wire!r})")
            return self._wrap(name, value)

    def _wrap(self, name: str, value: Any) -> Any:
        hint = type(self)._hints().get(name)
        if isinstance(value, dict) and not isinstance(value, ApiObject):
            cls = _object_class(hint) or ApiObject
            return cls(value)
        if isinstance(value, list):
            cls = _item_class(hint) or ApiObject
            return [cls(item) if isinstance(item, dict) and not isinstance(item, ApiObject) else item for item in value]
        return value

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dicts and lists, with the wire's camelCase keys."""

        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        result: dict[str, Any] = plain(self)
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"
