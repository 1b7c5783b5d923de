"""One statement, many rows: the hot paths' alternative to `bulk_update`.

`QuerySet.bulk_update` builds a CASE expression per field and row and resolves it through the
ORM, which costs more CPU than the statement itself on a busy worker. `update_rows` sends one
parameterised UPDATE with the driver's `executemany` (psycopg 3 pipelines it into one round
trip), adapting every value through its model field exactly as `save()` would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router


def update_rows(
    model: type[models.Model], *, set_fields: Sequence[str], where_fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``UPDATE model SET set_fields… WHERE where_fields…`` once per row of (set values…, where values…).

    Field names, not columns; a WHERE value of None is not supported (it would never match).
    """
    rows = list(rows)
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [_concrete_field(model, name) for name in (*set_fields, *where_fields)]
    columns = [_column(field) for field in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns[: len(set_fields)])
    conditions = " AND ".join(f"{quote(column)} = %s" for column in columns[len(set_fields) :])
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"
    params = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
    return field


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
