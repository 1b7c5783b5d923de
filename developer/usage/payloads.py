"""The wire dict of GET /usage: charges by metric, key and day per mode, the free quota and the wallet."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, tzinfo
from typing import Any

from accounts.models import Organization
from billing.models import Mode
from billing.quota import money
from core.timefmt import iso

from .reports import ZERO, Amounts, ModeUsage, UsageReport, billing_period, wallet_summary


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
        "billingPeriod": billing_period_json(organization),
    }


def billing_period_json(organization: Organization) -> dict[str, Any]:
    """The current billing month (UTC), its bounds also in the business's time zone (what its dashboard shows)."""
    period = billing_period()
    zone = _zone(organization.timezone)
    local_start, local_end = period.local(zone)
    return {
        "timeZone": "UTC",
        "start": iso(period.start),
        "end": iso(period.end),
        "localTimeZone": str(zone),
        "localStart": local_start.isoformat(),
        "localEnd": local_end.isoformat(),
        "billableRequests": BILLABLE_REQUESTS,
    }


# What counts as a billable API request (developer.public_api.apicount.billable_status), in words.
BILLABLE_REQUESTS = (
    "Answers below 400. Client errors (400, 404 for an unknown route or id, 405, 409, 413, ...) and refusals "
    "(401, 402, 403, 429) are not billed."
)


def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC
