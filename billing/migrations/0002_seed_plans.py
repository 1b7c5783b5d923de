from decimal import Decimal

from django.db import migrations

# Launch rates; staff edit them in admin afterwards (charges copy the rate they were made at).
PLANS = [
    ("BASIC", "Basic", 60, 10_000, "0.50", 1_000, "0.0005", 500, "0.002", 0, "0.0079"),
    ("PRO", "Pro", 300, 100_000, "0.40", 10_000, "0.0004", 5_000, "0.0015", 0, "0.0079"),
    ("ENTERPRISE", "Enterprise", 1200, 1_000_000, "0.25", 100_000, "0.0002", 50_000, "0.001", 0, "0.0075"),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for code, name, rate, api_free, api_price, wh_free, wh_price, tool_free, tool_price, sms_free, sms_price in PLANS:
        Plan.objects.get_or_create(
            code=code,
            defaults=dict(
                name=name, rate_limit_per_minute=rate,
                api_requests_free=api_free, api_request_block_price=Decimal(api_price),
                webhook_attempts_free=wh_free, webhook_attempt_price=Decimal(wh_price),
                tool_invocations_free=tool_free, tool_invocation_price=Decimal(tool_price),
                sms_segments_free=sms_free, sms_segment_price=Decimal(sms_price),
            ),
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
