"""Move every webhook signing secret from the legacy SECRET_KEY-derived key to FIELD_ENCRYPTION_KEY.

Until this runs the legacy key still decrypts them (core/crypto.py); afterwards SECRET_KEY can be
rotated freely. Idempotent, batched; a secret no key opens is left as it is and logged.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from core.crypto import reencrypt_rows


def reencrypt_endpoints(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    endpoint = apps.get_model("webhooks", "Endpoint")
    reencrypt_rows(endpoint, ("secret_encrypted", "previous_secret_encrypted"), label="webhooks.Endpoint")


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [migrations.RunPython(reencrypt_endpoints, migrations.RunPython.noop, elidable=True)]
