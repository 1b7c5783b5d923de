"""Public API: GET /usage — usage and charges by key, by metric and by day, and the month's free quota."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import Organization
from billing.attribution import UsageSource
from billing.models import Metric
from billing.quota import parse_iso_date
from developer.public_api.base import PublicApiView, ok
from developer.public_api.exceptions import ValidationFailed
from developer.public_api.requests import ApiRequest

from .payloads import usage_json
from .reports import (
    MAX_RANGE_DAYS,
    default_range,
    usage_report,
)


def parse_range(from_value: str | None, to_value: str | None) -> tuple[date, date]:
    """`from`/`to` as ISO dates (YYYY-MM-DD, both included); month to date (UTC) when absent."""
    default_start, default_end = default_range()
    errors: dict[str, list[str]] = {}
    parsed: dict[str, date] = {}
    for name, value, default in (("from", from_value, default_start), ("to", to_value, default_end)):
        if value in (None, ""):
            parsed[name] = default
            continue
        day = parse_iso_date(value)
        if day is None:
            errors[name] = ["Must be an ISO 8601 date, e.g. 2026-11-01."]
        else:
            parsed[name] = day
    if not errors:
        if parsed["to"] < parsed["from"]:
            errors["to"] = ["Must be on or after 'from'."]
        elif (parsed["to"] - parsed["from"]).days + 1 > MAX_RANGE_DAYS:
            errors["to"] = [f"A report covers at most {MAX_RANGE_DAYS} days."]
    if errors:
        raise ValidationFailed(fields=errors)
    return parsed["from"], parsed["to"]


# --- the documented shape of usage_json (OpenAPI only; the view builds plain dicts) ----------------

_MONEY_HELP = 'Exact decimal string in USD, e.g. "0.40" or "0.0004".'


class UsageLineSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.values)
    quantity = serializers.IntegerField(min_value=0)
    charges = serializers.CharField(help_text=_MONEY_HELP)


class KeyUsageSerializer(serializers.Serializer):
    keyId = serializers.CharField(
        allow_null=True,
        help_text="`key_…`; null for usage no key caused (see `source`).",
    )
    name = serializers.CharField(help_text='The key\'s name; "System" or "Dashboard" without a key.')
    maskedKey = serializers.CharField(allow_null=True)
    # The wire name shadows Field.source; SerializerMetaclass pops declared fields off the class.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=UsageSource.values,
        help_text="What caused the usage. `api`: requests of this key and the work they caused (the webhook "
        "attempts and retries of the events they raised, the deliveries they replayed, the tool calls they "
        "asked for). `dashboard`: actions of people in the dashboard (a test send, a replay, a tool test). "
        "`system`: the phone system (calls, texts received, automatic replies) and the simulator.",
    )
    charges = serializers.CharField(help_text=_MONEY_HELP)
    metrics = UsageLineSerializer(many=True)


class DayUsageSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC calendar day.")
    charges = serializers.CharField(help_text=_MONEY_HELP)
    metrics = UsageLineSerializer(many=True)


class ModeUsageSerializer(serializers.Serializer):
    charges = serializers.CharField(help_text=_MONEY_HELP)
    byMetric = UsageLineSerializer(many=True)
    byKey = KeyUsageSerializer(many=True)
    byDay = DayUsageSerializer(many=True, help_text="Every day of the range, oldest first.")


class QuotaLineSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.values)
    included = serializers.IntegerField(min_value=0, help_text="Free units per calendar month (UTC).")
    used = serializers.IntegerField(min_value=0, help_text="Free units used by live usage this month.")
    remaining = serializers.IntegerField(min_value=0)
    unitSize = serializers.IntegerField(min_value=1, help_text="Units per charge: 1,000 for API requests, else 1.")
    unitPrice = serializers.CharField(help_text="Price per charged unit (per block of 1,000 API requests).")


class FreeQuotaSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (UTC).")
    plan = serializers.CharField(allow_null=True)
    metrics = QuotaLineSerializer(many=True)


class WalletSerializer(serializers.Serializer):
    balance = serializers.CharField(help_text=_MONEY_HELP)
    monthToDateSpend = serializers.CharField(help_text=_MONEY_HELP)


class BillingPeriodSerializer(serializers.Serializer):
    timeZone = serializers.CharField(help_text="Always UTC: the billing month is the calendar month in UTC.")
    start = serializers.DateTimeField(help_text="First instant of the current billing month (UTC).")
    end = serializers.DateTimeField(help_text="First instant of the next billing month (UTC), exclusive.")
    localTimeZone = serializers.CharField(help_text="The business's time zone (the one its dashboard shows).")
    localStart = serializers.DateTimeField(help_text="`start` in `localTimeZone`, with its offset.")
    localEnd = serializers.DateTimeField(help_text="`end` in `localTimeZone`, with its offset.")
    billableRequests = serializers.CharField(help_text="Which API answers are billed.")


class UsageSerializer(serializers.Serializer):
    # `from` is a Python keyword, hence the explicit field names below.
    to = serializers.DateField()
    currency = serializers.CharField()
    live = ModeUsageSerializer()
    test = ModeUsageSerializer(help_text="Test-mode usage: counted for visibility, never charged.")
    freeQuota = FreeQuotaSerializer()
    wallet = WalletSerializer()
    billingPeriod = BillingPeriodSerializer()

    def get_fields(self) -> dict[str, serializers.Field]:
        return {"from": serializers.DateField(), **super().get_fields()}


# An empty value means "the default", as in a submitted form.
_OPTIONAL_DATE = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}

USAGE_PARAMETERS = [
    OpenApiParameter(
        "from",
        _OPTIONAL_DATE,
        required=False,
        description="First UTC day (YYYY-MM-DD), inclusive. Default: the first day of this month.",
    ),
    OpenApiParameter(
        "to",
        _OPTIONAL_DATE,
        required=False,
        description=f"Last UTC day, inclusive. Default: today. At most {MAX_RANGE_DAYS} days in all.",
    ),
]


class UsageView(PublicApiView):
    required_scope = "read:usage"

    @extend_schema(
        operation_id="getUsage",
        summary="Usage and charges by key, metric and day",
        parameters=USAGE_PARAMETERS,
        responses=UsageSerializer,
    )
    def get(self, request: ApiRequest) -> Response:
        start, end = parse_range(request.query_params.get("from"), request.query_params.get("to"))
        organization = Organization.objects.get(pk=request.auth.organization_id)
        report = usage_report(organization=organization, start=start, end=end)
        return ok(usage_json(report, organization), "Usage and charges, by key, metric and day (UTC).")
