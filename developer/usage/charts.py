"""Server-rendered SVG line charts for the usage dashboard (pure Python, no Django, no JavaScript, no CDN).

The markup is self-describing for screen readers (<title>, <desc>, a point <title> per value) and
draws its own axes, grid, tick labels and legend, so the page needs nothing else to read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from html import escape

# Distinguishable for the common colour-vision deficiencies; the legend also names each line and
# test lines are dashed, so colour is never the only cue.
PALETTE = ("#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2")


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    dashed: bool = False


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


def line_chart_svg(
    *,
    title: str,
    dates: list[date],
    series: list[Series],
    unit: str = "",
    width: int = 720,
    height: int = 280,
    chart_id: str = "usage-chart",
) -> str:
    """An accessible SVG line chart of `series` over `dates` with axes, grid and a legend."""
    left, right, top, bottom = 56, 36, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0)
    ticks = y_ticks(peak)
    y_max = ticks[-1]
    count = len(dates)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_at(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    total_by_series = ", ".join(f"{s.label}: {sum(s.values):,} {unit}".strip() for s in series)
    span = f"{dates[0]:%b %-d, %Y} to {dates[-1]:%b %-d, %Y}" if dates else "no dates"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(f"Daily totals from {span}. {total_by_series}.")}</desc>',
    ]
    # Grid and y axis labels.
    for tick in ticks:
        y = y_at(tick)
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#4b5563">{compact_number(tick)}</text>'
        )
    # Axes.
    parts.append(
        f'<line class="chart-axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" '
        f'stroke="#6b7280" stroke-width="1"/>'
    )
    parts.append(
        f'<line class="chart-axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}" stroke="#6b7280" stroke-width="1"/>'
    )
    if unit:
        parts.append(
            f'<text class="chart-unit" x="12" y="{top + plot_h / 2:.1f}" font-size="11" fill="#4b5563" '
            f'text-anchor="middle" transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(unit)}</text>'
        )
    # X axis date labels.
    for index in x_label_indexes(count):
        x = x_at(index)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#6b7280"/>')
        parts.append(
            f'<text class="chart-date" x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
            f'font-size="11" fill="#4b5563">{dates[index]:%b %-d}</text>'
        )
    # Lines and points.
    for number, line in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(line.values))
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(f'<g class="chart-series" data-series="{escape(line.label)}">')
        if count > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"/>')
        for i, value in enumerate(line.values):
            parts.append(
                f'<circle cx="{x_at(i):.1f}" cy="{y_at(value):.1f}" r="{3 if count <= 62 else 1.5}" '
                f'fill="{colour}"><title>{escape(line.label)}, {dates[i]:%Y-%m-%d}: {value:,}</title>'
                f"</circle>"
            )
        parts.append("</g>")
    # Legend below the plot.
    legend_y = height - 18
    x = left
    for number, line in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(
            f'<g class="chart-legend-item"><line x1="{x}" x2="{x + 22}" y1="{legend_y - 4}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="3"{dash}/>'
            f'<text x="{x + 28}" y="{legend_y}" font-size="12" fill="#111827">{escape(line.label)}</text></g>'
        )
        x += 40 + 7 * len(line.label)
    parts.append("</svg>")
    return "".join(parts)
