"""Model fields of our own."""

from __future__ import annotations

import zlib
from typing import Any

from django.db import models


class CompressedTextField(models.BinaryField):
    """Text kept zlib-compressed in a binary column; Python sees a ``str``.

    For large text written once and read whole (a webhook event's JSON body: 1-2 KB, about 60 % of
    that compressed). PostgreSQL compresses only values in rows over about 2 KB, so a body this size
    would otherwise be stored as is. Not for filtering: the column holds compressed bytes."""

    _pyi_private_set_type: str
    _pyi_private_get_type: str  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def get_default(self) -> Any:
        return "" if not self.has_default() else super().get_default()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else _decompress(value)

    def to_python(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return _decompress(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, str):
            value = zlib.compress(value.encode("utf-8")) if value else b""
        return super().get_db_prep_value(value, connection, prepared)

    def value_to_string(self, obj: models.Model) -> str:
        return str(self.value_from_object(obj))


def _decompress(value: bytes | memoryview) -> str:
    data = bytes(value)
    return zlib.decompress(data).decode("utf-8") if data else ""
