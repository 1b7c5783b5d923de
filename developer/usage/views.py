"""Settings → Developer → Usage: balance, spend, runway, usage by key and metric over time, CSV export.

Every number comes from `developer.usage.reports`, the same code behind GET /usage. The range and metric
switches are plain GET forms; with htmx the page answers with its `usage-panel` partial only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from billing.models import Metric, Mode
from billing.quota import csv_text, days_between, money, parse_iso_date
from developer.dashboard import HtmxHttpRequest, dashboard_view, viewing_mode
from developer.models import ApiKey

from .charts import NARROW, WIDE, bar_chart_svg
from .reports import (
    MAX_RANGE_DAYS,
    UsageReport,
    billing_period,
    daily_usage_rows,
    default_range,
    free_quota,
    usage_report,
    wallet_summary,
)

# The range switch: label and length in days (None: month to date; "custom" reads from/to).
RANGE_PRESETS: dict[str, tuple[str, int | None]] = {
    "mtd": ("Month to date", None),
    "7d": ("Last 7 days", 7),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
}
CHART_UNITS: dict[str, str] = {
    Metric.API_REQUESTS: "requests",
    Metric.WEBHOOK_ATTEMPTS: "attempts",
    Metric.TOOL_INVOCATIONS: "invocations",
    Metric.SMS_SEGMENTS: "segments",
}


@dataclass(frozen=True)
class Selection:
    """What the switches chose: a date range (UTC days, inclusive) and the metric to chart."""

    preset: str
    start: date
    end: date
    metric: str
    error: str = ""

    def query(self) -> dict[str, str]:
        params = {"range": self.preset, "metric": self.metric}
        if self.preset == "custom":
            params.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        return params


def _preset_range(preset: str, today: date) -> tuple[date, date]:
    days = RANGE_PRESETS[preset][1]
    return default_range(today) if days is None else (today - timedelta(days=days - 1), today)


def _selection(request: HtmxHttpRequest) -> Selection:
    """The range the switches ask for. A custom range that cannot be shown as asked is not ignored: the page
    shows the nearest range it can and says why (GET /usage refuses an inverted or over-long range outright)."""
    today = timezone.now().date()
    metric = request.GET.get("metric", Metric.API_REQUESTS)
    if metric not in Metric.values:
        metric = Metric.API_REQUESTS
    preset = request.GET.get("range", "mtd")
    if preset != "custom":
        preset = preset if preset in RANGE_PRESETS else "mtd"
        return Selection(preset, *_preset_range(preset, today), metric)
    raw = {"From": request.GET.get("from", "").strip(), "To": request.GET.get("to", "").strip()}
    parsed = {name: parse_iso_date(value) for name, value in raw.items()}
    unreadable = [name for name, day in parsed.items() if day is None]
    start, end = parsed["From"], parsed["To"]
    if unreadable or start is None or end is None:
        which = " and ".join(f"“{name}”" for name in unreadable)
        missing = all(not raw[name] for name in unreadable)
        problem = (
            f"Give {which}" if missing else f"{which} {'is not a date' if len(unreadable) == 1 else 'are not dates'}"
        )
        return Selection(
            "mtd",
            *_preset_range("mtd", today),
            metric,
            f"{problem}: use YYYY-MM-DD, e.g. {today.isoformat()}. Showing month to date instead.",
        )
    notes = []
    if end < start:
        start, end = end, start
        notes.append("“From” was after “To”, so the two dates were swapped.")
    if start > today:
        return Selection(
            "mtd",
            *_preset_range("mtd", today),
            metric,
            f"The range starts after today ({_day(today)}, UTC), so there is no usage in it yet. Showing month to date instead.",
        )
    if end > today:
        end = today
        notes.append(f"There is no usage after today yet, so the range ends today, {_day(today)} (UTC).")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        asked = (end - start).days + 1
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
        notes.append(
            f"A range covers at most {MAX_RANGE_DAYS} days and this one has {asked}: "
            f"showing the last {MAX_RANGE_DAYS}, from {_day(start)} to {_day(end)}."
        )
    if notes:
        return Selection("custom", start, end, metric, " ".join(notes))
    # Dates that are exactly a preset's range (the metric switch re-sends them) keep that preset's name.
    for name in RANGE_PRESETS:
        if _preset_range(name, today) == (start, end):
            return Selection(name, start, end, metric)
    return Selection("custom", start, end, metric)


def _day(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _charts(report: UsageReport, selection: Selection, chart_id: str, mode: str) -> tuple[str, str]:
    """The daily bars of the selected metric, drawn wide (desktop) and narrow (phone); CSS shows one."""
    dates = days_between(report.start, report.end)
    values = [report.modes[mode].by_day[day][selection.metric].quantity for day in dates]
    title = f"{Metric(selection.metric).label} per day, {report.start:%b %-d} – {report.end:%b %-d, %Y} (UTC)"
    unit = CHART_UNITS[selection.metric]
    return (
        bar_chart_svg(title=title, dates=dates, values=values, unit=unit, size=WIDE, chart_id=chart_id),
        bar_chart_svg(title=title, dates=dates, values=values, unit=unit, size=NARROW, chart_id=f"{chart_id}-narrow"),
    )


@dataclass(frozen=True)
class KeyRow:
    public_id: str | None
    name: str
    masked: str
    mode: str
    quantities: list[int]
    charges: str


def _key_rows(report: UsageReport, modes: tuple[str, ...]) -> list[KeyRow]:
    rows = []
    for mode in modes:
        for key in report.modes[mode].by_key:
            rows.append(
                KeyRow(
                    public_id=key.public_id,
                    name=key.name,
                    masked=key.masked,
                    mode=mode,
                    quantities=[key.metrics[metric].quantity for metric in Metric.values],
                    charges=money(key.amount),
                )
            )
    return rows


def _panel_context(
    report: UsageReport,
    selection: Selection,
    *,
    chart_id: str,
    action: str,
    key: ApiKey | None = None,
    modes: tuple[str, ...] = (Mode.LIVE, Mode.TEST),
) -> dict[str, Any]:
    csv_query = selection.query() | ({"key": key.public_id} if key else {})
    # A key has one mode; the overview charts the mode being viewed.
    chart_wide, chart_narrow = _charts(report, selection, chart_id, key.mode if key else modes[0])
    return {
        "selection": selection,
        "report": report,
        "chart_wide": chart_wide,
        "chart_narrow": chart_narrow,
        "metrics": Metric.choices,
        "preset_links": [
            (name, label, urlencode({"range": name, "metric": selection.metric}))
            for name, (label, _) in RANGE_PRESETS.items()
        ],
        "action": action,
        "today": timezone.now().date(),  # the date inputs' max: usage stops at today (UTC)
        "max_range_days": MAX_RANGE_DAYS,
        "csv_url": f"{reverse('usage:usage_csv')}?{urlencode(csv_query)}",
        "query_string": urlencode(selection.query()),
        "totals": [
            (
                mode,
                [report.modes[mode].by_metric[metric].quantity for metric in Metric.values],
                money(report.modes[mode].amount),
            )
            for mode in modes
        ],
        "key_rows": _key_rows(report, modes),
    }


def _wants_partial(request: HtmxHttpRequest) -> bool:
    # A history restore (back button after hx-push-url) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@dashboard_view
def usage(request: HtmxHttpRequest) -> HttpResponse:
    selection = _selection(request)
    report = usage_report(organization=request.organization, start=selection.start, end=selection.end)
    # The overview follows "Viewing test data": live usage, or test usage (never charged).
    context = _panel_context(
        report, selection, chart_id="usage-chart", action=reverse("usage:usage"), modes=(viewing_mode(request),)
    )
    if _wants_partial(request):
        return render(request, "usage/usage.html#usage-panel", context)
    month, plan_code, quota = free_quota(organization=request.organization)
    context.update(
        wallet=wallet_summary(organization=request.organization),
        quota=quota,
        quota_month=month,
        plan_code=plan_code,
        # Rendered in the business's time zone (dashboard_view activates it); the month itself is UTC's.
        period=billing_period(),
    )
    return render(request, "usage/usage.html", context)


def _key_for(request: HtmxHttpRequest, key_id: str) -> ApiKey:
    """One of the acting organisation's keys, or 404 (another business's key id is simply unknown)."""
    key = ApiKey.objects.filter(organization=request.organization, public_id=key_id).first()
    if key is None:
        raise Http404("No such API key.")
    return key


@require_GET
@dashboard_view
def key_usage(request: HtmxHttpRequest, key_id: str) -> HttpResponse:
    key = _key_for(request, key_id)
    selection = _selection(request)
    report = usage_report(
        organization=request.organization, start=selection.start, end=selection.end, api_key_id=key.pk
    )
    context = _panel_context(
        report, selection, chart_id="key-usage-chart", action=reverse("usage:key_usage", args=[key.public_id]), key=key
    )
    by_day = report.modes[key.mode].by_day
    context.update(
        key=key,
        days=[
            (
                day,
                [by_day[day][metric].quantity for metric in Metric.values],
                money(sum((by_day[day][metric].amount for metric in Metric.values), Decimal("0"))),
            )
            for day in sorted(by_day, reverse=True)
        ],
    )
    if _wants_partial(request):
        return render(request, "usage/key_usage.html#usage-panel", context)
    return render(request, "usage/key_usage.html", context)


CSV_HEADER = ["date", "key_id", "key_name", "key_mode", "mode", "metric", "quantity", "charges_usd"]


@require_GET
@dashboard_view
def usage_csv(request: HtmxHttpRequest) -> HttpResponse:
    """The selected range (and key, with ?key=) as CSV: one row per UTC day, key, mode and metric used."""
    selection = _selection(request)
    key = _key_for(request, request.GET["key"]) if request.GET.get("key") else None
    rows = daily_usage_rows(
        organization=request.organization, start=selection.start, end=selection.end, api_key_id=key.pk if key else None
    )
    filename = f"usage-{request.organization.public_id}-{selection.start}-to-{selection.end}"
    if key is not None:
        filename += f"-{key.public_id}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.day.isoformat(),
                row.key_public_id or "",
                csv_text(row.key_name),
                row.key_mode or "",
                row.mode,
                row.metric,
                row.quantity,
                money(row.amount),
            ]
        )
    return response
