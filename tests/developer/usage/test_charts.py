"""The server-rendered SVG chart (pure, no database)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from developer.usage.charts import (
    NARROW,
    WIDE,
    ChartSize,
    bar_chart_svg,
    compact_number,
    nice_step,
    x_label_indexes,
    y_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    "peak, ticks",
    [(0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (1000, [0, 500, 1000]), (3100, [0, 1000, 2000, 3000, 4000])],
)
def test_y_ticks_are_round_and_cover_the_peak(peak, ticks):
    assert y_ticks(peak) == ticks


def test_nice_steps_are_1_2_or_5_times_a_power_of_ten():
    assert [nice_step(v) for v in (4, 9, 40, 180, 4000, 9000)] == [1, 5, 10, 50, 1000, 5000]


@pytest.mark.parametrize(
    "value, text", [(0, "0"), (950, "950"), (1500, "1.5k"), (2000, "2k"), (2_000_000, "2M"), (1_250_000_000, "1.2B")]
)
def test_compact_numbers(value, text):
    assert compact_number(value) == text


def test_date_labels_are_spread_and_include_both_ends():
    assert x_label_indexes(5) == [0, 1, 2, 3, 4]
    indexes = x_label_indexes(31)
    assert indexes[0] == 0 and indexes[-1] == 30 and len(indexes) <= 9


def _chart(values: list[int], *, size: ChartSize = WIDE, unit: str = "requests") -> ET.Element:
    dates = [date(2026, 11, 1) + timedelta(days=i) for i in range(len(values))]
    svg = bar_chart_svg(title="API requests <per day>", dates=dates, values=values, unit=unit, size=size)
    return ET.fromstring(svg)  # well-formed XML, so any browser parses it


def _days(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-day"]


def _bar(day: ET.Element) -> ET.Element:
    (bar,) = [r for r in day.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    return bar


def test_one_bar_per_day_with_heights_proportional_to_the_values():
    values = [0, 100, 250, 400, 50, 400, 0]
    root = _chart(values)
    days = _days(root)
    assert [d.get("data-date") for d in days] == [f"2026-11-0{i}" for i in range(1, 8)]
    heights = [float(_bar(d).get("height", "")) for d in days]
    # The axis tops out at 400 (a round tick), so 400 fills the plot and every bar is value/400 of it.
    full = heights[3]
    assert full > 0 and heights[5] == full
    for value, height in zip(values, heights, strict=True):
        assert height == pytest.approx(full * value / 400, abs=0.01)
    # Bars stand on the same baseline, in date order from left to right.
    bottoms = {round(float(_bar(d).get("y", "")) + float(_bar(d).get("height", "")), 1) for d in days}
    assert len(bottoms) == 1
    xs = [float(_bar(d).get("x", "")) for d in days]
    assert xs == sorted(xs)


def test_every_day_has_a_tooltip_title_with_its_date_and_exact_value():
    root = _chart([1200, 0, 35])
    titles = [d.findtext(f"{SVG}title") for d in _days(root)]
    assert titles == [
        "Sun, Nov 1, 2026: 1,200 requests",
        "Mon, Nov 2, 2026: 0 requests",  # a zero day still answers a hover: its column is the target
        "Tue, Nov 3, 2026: 35 requests",
    ]


def test_the_chart_is_accessible_svg_with_axis_labels():
    root = _chart([i * 100 for i in range(7)])
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "API requests <per day>"  # escaped in the markup, intact when read
    assert "2,100 requests in all" in (root.findtext(f"{SVG}desc") or "")
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert "Nov 1" in texts and "Nov 7" in texts  # dates under the bars
    assert "600" in texts and "0" in texts  # values up the side
    assert "requests" in texts  # the unit, on the wide chart


def test_the_narrow_chart_labels_fewer_dates_so_they_do_not_overlap():
    values = [5] * 31
    wide = _chart(values, size=WIDE)
    narrow = _chart(values, size=NARROW)
    dates = [e for e in narrow.iter(f"{SVG}text") if e.get("class") == "chart-date"]
    assert 2 <= len(dates) <= NARROW.max_date_labels
    assert len([e for e in wide.iter(f"{SVG}text") if e.get("class") == "chart-date"]) > len(dates)
    # Labels at least ~4 characters of the font apart, and inside the drawing.
    xs = [float(e.get("x", "")) for e in dates]
    assert all(b - a >= 4 * NARROW.font_size for a, b in itertools.pairwise(xs))
    assert all(0 <= x <= NARROW.width for x in xs)
    assert narrow.get("viewBox") == f"0 0 {NARROW.width} {NARROW.height}"


def test_an_empty_range_and_an_all_zero_range_still_draw_an_axis_and_say_so():
    for root in (_chart([]), _chart([0, 0, 0])):
        assert [e for e in root.iter(f"{SVG}line") if e.get("class") == "chart-axis"]
        assert "No usage in this range" in [e.text for e in root.iter(f"{SVG}text")]
    assert _days(_chart([])) == []
    assert all(float(_bar(d).get("height", "")) == 0 for d in _days(_chart([0, 0, 0])))


def test_a_year_of_days_draws_every_bar_inside_the_plot():
    root = _chart(list(range(366)), size=NARROW)
    days = _days(root)
    assert len(days) == 366
    right = max(float(_bar(d).get("x", "")) + float(_bar(d).get("width", "")) for d in days)
    assert right <= NARROW.width - NARROW.right + 0.01


def test_values_and_dates_must_pair_up():
    with pytest.raises(ValueError):
        bar_chart_svg(title="t", dates=[date(2026, 1, 1)], values=[1, 2])
