"""One statement, many rows: the hot paths' alternative to `bulk_update`.

`QuerySet.bulk_update` builds a CASE expression per field and row and resolves it through the
ORM, which costs more CPU than the statement itself on a busy worker. `update_rows` adapts every
value through its model field exactly as `save()` would and, on PostgreSQL, sends one
``UPDATE … FROM unnest(<one array per column>)``: one short statement for the server to parse and
plan, whatever the number of rows (Django binds parameters on the client, so each row's UPDATE
would be a new statement text). Elsewhere it is one parameterised UPDATE run with the driver's `executemany`.
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


# Rows per statement: the arrays below have no parameter limit; this bounds one statement's size.
_CHUNK = 1000


def _update_from_values(
    connection: Any,
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    columns: list[str],
    set_count: int,
    rows: list[Sequence[Any]],
) -> None:
    """One ``UPDATE … FROM unnest(%s, %s, …)`` per chunk: one array parameter per column, so the statement
    text is the same short one for any number of rows (the driver splits and caches it once; a VALUES
    list with a placeholder per value cost more CPU to prepare on both sides than the update itself)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    # Each array cast to its column's type: an array of NULLs alone would be text[].
    arrays = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)}[])" for field in fields)
    names = [quote(f"v{n}") for n in range(len(fields))]
    assignments = ", ".join(
        f"{quote(column)} = v.{name}" for column, name in zip(columns[:set_count], names[:set_count], strict=True)
    )
    conditions = " AND ".join(
        f"{table}.{quote(column)} = v.{name}"
        for column, name in zip(columns[set_count:], names[set_count:], strict=True)
    )
    sql = f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {conditions}"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            cursor.execute(
                sql,
                [[field.get_db_prep_save(row[n], connection) for row in chunk] for n, field in enumerate(fields)],
            )


def insert_rows(objs: Sequence[models.Model]) -> None:
    """``bulk_create(objs)`` for the hot paths: on PostgreSQL one ``INSERT … SELECT * FROM unnest(…)
    RETURNING`` with one array per column, setting each object's primary key.

    Django's own bulk_create takes that form too, but not for a model with a binary column (a
    placeholder per value then: a long statement whose parsing cost more CPU than the insert). Values
    are adapted by their fields as ``save()`` would; objects of one model, primary keys not set, and
    no database defaults or ``pre_save`` hooks to honour (auto_now fields are not supported)."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(field)) for field in fields)
    # Without a type's parameters (varchar[], not varchar(40)[]), as Django's unnest does.
    arrays = ", ".join(f"CAST(%s AS {(field.db_type(connection) or '').split('(')[0]}[])" for field in fields)
    params = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs] for field in fields]
    with connection.cursor() as cursor:
        # RETURNING gives the rows in the order unnest produced them: the objects' order.
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM unnest({arrays}) "
            f"RETURNING {quote(_column(meta.pk))}",
            params,
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
    return field


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
