"""The "Usage reviewers" group: view-only access in admin to usage, charges, ledgers and add-on grants."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Usage reviewers"
# View permissions only: reviewers can list, filter and export, never add, change or delete.
VIEW_CODENAMES = [
    "view_usagerollup", "view_usagerecord", "view_ledgerentry", "view_wallet", "view_monthlyusage",
    "view_platformaddon",
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations run; make sure billing's exist now.
    app_config = apps.get_app_config("billing")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label="billing", codename__in=VIEW_CODENAMES))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0004_metering_rollups"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
