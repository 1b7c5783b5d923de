"""Move tool credentials and tool-call signing secrets under FIELD_ENCRYPTION_KEY.

They were already encrypted under it when it was set; where it was left empty they were under a
key derived from SECRET_KEY, which core/crypto.py keeps as a legacy decrypt-only key until this
runs. Idempotent, batched; a secret no key opens is left as it is and logged.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from core.crypto import reencrypt_rows


def reencrypt_tool_secrets(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    reencrypt_rows(apps.get_model("agents", "CustomTool"), ("auth_secret_encrypted",), label="agents.CustomTool")
    reencrypt_rows(
        apps.get_model("agents", "ToolSigningSecret"),
        ("secret_encrypted", "previous_secret_encrypted"),
        label="agents.ToolSigningSecret",
    )


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_rename_tool_signing_secret_previous_expires_at")]

    operations = [migrations.RunPython(reencrypt_tool_secrets, migrations.RunPython.noop, elidable=True)]
