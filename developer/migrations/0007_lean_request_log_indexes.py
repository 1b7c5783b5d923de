"""A leaner request log (issue 22, point 1): about 300 bytes a row with its indexes on PostgreSQL.

- Uniqueness moves from request_id alone to (request_id, created_at): the flush's dedupe holds as
  before (both values come from the buffered entry) and the constraint can live on a table
  partitioned by time; its index also finds a request by id.
- The page index breaks ties on id (8 bytes) instead of request_id (29 bytes).
- A key's requests: (api_key, created_at) for rows with a key, in place of (organization, api_key,
  created_at) plus a foreign-key index on api_key alone.
- created_at's B-tree becomes a BRIN index on PostgreSQL (the prune's time range; rows arrive in
  time order). SQLite gets no index there.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def brin_forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS reqlog_created_brin ON developer_requestlog USING brin (created_at)"
        )


def brin_backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS reqlog_created_brin")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_membership_access_granted_seen_at'),
        ('developer', '0006_redact_secrets_in_request_log_paths'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='requestlog',
            options={'ordering': ['-created_at', '-id']},
        ),
        migrations.RemoveIndex(
            model_name='requestlog',
            name='reqlog_org_page',
        ),
        migrations.RemoveIndex(
            model_name='requestlog',
            name='reqlog_org_key',
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='api_key',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='developer.apikey'),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='created_at',
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='request_id',
            field=models.CharField(max_length=40),
        ),
        migrations.AddIndex(
            model_name='requestlog',
            index=models.Index(fields=['organization', '-created_at', '-id'], name='reqlog_org_time'),
        ),
        migrations.AddIndex(
            model_name='requestlog',
            index=models.Index(condition=models.Q(('api_key__isnull', False)), fields=['api_key', '-created_at'], name='reqlog_key'),
        ),
        migrations.AddConstraint(
            model_name='requestlog',
            constraint=models.UniqueConstraint(fields=('request_id', 'created_at'), name='reqlog_request_unique'),
        ),
        migrations.RunPython(brin_forward, brin_backward, elidable=True),
    ]
