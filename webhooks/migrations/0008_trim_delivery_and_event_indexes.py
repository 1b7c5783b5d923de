"""Delivery and event indexes that cost more than they give (issue 22, point 1).

Single-column foreign-key indexes on delivery.organization, delivery.endpoint and
event.organization duplicate the composite indexes that start with them; public ids of deliveries
and events are unique by a constraint instead of a unique field, which on PostgreSQL also carried a
LIKE (varchar_pattern_ops) index as large as the unique one; replay_of and api_key (both tables)
are mostly empty, so they get partial indexes (the SET NULLs on delete still find their rows); the due index holds only unfinished rows
(the sweep's and dashboards' queries all ask for pending or held). created_at of deliveries and
events trades its B-tree for a BRIN index on PostgreSQL: the prune's time range, at a tiny size.
"""

from typing import Any

import core.ids
import django.db.models.deletion
import django.utils.timezone
import functools
from django.db import migrations, models

_BRIN = {
    "delivery_created_brin": "webhooks_delivery",
    "event_created_brin": "webhooks_event",
}


def brin_forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, table in _BRIN.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin (created_at)")


def brin_backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in _BRIN:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_membership_access_granted_seen_at'),
        ('developer', '0007_lean_request_log_indexes'),
        ('webhooks', '0007_compressed_event_body'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='delivery',
            name='del_due',
        ),
        migrations.AlterField(
            model_name='delivery',
            name='api_key',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='developer.apikey'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='endpoint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.endpoint'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='organization',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='accounts.organization'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='public_id',
            field=models.CharField(default=functools.partial(core.ids.new_public_id, *('del',), **{}), editable=False, max_length=40),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='replay_of',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replays', to='webhooks.delivery'),
        ),
        migrations.AlterField(
            model_name='event',
            name='api_key',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='developer.apikey'),
        ),
        migrations.AlterField(
            model_name='event',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='event',
            name='organization',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_events', to='accounts.organization'),
        ),
        migrations.AlterField(
            model_name='event',
            name='public_id',
            field=models.CharField(default=functools.partial(core.ids.new_public_id, *('evt',), **{}), editable=False, max_length=40),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'held'])), fields=['status', 'next_attempt_at'], name='del_unfinished'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('replay_of__isnull', False)), fields=['replay_of'], name='del_replay_of'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('api_key__isnull', False)), fields=['api_key'], name='del_api_key'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('api_key__isnull', False)), fields=['api_key'], name='evt_api_key'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('public_id',), name='del_public_id_unique'),
        ),
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(fields=('public_id',), name='evt_public_id_unique'),
        ),
        migrations.RunPython(brin_forward, brin_backward, elidable=True),
    ]
