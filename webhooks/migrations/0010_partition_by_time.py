"""Events, deliveries and attempts become tables partitioned by week on PostgreSQL (plain tables on SQLite).

Retention then drops whole weeks (core/partitions.py, webhooks/delivery.py ``deliveries_prune``), so a
prune costs the same at any volume. Each table is partitioned on the time its retention counts from:
events and deliveries on ``created_at``, attempts on ``started_at`` (an attempt is never older than
its delivery, so a week of attempts can go once the deliveries of that week and before are gone).

The foreign keys that point at these tables (delivery → event, delivery → replayed delivery,
attempt → delivery) lose their database constraint first: PostgreSQL would need the partition key
in them. Django still cascades on delete. The primary keys become (id, time) and the unique
constraints gain the time column (public ids are random, 20+ characters: unique in practice; the
attempt number per delivery is assigned under the delivery's claim). The conversion copies the rows
once, inside this migration's transaction: on a large table, run it in a quiet hour.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

from core.partitions import convert_to_partitioned

TABLES = (("webhooks_event", "created_at"), ("webhooks_delivery", "created_at"), ("webhooks_attempt", "started_at"))


def partition(apps, schema_editor):
    now = timezone.now()
    for table, column in TABLES:
        convert_to_partitioned(schema_editor, table, column, now=now)


def one_way(apps, schema_editor):
    # Earlier migrations, run backwards, would put back constraints a partitioned table cannot hold
    # (a unique index or a foreign key without the partition key): refuse plainly instead of halfway.
    if schema_editor.connection.vendor == "postgresql":
        raise migrations.exceptions.IrreversibleError(
            "The partitioned tables stay partitioned: restore a backup taken before this migration to go back."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0009_derived_attempt_ids_and_unfinished_org_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attempt",
            name="delivery",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attempts",
                to="webhooks.delivery",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.event",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="replay_of",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="replays",
                to="webhooks.delivery",
            ),
        ),
        migrations.RunPython(partition, one_way, elidable=False),
    ]
