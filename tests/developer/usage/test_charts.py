"""The server-rendered SVG chart (pure, no database)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from developer.usage.charts import (
    Series,
    compact_number,
    line_chart_svg,
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


def _chart(days: int = 7, **kwargs) -> ET.Element:
    dates = [date(2026, 11, 1) + timedelta(days=i) for i in range(days)]
    svg = line_chart_svg(
        title="API requests <per day>",
        dates=dates,
        unit="requests",
        series=[Series("Live", [i * 100 for i in range(days)]), Series("Test", [5] * days, dashed=True)],
        **kwargs,
    )
    return ET.fromstring(svg)  # well-formed XML, so any browser parses it


def test_the_chart_is_accessible_well_formed_svg_with_axes_and_legend():
    root = _chart()
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and desc.text is not None
    assert title.text == "API requests <per day>"  # escaped in the markup, intact when read
    assert "Live: 2,100 requests" in desc.text
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "chart-axis"]) == 2
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert "Nov 1" in texts and "Nov 7" in texts and "Live" in texts and "Test" in texts and "requests" in texts
    assert [e.get("data-series") for e in root.iter(f"{SVG}g") if e.get("class") == "chart-series"] == ["Live", "Test"]
    dashed = [e for e in root.iter(f"{SVG}polyline") if e.get("stroke-dasharray")]
    assert len(dashed) == 1


def test_every_point_has_a_tooltip_with_its_exact_value():
    root = _chart()
    titles = [e.findtext(f"{SVG}title") for e in root.iter(f"{SVG}circle")]
    assert None not in titles  # findtext: None when a point has no <title>
    assert "Live, 2026-11-07: 600" in titles and len(titles) == 14


def test_a_single_day_and_all_zero_values_still_draw():
    root = _chart(days=1)
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    assert not list(root.iter(f"{SVG}polyline"))
