"""Planner statistics (and dead-row space) of the busiest tables, kept up by the maintenance queue.

A table PostgreSQL has never analysed is planned as if it were tiny: on a partition that holds a week
of deliveries, a lookup by id becomes a scan of the whole week, so the webhook claim and the pages
cost more as the week fills. Autovacuum normally prevents that, with two gaps this closes:

- it never analyses a partitioned table itself, only its partitions (the PostgreSQL documentation
  asks for a periodic ANALYZE of the parent); here each parent is analysed at most once an hour,
  when one of its partitions needed it;
- a server may run with autovacuum off (the machine the benches run on does): then this applies
  autovacuum's own default rules to every table of the schema, analysing when rows changed since the
  last analysis exceed 50 + 10 % of the table, vacuuming when dead rows exceed 50 + 20 %, so the
  space of updated rows is reused instead of growing the table.

With autovacuum on, only the parents are handled here. Every statement waits at most a second for
its lock (a partition being detached is skipped and tried next minute). SQLite: nothing to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, connection

from core import fastcache

logger = logging.getLogger(__name__)

# autovacuum's defaults (autovacuum_*_threshold and *_scale_factor)
ANALYZE_THRESHOLD, ANALYZE_SCALE = 50, 0.1
VACUUM_THRESHOLD, VACUUM_SCALE = 50, 0.2
PARENT_EVERY = 3600  # seconds between analyses of one partitioned table (it samples every partition)


@dataclass(frozen=True)
class TableStats:
    name: str
    parent: str | None  # the partitioned table this one is a partition of
    live: int
    dead: int
    changed: int  # rows inserted, updated or deleted since the last analysis

    @property
    def needs_analyze(self) -> bool:
        return self.changed > ANALYZE_THRESHOLD + ANALYZE_SCALE * self.live

    @property
    def needs_vacuum(self) -> bool:
        return self.dead > VACUUM_THRESHOLD + VACUUM_SCALE * self.live


def table_stats() -> list[TableStats]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.relid::regclass::text, i.inhparent::regclass::text,
                   s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze
            FROM pg_stat_user_tables s
            LEFT JOIN pg_inherits i ON i.inhrelid = s.relid
            WHERE s.schemaname = current_schema()
            ORDER BY 1
            """
        )
        return [TableStats(*row) for row in cursor.fetchall()]


def autovacuum_on() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum')::bool AND current_setting('track_counts')::bool")
        return bool(cursor.fetchone()[0])


def refresh() -> list[str]:
    """Analyse (and, where autovacuum is off, vacuum) what autovacuum would; returns the statements run.

    Runs outside a transaction (VACUUM cannot run inside one): the maintenance task's autocommit."""
    if connection.vendor != "postgresql":
        return []
    if connection.in_atomic_block:
        raise RuntimeError("core.statistics.refresh runs VACUUM, which cannot run inside a transaction")
    do_tables = not autovacuum_on()
    done: list[str] = []
    parents: set[str] = set()
    for table in table_stats():
        if table.parent and table.needs_analyze:
            parents.add(table.parent)
        if not do_tables:
            continue
        if table.needs_vacuum:
            statement = f"VACUUM (ANALYZE) {table.name}" if table.needs_analyze else f"VACUUM {table.name}"
        elif table.needs_analyze:
            statement = f"ANALYZE {table.name}"
        else:
            continue
        if _run(statement):
            done.append(statement)
    for parent in sorted(parents):
        # ANALYZE of a partitioned table samples its partitions (and analyses each again): hourly at most.
        due = fastcache.add(f"stats:parent:{connection.settings_dict['NAME']}:{parent}", 1, PARENT_EVERY)
        if due and _run(f"ANALYZE {parent}"):
            done.append(f"ANALYZE {parent}")
    return done


def _run(statement: str) -> bool:
    """One statement, waiting at most a second for its lock; False (logged) when it could not run now."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1s'")
        try:
            cursor.execute(statement)  # table names come from the catalogue (regclass::text, quoted as needed)
            return True
        except DatabaseError:
            logger.warning("%s skipped; tried again next run", statement, exc_info=True)
            return False
        finally:
            cursor.execute("RESET lock_timeout")
