"""Weekly range partitions of PostgreSQL tables that grow with traffic, so retention drops whole weeks.

A table converted by ``convert_to_partitioned`` (from a migration) is ``PARTITION BY RANGE`` on one
timestamp column, with one partition per week (Monday 00:00 UTC onwards) named
``<table>_pYYYYMMDD`` after its Monday, and a ``<table>_default`` partition that catches any row
outside them (a clock far off, a beat that stopped for weeks), so an insert never fails for want of
a partition. The beat's maintenance tasks call ``ensure_partitions`` (weeks ahead) and
``drop_partitions`` (whole weeks past retention): the locks a drop takes are held as briefly whether
the week held a thousand rows or ten million (only the file system's freeing of the files, which
blocks no one, grows with it). Rows in the default partition are pruned by the callers' ordinary
DELETE, which on SQLite (plain tables, ``make run``) is the only path.

Why weeks, not days: every query that does not name the partition key (a delivery by id, the claim
by endpoint, the sweep) is planned and run over every partition, and with a dozen indexes each that
cost grows with their number (measured: about 4× a plain table's with 8 partitions, 25× with 44). A
30-day retention spans about six
weekly partitions against some forty daily ones; the price is that a row is kept 30 to 37 days.

Knows nothing of the business: the callers decide which week may go.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

PERIOD = timedelta(days=7)
# Creating and dropping a partition briefly locks the parent table: one that waits behind a long
# query would stall the inserts queued behind it, so it gives up soon and the next run tries again
# (partitions are made a week ahead, and a week dropped an hour late costs nothing).
LOCK_TIMEOUT = "1s"
_DAY_SUFFIX = re.compile(r"_p(\d{8})$")


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime
    upper: datetime


def enabled() -> bool:
    return connection.vendor == "postgresql"


def period_start(moment: datetime) -> datetime:
    """The start of the partition holding ``moment``: its week's Monday, 00:00 UTC."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time.min, tzinfo=UTC)


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partitioned(table: str, cursor: Any = None) -> bool:
    if not enabled():
        return False
    with _cursor(cursor) as c:
        c.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return c.fetchone() is not None


def partitions(table: str, cursor: Any = None) -> list[Partition]:
    """The table's weekly partitions, oldest first (not the default one)."""
    with _cursor(cursor) as c:
        c.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(%s)",
            [table],
        )
        found = []
        for (name,) in c.fetchall():
            if match := _DAY_SUFFIX.search(name):
                lower = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
                found.append(Partition(name=name, lower=lower, upper=lower + PERIOD))
    return sorted(found, key=lambda p: p.lower)


def table_bytes(table: str, cursor: Any = None) -> int:
    """Bytes on disk of a table with its indexes, counting every partition (PostgreSQL).

    ``pg_total_relation_size`` of a partitioned table is 0: its rows live in the partitions."""
    with _cursor(cursor) as c:
        c.execute("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(%s)", [table])
        (size,) = c.fetchone()
    return int(size)


def ensure_partitions(table: str, column: str, *, now: datetime, ahead: int = 1, cursor: Any = None) -> list[str]:
    """Create the partitions of this week and the next ``ahead`` weeks that are missing; returns their names.

    Rows of such a week already in the default partition (written while no partition covered it) are
    moved into the new partition, since PostgreSQL refuses a partition that overlaps the default's rows.
    """
    created = []
    this_week = period_start(now)
    with _cursor(cursor) as c:
        existing = {p.name for p in partitions(table, c)}
        for offset in range(ahead + 1):
            lower = this_week + offset * PERIOD
            name = partition_name(table, lower.date())
            if name in existing:
                continue
            try:
                _create_partition(c, table, column, name=name, lower=lower, upper=lower + PERIOD)
            except DatabaseError:  # a lock timeout: the next run tries again
                logger.warning("partition %s not created this time", name, exc_info=True)
                continue
            created.append(name)
    if created:
        logger.info("partitions created: %s", ", ".join(created))
    return created


def drop_partitions(
    table: str, *, before: datetime, keep: Callable[[Partition], bool] | None = None, cursor: Any = None
) -> list[Partition]:
    """Drop the partitions that end at or before ``before``, oldest first, except those ``keep`` says to keep.

    Measured (bench/prune_cost.py): a drop's cost that grows with the partition is the file system
    freeing its files (the root file system is mounted with ``discard``), which PostgreSQL does at
    COMMIT after it has released the transaction's locks. What other work can feel is the locks, so
    each step is its own short transaction with a lock timeout, and one that cannot get its locks is
    left for the next run:

    1. Detach, and drop the partition's foreign keys: the only step that locks the parent (and, for
       the keys, the tables they point at, such as the organisations, in ACCESS EXCLUSIVE mode), and
       it touches the catalogue alone, so it is as short at a million rows as at one.
    2. Drop the detached table, which then locks nothing but itself while its files go.

    A detached table that a failed run left behind (still named like a partition) goes in step 2 of
    the next run. ``DETACH … CONCURRENTLY`` is no use here: PostgreSQL refuses it beside a default
    partition.
    """
    dropped = []
    with _cursor(cursor) as c:
        for partition in partitions(table, c):
            if partition.upper > before:
                break
            if keep is not None and keep(partition):
                continue
            try:
                _detach(c, table, partition.name)
            except DatabaseError:  # a lock timeout (or a concurrent drop) only postpones it
                logger.warning("partition %s not dropped this time", partition.name, exc_info=True)
                continue
            dropped.append(partition)
        for name in _detached(table, c):
            try:
                _drop_detached(c, name)
            except DatabaseError:
                logger.warning("detached partition %s not dropped this time", name, exc_info=True)
    if dropped:
        logger.info("partitions dropped: %s", ", ".join(p.name for p in dropped))
    return dropped


def _detach(c: Any, table: str, name: str) -> None:
    with transaction.atomic():
        c.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # Within a longer transaction (tests), rows written earlier in it have deferred foreign-key
        # checks pending, and PostgreSQL refuses to detach their table until they run.
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The keys are looked up before the locks are taken (a detached partition keeps its keys'
        # names), so the locks are held for one round trip and the commit.
        c.execute(f"ALTER TABLE {_q(table)} DETACH PARTITION {_q(name)}; {_drop_foreign_keys_sql(c, name)}")


def _drop_detached(c: Any, name: str) -> None:
    with transaction.atomic():
        c.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # A leftover of an older run may still have foreign keys.
        c.execute(f"{_drop_foreign_keys_sql(c, name)} DROP TABLE {_q(name)}")


def _drop_foreign_keys_sql(c: Any, table: str) -> str:
    """The statement dropping ``table``'s foreign keys (each locks the table it points at), or nothing."""
    c.execute("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f'", [table])
    drops = ", ".join(f"DROP CONSTRAINT {_q(key)}" for (key,) in c.fetchall())
    return f"ALTER TABLE {_q(table)} {drops};" if drops else ""


def _detached(table: str, c: Any) -> list[str]:
    """Tables named like a partition of ``table`` that are no longer attached to it."""
    c.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = 'public'::regnamespace AND relname LIKE %s",
        [table.replace("_", "\\_") + "\\_p%"],
    )
    return [name for (name,) in c.fetchall() if _DAY_SUFFIX.search(name) and name.startswith(table + "_p")]


def convert_to_partitioned(
    schema_editor: Any,
    table: str,
    column: str,
    *,
    now: datetime,
    behind: timedelta = timedelta(days=42),
    ahead: int = 1,
) -> None:
    """Rebuild ``table`` as ``PARTITION BY RANGE (column)``, keeping its rows, ids, names and constraints.

    For migrations, and column-agnostic so other migrations may add or drop columns before or after:
    the new table is ``LIKE`` the old one, rows are copied with ``SELECT *``, and every index and
    constraint is recreated from the catalogue under its own name (so later migrations that alter or
    drop them by name still work). PostgreSQL requires the partition key in the primary key and in
    every unique constraint, so it is appended where missing: ``id`` stays unique through its sequence.
    Foreign keys that point at ``table`` must be dropped first (they would need the partition key).
    Partitions: each week from ``behind`` ago (or the oldest row's, if later) to ``ahead`` weeks
    ahead; older rows land in the default partition, where the ordinary prune deletes them.
    A no-op on SQLite and on a table already partitioned.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as c:
        if is_partitioned(table, c):
            return
        old = f"{table}__unpartitioned"
        c.execute(
            "SELECT con.conname, con.contype, pg_get_constraintdef(con.oid), "
            # In the constraint's column order, not the table's: (request_id, created_at) must stay so.
            "ARRAY(SELECT att.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(n, i) "
            "      JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = k.n ORDER BY k.i) "
            "FROM pg_constraint con WHERE con.conrelid = to_regclass(%s) AND con.contype IN ('p', 'u', 'f')",
            [table],
        )
        constraints = c.fetchall()
        c.execute(
            "SELECT idx.relname, pg_get_indexdef(ix.indexrelid), ix.indisunique "
            "FROM pg_index ix JOIN pg_class idx ON idx.oid = ix.indexrelid "
            "WHERE ix.indrelid = to_regclass(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid)",
            [table],
        )
        indexes = c.fetchall()
        if any(unique for _, _, unique in indexes):
            raise NotImplementedError(f"{table}: a unique index outside a constraint needs the partition key by hand")
        c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = c.fetchone()
        c.execute(f"SELECT last_value, is_called FROM {sequence}")
        last_value, is_called = c.fetchone()
        c.execute(f"SELECT min({_q(column)}) FROM {_q(table)}")
        (oldest,) = c.fetchone()

        c.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
        c.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY "
            f"INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({_q(column)})"
        )
        lower = period_start(now - behind)
        if oldest is not None:
            lower = max(lower, period_start(oldest))
        while lower <= period_start(now) + ahead * PERIOD:
            c.execute(
                f"CREATE TABLE {_q(partition_name(table, lower.date()))} PARTITION OF {_q(table)} "
                "FOR VALUES FROM (%s) TO (%s)",
                [lower, lower + PERIOD],
            )
            lower += PERIOD
        c.execute(f"CREATE TABLE {_q(default_name(table))} PARTITION OF {_q(table)} DEFAULT")
        c.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        c.execute(f"DROP TABLE {_q(old)}")  # no CASCADE: a foreign key still pointing here is a mistake

        # The identity made a sequence of its own: carry on from the old one's position, under its name.
        c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (new_sequence,) = c.fetchone()
        c.execute("SELECT setval(%s, %s, %s)", [new_sequence, last_value, is_called])
        c.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {_q(sequence.split('.')[-1].strip(chr(34)))}")

        for name, kind, definition, columns in constraints:
            if kind in ("p", "u"):
                keyed = [*columns, column] if column not in columns else columns
                clause = "PRIMARY KEY" if kind == "p" else "UNIQUE"
                c.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {clause} ({', '.join(map(_q, keyed))})")
            else:
                c.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for _, definition, _ in indexes:
            c.execute(definition)  # "CREATE INDEX name ON public.table …": now the partitioned table


def _create_partition(c: Any, table: str, column: str, *, name: str, lower: datetime, upper: datetime) -> None:
    default = default_name(table)
    c.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    (has_default,) = c.fetchone()
    strays = False
    if has_default:
        c.execute(f"SELECT 1 FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s LIMIT 1", [lower, upper])
        strays = c.fetchone() is not None
    with transaction.atomic():
        c.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        if not strays:
            c.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM (%s) TO (%s)", [lower, upper])
            return
        c.execute(f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        c.execute(
            f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s RETURNING *) "
            f"INSERT INTO {_q(name)} SELECT * FROM moved",
            [lower, upper],
        )
        c.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM (%s) TO (%s)", [lower, upper])


class _cursor:
    """The cursor given, or a new one on the default connection."""

    def __init__(self, cursor: Any) -> None:
        self.given = cursor
        self.own: Any = None

    def __enter__(self) -> Any:
        if self.given is not None:
            return self.given
        self.own = connection.cursor()
        return self.own

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.close()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)
