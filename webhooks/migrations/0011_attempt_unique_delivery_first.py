"""Put ``attempt_number_unique`` back in its declared column order on databases partitioned by 0010.

0010's conversion (core.partitions) rebuilt each constraint with its columns in table order, which
made this one ``(number, delivery_id, started_at)``: an index a delivery's attempts cannot be found by.
The conversion now keeps the declared order, so fresh databases already have ``(delivery_id, number,
started_at)``; this rebuilds the constraint where it is still the other way round. On a large table
it holds the attempts' lock while the index builds: run it in a quiet hour. SQLite: nothing to do.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

WRONG = "UNIQUE (number, delivery_id, started_at)"
RIGHT = "UNIQUE (delivery_id, number, started_at)"


def delivery_first(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'webhooks_attempt'::regclass AND conname = 'attempt_number_unique'"
        )
        row = cursor.fetchone()
        if row is None or row[0] != WRONG:
            return
        cursor.execute(
            "ALTER TABLE webhooks_attempt DROP CONSTRAINT attempt_number_unique, "
            f"ADD CONSTRAINT attempt_number_unique {RIGHT}"
        )


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0010_partition_by_time")]

    operations = [migrations.RunPython(delivery_first, migrations.RunPython.noop)]
