"""Leaner request-log rows (issue 22, point 1): under 300 bytes a request with indexes on PostgreSQL.

- The request id (``req_`` and 24 hex digits) is stored as its 12 bytes (developer/log_codec.py).
- The path is stored without the ``/api/public/v1`` prefix every logged path has.
- The user agent is stored once in ``UserAgent`` and referenced by a 4-byte id.
- The latency is a 4-byte count of hundredths of a millisecond (the log keeps two decimals).
- The columns go 8-byte first, then 4-, 2-byte and variable-length ones, so no row pads for
  alignment. PostgreSQL cannot reorder columns, so the table is rebuilt: its rows are copied aside
  (``developer_requestlog__convert``), the table is dropped and created anew, and the rows come back
  converted; on PostgreSQL the new table is then partitioned by week like 0008 made the old one.
  Each row is read and written once more than in 0008: on a large table, run it in a quiet hour.

Both ways, on both databases: going back rebuilds the old layout (and partitions it again on
PostgreSQL, the state 0008 left), converting every row back exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

import developer.models
from core.partitions import convert_to_partitioned

TABLE = "developer_requestlog"
ASIDE = "developer_requestlog__convert"
CHUNK = 5000

# The table's columns as 0008 left them, and as this migration makes them (in its order).
OLD_COLUMNS = (
    "id, request_id, organization_id, api_key_id, key_masked, mode, method, path, query_string, "
    "status_code, error_code, latency_ms, client_ip, user_agent, created_at"
)
NEW_COLUMNS = (
    "id, created_at, organization_id, api_key_id, latency_hundredths, agent_id, status_code, request_id, "
    "mode, method, path, query_string, error_code, key_masked, client_ip"
)


def _aware(value: Any) -> datetime:
    """A timestamp read back from the aside table: SQLite hands its text back, PostgreSQL a datetime."""
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    assert moment is not None, value
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _rows_aside(schema_editor: Any, columns: str) -> Any:
    """The rows set aside, a chunk at a time (SQLite: small databases, so Python does the conversion)."""
    with schema_editor.connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {ASIDE}")
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def _set_aside(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"CREATE TABLE {ASIDE} AS SELECT * FROM {TABLE}")


def _finish(schema_editor: Any) -> None:
    """Drop the aside table; on PostgreSQL, carry the id sequence on and partition the rebuilt table."""
    schema_editor.execute(f"DROP TABLE {ASIDE}")
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), coalesce(max(id), 0) + 1, false) FROM {TABLE}"
    )
    # 0007's BRIN index on the time range, made again before partitioning so that carries it over.
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS reqlog_created_brin ON {TABLE} USING brin (created_at)")
    convert_to_partitioned(schema_editor, TABLE, "created_at", now=timezone.now())


# On PostgreSQL the conversion is one INSERT … SELECT each way (a Python loop would take hours on a
# month of requests); it encodes exactly as developer/log_codec.py does, which the tests check.
_LEAN_SQL = f"""
INSERT INTO developer_useragent (text)
SELECT DISTINCT user_agent FROM {ASIDE} WHERE user_agent <> '' ON CONFLICT (text) DO NOTHING;
INSERT INTO {TABLE} ({NEW_COLUMNS})
SELECT a.id, a.created_at, a.organization_id, a.api_key_id, round(a.latency_ms * 100)::integer, u.id, a.status_code,
       CASE WHEN a.request_id ~ '^req_[0-9a-f]{{24}}$' THEN decode(substr(a.request_id, 5), 'hex')
            WHEN octet_length(a.request_id) = 11 THEN convert_to(a.request_id, 'UTF8') || '\\x0000'::bytea
            ELSE convert_to(a.request_id, 'UTF8') || '\\x00'::bytea END,
       a.mode, a.method,
       CASE WHEN left(a.path, 14) = '/api/public/v1' AND substr(a.path, 15, 1) <> '!' THEN substr(a.path, 15)
            ELSE '!' || a.path END,
       a.query_string, a.error_code, a.key_masked, a.client_ip
FROM {ASIDE} a LEFT JOIN developer_useragent u ON a.user_agent <> '' AND u.text = a.user_agent
"""
_OLD_SQL = f"""
INSERT INTO {TABLE} ({OLD_COLUMNS})
SELECT a.id,
       CASE WHEN octet_length(a.request_id) = 12 THEN 'req_' || encode(a.request_id, 'hex')
            ELSE convert_from(rtrim(a.request_id, '\\x00'::bytea), 'UTF8') END,
       a.organization_id, a.api_key_id, a.key_masked, a.mode, a.method,
       CASE WHEN left(a.path, 1) = '!' THEN substr(a.path, 2) ELSE '/api/public/v1' || a.path END,
       a.query_string, a.status_code, a.error_code, (a.latency_hundredths / 100.0)::double precision, a.client_ip,
       coalesce(u.text, ''), a.created_at
FROM {ASIDE} a LEFT JOIN developer_useragent u ON u.id = a.agent_id
"""


def fill_lean(apps: Any, schema_editor: Any) -> None:
    """Forward: every row set aside, converted into the new layout (the fields encode the values)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_LEAN_SQL, params=None)
        _finish(schema_editor)
        return
    RequestLog = apps.get_model("developer", "RequestLog")
    UserAgent = apps.get_model("developer", "UserAgent")
    for rows in _rows_aside(schema_editor, OLD_COLUMNS):
        agents = {text for *_, text, _ in rows if text}
        known = dict(UserAgent.objects.filter(text__in=agents).values_list("text", "pk"))
        if missing := agents - known.keys():
            UserAgent.objects.bulk_create([UserAgent(text=text) for text in missing])
            known.update(UserAgent.objects.filter(text__in=missing).values_list("text", "pk"))
        RequestLog.objects.bulk_create(
            RequestLog(
                id=pk,
                request_id=request_id,
                organization_id=organization_id,
                api_key_id=api_key_id,
                key_masked=key_masked,
                mode=mode,
                method=method,
                path=path,
                query_string=query_string,
                status_code=status_code,
                error_code=error_code,
                latency_ms=latency_ms,
                client_ip=client_ip,
                agent_id=known[user_agent] if user_agent else None,
                created_at=_aware(created_at),
            )
            for (
                pk,
                request_id,
                organization_id,
                api_key_id,
                key_masked,
                mode,
                method,
                path,
                query_string,
                status_code,
                error_code,
                latency_ms,
                client_ip,
                user_agent,
                created_at,
            ) in rows
        )
    _finish(schema_editor)


def fill_old(apps: Any, schema_editor: Any) -> None:
    """Backward: every row set aside (lean), converted back into 0008's layout."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_OLD_SQL, params=None)
        _finish(schema_editor)
        return
    RequestLog = apps.get_model("developer", "RequestLog")
    agents = dict(apps.get_model("developer", "UserAgent").objects.values_list("pk", "text"))
    for rows in _rows_aside(schema_editor, NEW_COLUMNS):
        RequestLog.objects.bulk_create(
            RequestLog(
                id=pk,
                request_id=developer.models.decode_request_id(bytes(request_id)),
                organization_id=organization_id,
                api_key_id=api_key_id,
                key_masked=key_masked,
                mode=mode,
                method=method,
                path=developer.models.decode_path(path),
                query_string=query_string,
                status_code=status_code,
                error_code=error_code,
                latency_ms=latency / 100,
                client_ip=client_ip,
                user_agent=agents[agent_id] if agent_id is not None else "",
                created_at=_aware(created_at),
            )
            for (
                pk,
                created_at,
                organization_id,
                api_key_id,
                latency,
                agent_id,
                status_code,
                request_id,
                mode,
                method,
                path,
                query_string,
                error_code,
                key_masked,
                client_ip,
            ) in rows
        )
    _finish(schema_editor)


def _no_op(apps: Any, schema_editor: Any) -> None:
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_membership_access_granted_seen_at"),
        ("developer", "0008_request_log_partition_by_time"),
    ]

    operations = [
        migrations.CreateModel(
            name="UserAgent",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200, unique=True)),
            ],
        ),
        # Forward: the old rows go aside. Backward (last step back): they come back in the old layout.
        migrations.RunPython(_set_aside, fill_old, elidable=False),
        migrations.DeleteModel(name="RequestLog"),
        migrations.CreateModel(
            name="RequestLog",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField()),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text="Empty when the request named no key of any organisation.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="request_logs",
                        to="accounts.organization",
                    ),
                ),
                (
                    "api_key",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="developer.apikey",
                    ),
                ),
                ("latency_ms", developer.models.HundredthsField(db_column="latency_hundredths")),
                (
                    "agent",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="developer.useragent",
                    ),
                ),
                ("status_code", models.PositiveSmallIntegerField()),
                ("request_id", developer.models.RequestIdField(max_length=40)),
                ("mode", models.CharField(blank=True, choices=[("live", "Live"), ("test", "Test")], max_length=4)),
                ("method", models.CharField(max_length=10)),
                ("path", developer.models.ApiPathField(max_length=500)),
                ("query_string", models.CharField(blank=True, max_length=1000)),
                ("error_code", models.CharField(blank=True, max_length=40)),
                ("key_masked", models.CharField(blank=True, max_length=40)),
                ("client_ip", models.GenericIPAddressField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["organization", "-created_at", "-id"], name="reqlog_org_time"),
                    models.Index(
                        condition=models.Q(("api_key__isnull", False)),
                        fields=["api_key", "-created_at"],
                        name="reqlog_key",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("request_id", "created_at"), name="reqlog_request_unique")
                ],
            },
        ),
        # Forward: the rows come back converted. Backward (first step back): the lean rows go aside.
        migrations.RunPython(fill_lean, _set_aside, elidable=False),
    ]
