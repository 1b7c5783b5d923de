"""The wire dict of GET /usage: charges by metric, key and day per mode, the free quota and the wallet."""

from __future__ import annotations

from typing import Any

from accounts.models import Organization
from billing.models import Mode
from billing.quota import money

from .reports import ZERO, Amounts, ModeUsage, UsageReport, wallet_summary


def _line(metric: str, amounts: Amounts) -> dict[str, Any]:
    return {"metric": metric, "quantity": amounts.quantity, "charges": money(amounts.amount)}


def mode_json(usage: ModeUsage) -> dict[str, Any]:
    return {
        "charges": money(usage.amount),
        "byMetric": [_line(metric, amounts) for metric, amounts in usage.by_metric.items()],
        "byKey": [
            {
                "keyId": key.public_id,
                "name": key.name,
                "maskedKey": key.masked or None,
                "source": key.source,
                "charges": money(key.amount),
                "metrics": [_line(metric, amounts) for metric, amounts in key.metrics.items()],
            }
            for key in usage.by_key
        ],
        "byDay": [
            {
                "date": day.isoformat(),
                "charges": money(sum((a.amount for a in metrics.values()), ZERO)),
                "metrics": [_line(metric, amounts) for metric, amounts in metrics.items()],
            }
            for day, metrics in sorted(usage.by_day.items())
        ],
    }


def usage_json(report: UsageReport, organization: Organization) -> dict[str, Any]:
    wallet = wallet_summary(organization=organization)
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "currency": "USD",
        "live": mode_json(report.modes[Mode.LIVE]),
        # Test mode is counted for visibility and never charged.
        "test": mode_json(report.modes[Mode.TEST]),
        "freeQuota": {
            "month": f"{report.quota_month:%Y-%m}",
            "plan": report.plan_code,
            "metrics": [
                {
                    "metric": line.metric,
                    "included": line.included,
                    "used": line.used,
                    "remaining": line.remaining,
                    "unitSize": line.unit_size,
                    "unitPrice": money(line.unit_price),
                }
                for line in report.quota
            ],
        },
        "wallet": {"balance": money(wallet.balance), "monthToDateSpend": money(wallet.month_spend)},
    }
