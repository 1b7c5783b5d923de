"""Event bodies stored zlib-compressed (``core.fields.CompressedTextField``; issue 22, point 1).

PostgreSQL compresses only values in rows over about 2 KB, and a typical body is 1-2 KB, so bodies
were stored as they were. The body moves to a compressed column of the same name, in batches by key;
going back restores the text.
"""

from typing import Any

import core.fields
from django.db import migrations, models

BATCH = 2000


def _batches(queryset: Any) -> Any:
    last = 0
    while rows := list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH]):
        yield rows
        last = rows[-1].pk


def bodies_forward(apps: Any, schema_editor: Any) -> None:
    Event = apps.get_model("webhooks", "Event")
    for rows in _batches(Event.objects.only("pk", "body")):
        for row in rows:
            row.body_compressed = row.body
        Event.objects.bulk_update(rows, ["body_compressed"])


def bodies_backward(apps: Any, schema_editor: Any) -> None:
    Event = apps.get_model("webhooks", "Event")
    for rows in _batches(Event.objects.only("pk", "body_compressed")):
        for row in rows:
            row.body = row.body_compressed or ""
        Event.objects.bulk_update(rows, ["body"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0006_lean_attempts_drop_copies_and_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="body_compressed",
            field=core.fields.CompressedTextField(editable=True, null=True),
        ),
        # Nullable before the move, so that going back re-adds the column empty and then fills it.
        migrations.AlterField(model_name="event", name="body", field=models.TextField(null=True)),
        migrations.RunPython(bodies_forward, bodies_backward, elidable=True),
        migrations.RemoveField(model_name="event", name="body"),
        migrations.RenameField(model_name="event", old_name="body_compressed", new_name="body"),
        migrations.AlterField(
            model_name="event",
            name="body",
            field=core.fields.CompressedTextField(editable=True),
        ),
    ]
