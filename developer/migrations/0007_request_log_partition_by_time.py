"""The request log becomes a table partitioned by week of ``created_at`` on PostgreSQL (plain on SQLite).

Retention drops whole weeks (core/partitions.py, developer/public_api/request_log.py ``prune``). A
unique constraint on a partitioned table must include the partition key, so the flush's dedupe
moves from ``request_id`` alone to (``request_id``, ``created_at``): a retried batch carries the same
pair, so each request is still inserted once. The rows are copied once, inside this migration's
transaction: on a large table, run it in a quiet hour.
"""

from django.db import migrations, models
from django.utils import timezone

from core.partitions import convert_to_partitioned


def partition(apps, schema_editor):
    convert_to_partitioned(schema_editor, "developer_requestlog", "created_at", now=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_membership_access_granted_seen_at'),
        ('developer', '0006_redact_secrets_in_request_log_paths'),
    ]

    operations = [
        migrations.AlterField(
            model_name='requestlog',
            name='request_id',
            field=models.CharField(max_length=40),
        ),
        migrations.AddConstraint(
            model_name='requestlog',
            constraint=models.UniqueConstraint(fields=('request_id', 'created_at'), name='reqlog_request_once'),
        ),
        # Backwards the table stays partitioned: the older schema works on it as it is.
        migrations.RunPython(partition, migrations.RunPython.noop, elidable=False),
    ]
