"""Server-rendered SVG bar charts for the usage dashboard (pure Python, no Django, no JavaScript, no CDN).

The markup is self-describing for screen readers (<title>, <desc>, a <title> per day, which browsers also
show as the hover tooltip) and draws its own axes, grid and tick labels, so the page needs nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from html import escape

BAR_COLOUR = "#5145e5"  # the dashboard's accent (app.css --accent)


def nice_step(max_value: float, target_ticks: int = 4) -> int:
    """A round step (1, 2 or 5 × 10ⁿ) giving about `target_ticks` intervals up to `max_value`."""
    if max_value <= 0:
        return 1
    raw = max_value / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return max(1, int(factor * magnitude))
    return int(10 * magnitude)


def y_ticks(max_value: float, target_ticks: int = 4) -> list[int]:
    """Tick values from 0 to at least `max_value`, evenly spaced by a round step."""
    step = nice_step(max_value, target_ticks)
    top = max(step, math.ceil(max_value / step) * step)
    return list(range(0, top + 1, step))


def compact_number(value: float) -> str:
    """Short axis labels: 950 → "950", 1500 → "1.5k", 2000000 → "2M"."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:g}"


def x_label_indexes(count: int, max_labels: int = 8) -> list[int]:
    """Which of `count` points get a date label: evenly spread, always the first and the last."""
    if count <= max_labels:
        return list(range(count))
    every = math.ceil((count - 1) / (max_labels - 1))
    indexes = list(range(0, count, every))
    if indexes[-1] != count - 1:
        if count - 1 - indexes[-1] < every / 2:
            indexes[-1] = count - 1
        else:
            indexes.append(count - 1)
    return indexes


@dataclass(frozen=True)
class ChartSize:
    """One rendering of a chart: its viewBox, margins, font and how many date labels fit under it."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    font_size: int
    max_date_labels: int
    unit_label: bool  # the unit written up the y axis; no room beside the tick labels on a phone


# The wide chart fills a desktop card; the narrow one is drawn for a phone (about 330 px of card), where
# the wide one scaled down would shrink its text to 5 px. The page shows one of the two by media query.
WIDE = ChartSize(
    width=720, height=260, left=56, right=28, top=16, bottom=36, font_size=11, max_date_labels=8, unit_label=True
)
NARROW = ChartSize(
    width=340, height=220, left=44, right=24, top=12, bottom=34, font_size=12, max_date_labels=4, unit_label=False
)


def bar_chart_svg(
    *,
    title: str,
    dates: list[date],
    values: list[int],
    unit: str = "",
    size: ChartSize = WIDE,
    chart_id: str = "usage-chart",
) -> str:
    """An accessible SVG bar chart: one bar per day, its height proportional to the value, each day's column
    carrying a <title> (the browser's hover tooltip) with the date and the exact value."""
    if len(values) != len(dates):
        raise ValueError("One value per date.")
    s = size
    plot_w, plot_h = s.width - s.left - s.right, s.height - s.top - s.bottom
    baseline = s.top + plot_h
    ticks = y_ticks(max(values, default=0))
    y_max = ticks[-1]
    count = len(dates)
    slot = plot_w / count if count else plot_w
    # A gap between bars while they are wide enough to show one; a year of days is a solid band.
    gap = slot * 0.25 if slot >= 4 else 0.0
    unit_suffix = f" {unit}" if unit else ""
    span = f"{dates[0]:%b %-d, %Y} to {dates[-1]:%b %-d, %Y}" if dates else "no dates"
    total = f"{sum(values):,}{unit_suffix}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {s.width} {s.height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(f"Daily totals from {span}: {total} in all.")}</desc>',
    ]
    for tick in ticks:
        y = baseline - plot_h * tick / y_max
        parts.append(
            f'<line class="chart-grid" x1="{s.left}" x2="{s.left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text class="chart-tick" x="{s.left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="{s.font_size}" fill="#4b5563">{compact_number(tick)}</text>'
        )
    if unit and s.unit_label:
        middle = s.top + plot_h / 2
        parts.append(
            f'<text class="chart-unit" x="{s.font_size}" y="{middle:.1f}" font-size="{s.font_size}" fill="#4b5563" '
            f'text-anchor="middle" transform="rotate(-90 {s.font_size} {middle:.1f})">{escape(unit)}</text>'
        )
    for index, (day, value) in enumerate(zip(dates, values, strict=True)):
        x = s.left + slot * index
        height = plot_h * value / y_max
        # The whole column is the hover target, so a zero day (no bar to point at) still has its tooltip.
        parts.append(
            f'<g class="chart-day" data-date="{day.isoformat()}" data-value="{value}">'
            f"<title>{day:%a, %b %-d, %Y}: {value:,}{escape(unit_suffix)}</title>"
            f'<rect class="chart-hit" x="{x:.2f}" y="{s.top}" width="{slot:.2f}" height="{plot_h}" fill="transparent"/>'
            f'<rect class="chart-bar" x="{x + gap / 2:.2f}" y="{baseline - height:.2f}" width="{slot - gap:.2f}" '
            f'height="{height:.2f}" fill="{BAR_COLOUR}"/></g>'
        )
    parts.append(
        f'<line class="chart-axis" x1="{s.left}" x2="{s.left + plot_w}" y1="{baseline}" y2="{baseline}" '
        f'stroke="#6b7280" stroke-width="1"/>'
    )
    for index in x_label_indexes(count, s.max_date_labels):
        x = s.left + slot * (index + 0.5)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{baseline}" y2="{baseline + 4}" stroke="#6b7280"/>'
            f'<text class="chart-date" x="{x:.1f}" y="{baseline + 6 + s.font_size}" text-anchor="middle" '
            f'font-size="{s.font_size}" fill="#4b5563">{dates[index]:%b %-d}</text>'
        )
    if not count or not any(values):
        parts.append(
            f'<text class="chart-empty" x="{s.left + plot_w / 2:.1f}" y="{s.top + plot_h / 2:.1f}" '
            f'text-anchor="middle" font-size="{s.font_size + 1}" fill="#6b7280">No usage in this range</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
