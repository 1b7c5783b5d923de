"""One statement, many rows: the hot paths' alternative to `bulk_update`.

`QuerySet.bulk_update` builds a CASE expression per field and row and resolves it through the
ORM, which costs more CPU than the statement itself on a busy worker. `update_rows` adapts every
value through its model field exactly as `save()` would and, on PostgreSQL, sends one
``UPDATE … FROM (VALUES …)`` per chunk of rows: one statement for the server to parse and plan
instead of one per row (Django binds parameters on the client, so each row's UPDATE would be a new
statement text). Elsewhere it is one parameterised UPDATE run with the driver's `executemany`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router


def update_rows(
    model: type[models.Model], *, set_fields: Sequence[str], where_fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``UPDATE model SET set_fields… WHERE where_fields…`` once per row of (set values…, where values…).

    Field names, not columns; a WHERE value of None is not supported (it would never match), and the
    rows' WHERE values must name distinct rows (PostgreSQL updates a row once per statement).
    """
    rows = list(rows)
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [_concrete_field(model, name) for name in (*set_fields, *where_fields)]
    columns = [_column(field) for field in fields]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        _update_from_values(connection, model, fields, columns, len(set_fields), rows)
        return
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns[: len(set_fields)])
    conditions = " AND ".join(f"{quote(column)} = %s" for column in columns[len(set_fields) :])
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"
    params = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# Rows per statement: far below PostgreSQL's 65,535 parameters for any model's columns.
_VALUES_CHUNK = 500


def _update_from_values(
    connection: Any,
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    columns: list[str],
    set_count: int,
    rows: list[Sequence[Any]],
) -> None:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    # Each value cast to its column's type: a VALUES list infers types from its first row only, and a
    # NULL there would be text.
    casts = [f"CAST(%s AS {field.cast_db_type(connection)})" for field in fields]
    row_sql = "(" + ", ".join(casts) + ")"
    names = [quote(f"v{n}") for n in range(len(fields))]
    assignments = ", ".join(
        f"{quote(column)} = v.{name}" for column, name in zip(columns[:set_count], names[:set_count], strict=True)
    )
    conditions = " AND ".join(
        f"{table}.{quote(column)} = v.{name}"
        for column, name in zip(columns[set_count:], names[set_count:], strict=True)
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _VALUES_CHUNK):
            chunk = rows[start : start + _VALUES_CHUNK]
            params = [
                field.get_db_prep_save(value, connection)
                for row in chunk
                for field, value in zip(fields, row, strict=True)
            ]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row_sql] * len(chunk))}) "
                f"AS v({', '.join(names)}) WHERE {conditions}",
                params,
            )


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
    return field


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
