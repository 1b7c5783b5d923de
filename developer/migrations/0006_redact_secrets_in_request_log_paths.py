"""Redacts API keys and whsec_ secrets that earlier versions stored in request-log paths.

The pattern is copied from developer.logging.redact_path (a migration must not change when the app
does). Idempotent and batched by primary key outside one big transaction, so a large table is never
locked for long and an interrupted run can simply be run again; works on SQLite and PostgreSQL.
"""

import re

from django.db import migrations
from django.db.models import Q

SECRET_IN_PATH = re.compile(r"(aip_(?:live|test)_|whsec_)[A-Za-z0-9_\-]+")
BATCH = 1000


def redact_stored_paths(apps, schema_editor):
    RequestLog = apps.get_model("developer", "RequestLog")
    suspects = RequestLog.objects.filter(
        Q(path__contains="aip_live_") | Q(path__contains="aip_test_") | Q(path__contains="whsec_")
    ).order_by("pk")
    last_pk = 0
    while True:
        batch = list(suspects.filter(pk__gt=last_pk).values_list("pk", "path")[:BATCH])
        if not batch:
            return
        for pk, path in batch:
            redacted = SECRET_IN_PATH.sub(r"\1[REDACTED]", path)
            if redacted != path:
                RequestLog.objects.filter(pk=pk).update(path=redacted)
        last_pk = batch[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("developer", "0005_request_log_lighter_writes"),
    ]

    operations = [
        migrations.RunPython(redact_stored_paths, migrations.RunPython.noop, elidable=True),
    ]
