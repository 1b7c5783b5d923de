"""One statement, many rows: the hot paths' alternative to `bulk_update`.

`QuerySet.bulk_update` builds a CASE expression per field and row and resolves it through the
ORM, which costs more CPU than the statement itself on a busy worker. `update_rows` adapts every
value through its model field exactly as `save()` would and, on PostgreSQL, sends one
``UPDATE … FROM unnest(<one array per column>)``: one short statement for the server to parse and
plan, whatever the number of rows (Django binds parameters on the client, so each row's UPDATE
would be a new statement text); a column with the same value in every row is one parameter instead
of an array. Elsewhere it is one parameterised UPDATE run with the driver's `executemany`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import connections, models, router
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)


def prepared_cursor(connection: Any) -> CursorWrapper:
    """A cursor for the hot paths' fixed statements, which PostgreSQL plans once per connection and keeps.

    Django binds parameters on the client, so the server parses and plans every statement anew. On the
    weekly partitioned webhook tables planning is most of a short statement's cost: it weighs every
    index of every partition (about 1 ms for the held-deliveries check over 9 partitions, against 0.1 ms
    to run it). Here the parameters are bound by the server and each statement is prepared, so after
    five runs PostgreSQL keeps a generic plan when it costs no more than the custom ones (it compares,
    so a statement whose plan depends on its values keeps being planned). Only for statements of a few
    fixed texts: each text is a prepared statement on every connection (psycopg keeps 100, least
    recently used first out). Values a partial index's predicate depends on (a status) are written into
    the text, not sent as parameters, so the generic plan can still use that index. A connection
    pooler in transaction mode (PgBouncer) needs its prepared-statement support on. Elsewhere an
    ordinary cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    # What connection.cursor() does before making its cursor: a persistent connection found dead is replaced.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(connection.connection))


class _PreparingCursor(psycopg.Cursor[Any]):
    """Server-side binding, every statement prepared (Django turns psycopg's automatic preparing off)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


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
    list with a placeholder per value cost more CPU to prepare on both sides than the update itself).
    A column with the same value in every row is one parameter instead (see _split_constant_columns)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    # Each value cast to its column's type: an array of NULLs alone would be text[].
    types = [field.cast_db_type(connection) for field in fields]
    with prepared_cursor(connection) as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            assignments, set_params, conditions, where_params, arrays, array_params = [], [], [], [], [], []
            for n, (column, kind, value) in enumerate(
                zip(columns, types, _split_constant_columns(connection, fields, chunk), strict=True)
            ):
                if isinstance(value, _Array):
                    expr, params = f"v.{quote(f'v{n}')}", []
                    arrays.append((quote(f"v{n}"), f"CAST({ARRAY_PARAMETER} AS {kind}[])"))
                    array_params.append(value.items)
                else:
                    expr, params = f"CAST(%s AS {kind})", [value]
                if n < set_count:
                    assignments.append(f"{quote(column)} = {expr}")
                    set_params += params
                else:
                    conditions.append(f"{table}.{quote(column)} = {expr}")
                    where_params += params
            unnest = f"unnest({', '.join(cast for _, cast in arrays)}) AS v({', '.join(name for name, _ in arrays)})"
            cursor.execute(
                f"UPDATE {table} SET {', '.join(assignments)} FROM {unnest} WHERE {' AND '.join(conditions)}",
                [*set_params, *array_params, *where_params],
            )


class _Array:
    """A column sent as an array of one value per row (in the binary format: see ARRAY_PARAMETER)."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


# The placeholder of an array parameter: the driver's binary format. In text, every element is quoted and
# escaped for the array's syntax in Python, which for a batch's 80 signatures cost 0.67 ms against 0.12 ms
# (its URLs 0.28 against 0.09, its ids 0.12 against 0.08; per statement, psycopg 3.3, this machine).
ARRAY_PARAMETER = "%b"


# Types whose equal values are adapted to the same text (not float or Decimal: 0.0 and -0.0, 1.0 and
# 1.00 are equal), so a column of equal ones can be sent once.
_PLAIN_TYPES = frozenset({type(None), bool, int, str, bytes, datetime.datetime, uuid.UUID})


def _split_constant_columns(
    connection: Any, fields: Sequence[models.Field[Any, Any]], rows: Sequence[Sequence[Any]]
) -> list[Any]:
    """Per column, its value adapted once when every row has the same one, or an _Array of each row's,
    adapted by the field as ``save()`` would. At least one column stays an array (unnest needs one).

    Most columns of a batch of attempts or results are constants (the claim's start time, empty
    results, the success's status): sending each once spares adapting and quoting it for every row."""
    out: list[Any] = []
    for n, field in enumerate(fields):
        column = [row[n] for row in rows]
        if len(rows) > 1 and _same_in_every_row(column):
            out.append(field.get_db_prep_save(column[0], connection))
        else:
            out.append(_Array(_adapted(connection, field, column)))
    if not any(isinstance(value, _Array) for value in out):
        out[0] = _Array(_adapted(connection, fields[0], [row[0] for row in rows]))
    return out


# Fields whose adaptation of a value of the given type is the value itself on PostgreSQL, but for the
# driver's integer wrapper types (Int4, Int8…), which only pick a parameter's type: the statements here
# cast every array to its column's type, so plain ints do. Exact classes: a subclass may adapt its own way.
_INTEGER_FIELDS = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    }
)
_UNCHANGED: dict[type[models.Field[Any, Any]], type] = {
    **dict.fromkeys(_INTEGER_FIELDS, int),
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.UUIDField: uuid.UUID,
    models.BinaryField: bytes,  # the field wraps it for the driver's bytea dumper, which bytes get anyway
}


def _adapted(connection: Any, field: models.Field[Any, Any], values: list[Any]) -> list[Any]:
    """``field.get_db_prep_save`` of each value, skipped where it would hand back the value (the bulk of a
    batch: ids, numbers, texts), which cost more CPU than the statement's own work on PostgreSQL."""
    kind = _UNCHANGED.get(type(field))
    if isinstance(field, models.ForeignKey) and type(field.target_field) in _INTEGER_FIELDS:
        kind = int
    elif type(field) is models.DateTimeField:
        kind = datetime.datetime
    if connection.vendor != "postgresql" or kind is None:
        return [field.get_db_prep_save(value, connection) for value in values]
    if kind is datetime.datetime:  # aware ones only: a naive one is made aware (with a warning) by the field
        return [
            value
            if type(value) is datetime.datetime and value.tzinfo is not None
            else field.get_db_prep_save(value, connection)
            for value in values
        ]
    return [
        value if type(value) is kind or value is None else field.get_db_prep_save(value, connection) for value in values
    ]


def _same_in_every_row(values: list[Any]) -> bool:
    first = values[0]
    kind = type(first)
    # A dict of texts is one JSON value too, whatever its keys' order (a receiver's response headers).
    if kind not in _PLAIN_TYPES and not (kind is dict and all(type(v) is str for v in first.values())):
        return False
    return values.count(first) == len(values) and all(type(value) is kind for value in values)


def insert_rows(objs: Sequence[models.Model]) -> None:
    """``bulk_create(objs)`` for the hot paths: on PostgreSQL one ``INSERT … SELECT … FROM unnest(…)
    RETURNING`` with one array per column (one parameter for a column with the same value in every
    object), setting each object's primary key.

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
    values = _split_constant_columns(connection, fields, [[getattr(obj, f.attname) for f in fields] for obj in objs])
    selected, arrays, constants, array_params = [], [], [], []
    for n, (field, value) in enumerate(zip(fields, values, strict=True)):
        # Without a type's parameters (varchar[], not varchar(40)[]), as Django's unnest does.
        kind = (field.db_type(connection) or "").split("(")[0]
        if isinstance(value, _Array):
            selected.append(f"v.{quote(f'v{n}')}")
            arrays.append((quote(f"v{n}"), f"CAST({ARRAY_PARAMETER} AS {kind}[])"))
            array_params.append(value.items)
        else:
            selected.append(f"CAST(%s AS {kind})")
            constants.append(value)
    unnest = f"unnest({', '.join(cast for _, cast in arrays)}) AS v({', '.join(name for name, _ in arrays)})"
    with prepared_cursor(connection) as cursor:
        # RETURNING gives the rows in the order unnest produced them: the objects' order.
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {', '.join(selected)} FROM {unnest} "
            f"RETURNING {quote(_column(meta.pk))}",
            [*constants, *array_params],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias


def rows_by_pk(model: type[M], pks: Collection[Any], *, order_by: Sequence[str] = ()) -> list[M]:
    """``list(model.objects.filter(pk__in=pks).order_by(*order_by))`` for the hot paths: on PostgreSQL one
    prepared ``SELECT <every column> … WHERE pk = ANY(<array>)``, its rows made instances as the ORM makes
    them (each value through its field's converters, then ``from_db``), without a query to build and
    compile: for a claim's 80 deliveries that cost more CPU than fetching them. ``order_by``: field
    names, "-" first for descending."""
    if not pks:
        return []
    connection = connections[router.db_for_read(model)]
    if connection.vendor != "postgresql":
        return list(model._default_manager.filter(pk__in=list(pks)).order_by(*order_by))
    meta = model._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields
    sql = (
        f"SELECT {', '.join(quote(_column(field)) for field in fields)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(_column(meta.pk))} = ANY(CAST({ARRAY_PARAMETER} AS {meta.pk.cast_db_type(connection)}[]))"
    )
    if order_by:
        sql += " ORDER BY " + ", ".join(
            quote(_column(_concrete_field(model, name.removeprefix("-")))) + (" DESC" if name[0] == "-" else "")
            for name in order_by
        )
    names = [field.attname for field in fields]
    converters = []
    for n, field in enumerate(fields):
        column = field.get_col(meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((n, column, functions))
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [list(pks)])
        rows = cursor.fetchall()
    objs = []
    for row in rows:
        if converters:
            row = list(row)
            for n, column, functions in converters:
                for function in functions:
                    row[n] = function(row[n], column, connection)
        objs.append(model.from_db(connection.alias, names, row))
    return objs


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
    return field


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
