"""Lean attempt rows, step 2 of 2: the copies of the body and headers go, and indexes that cost
more than they give (issue 22, point 1).

Attempt ``public_id`` is no longer unique-indexed (nothing looks an attempt up by it; it is as
random as every public id), the foreign-key index on ``delivery`` is covered by the (delivery,
number) constraint's, ``number`` is a small integer, and ``started_at`` gets a BRIN index on
PostgreSQL instead of a B-tree (rows are written in time order; SQLite gets none, its tables are small).
"""

from typing import Any

import core.ids
import django.db.models.deletion
import django.utils.timezone
import functools
from django.db import migrations, models


def brin_forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS attempt_started_brin ON webhooks_attempt USING brin (started_at)"
        )


def brin_backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS attempt_started_brin")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0005_lean_attempts_compact_columns"),
    ]

    operations = [
        migrations.RemoveField(model_name="attempt", name="request_body"),
        migrations.RemoveField(model_name="attempt", name="request_headers"),
        migrations.AlterField(
            model_name="attempt",
            name="delivery",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attempts",
                to="webhooks.delivery",
            ),
        ),
        migrations.AlterField(
            model_name="attempt",
            name="number",
            field=models.PositiveSmallIntegerField(),
        ),
        migrations.AlterField(
            model_name="attempt",
            name="public_id",
            field=models.CharField(
                default=functools.partial(core.ids.new_public_id, *("att",), **{}), editable=False, max_length=40
            ),
        ),
        migrations.AlterField(
            model_name="attempt",
            name="started_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(brin_forward, brin_backward, elidable=True),
    ]
