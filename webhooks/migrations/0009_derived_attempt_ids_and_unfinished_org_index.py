"""Attempt ids follow from their delivery's; the organization index holds unfinished deliveries only
(issue 22, point 1).

- A new attempt stores no id of its own: ``Attempt.public_id`` is ``att_`` + the delivery's random part
  + the number. Attempts made before keep theirs in the same column, now ``legacy_public_id``
  (their API id and their usage records' reference stay as they were).
- ``del_org_status`` indexed every delivery by organization; its queries (an organization's turns
  and holds) ask for pending or held rows only, and deleting an organization now reaches its
  deliveries through its endpoints (``on_delete=DO_NOTHING`` on the organization), so the index
  becomes ``del_org_unfinished``, partial.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_membership_access_granted_seen_at"),
        ("webhooks", "0008_trim_delivery_and_event_indexes"),
    ]

    operations = [
        migrations.RenameField(model_name="attempt", old_name="public_id", new_name="legacy_public_id"),
        migrations.AlterField(
            model_name="attempt",
            name="legacy_public_id",
            field=models.CharField(blank=True, db_column="public_id", default="", editable=False, max_length=40),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="webhook_deliveries",
                to="accounts.organization",
            ),
        ),
        migrations.RemoveIndex(model_name="delivery", name="del_org_status"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "held"])),
                fields=["organization", "status", "created_at"],
                name="del_org_unfinished",
            ),
        ),
    ]
