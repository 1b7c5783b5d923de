"""The request log becomes a table partitioned by week of ``created_at`` on PostgreSQL (plain on SQLite).

Retention drops whole weeks (core/partitions.py, developer/public_api/request_log.py ``prune``). A
unique constraint on a partitioned table must include the partition key, so the flush's dedupe
is on (``request_id``, ``created_at``) (migration 0007): a retried batch carries the same
pair, so each request is still inserted once. The rows are copied once, inside this migration's
transaction: on a large table, run it in a quiet hour.
"""

from django.db import migrations
from django.utils import timezone

from core.partitions import convert_to_partitioned


def partition(apps, schema_editor):
    convert_to_partitioned(schema_editor, "developer_requestlog", "created_at", now=timezone.now())


def one_way(apps, schema_editor):
    # Earlier migrations, run backwards, would put back constraints a partitioned table cannot hold
    # (a unique index or a foreign key without the partition key): refuse plainly instead of halfway.
    if schema_editor.connection.vendor == "postgresql":
        raise migrations.exceptions.IrreversibleError(
            "The partitioned tables stay partitioned: restore a backup taken before this migration to go back."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("developer", "0007_lean_request_log_indexes"),
    ]

    operations = [
        migrations.RunPython(partition, one_way, elidable=False),
    ]
