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
    fields = [model._meta.get_field(name) for name in (*set_fields, *where_fields)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields[: len(set_fields)])
    conditions = " AND ".join(f"{quote(f.column)} = %s" for f in fields[len(set_fields) :])
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"
    params = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
