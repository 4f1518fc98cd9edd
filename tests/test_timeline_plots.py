"""As-of dates and the SVG pictures: the publication-date rule, cumulative counts, the chain
layout, and pictures that are well-formed, labelled and the same on every run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

import pytest

from evtrack.plots import (
    ChainNode,
    Mark,
    chain_diagram,
    chain_layout,
    evidence_over_time,
    nice_step,
    support_band,
)
from evtrack.timeline import cumulative_by_year, partial_iso, published_by, year_fraction

SVG = "{http://www.w3.org/2000/svg}"
ARTICLE = date(2014, 10, 4)


@pytest.mark.parametrize(
    ("year", "month", "day", "counted"),
    [
        (2013, None, None, True),
        (2014, None, None, True),  # dated only to the year: the year is not after 2014
        (2015, None, None, False),
        (2014, 10, None, True),
        (2014, 11, None, False),
        (2014, 10, 4, True),
        (2014, 10, 5, False),
        (None, None, None, False),  # undated: nobody can say it was known then
    ],
)
def test_published_by_uses_the_precision_of_the_date(year: int | None, month: int | None,
                                                      day: int | None, counted: bool) -> None:
    assert published_by(year, month, day, ARTICLE) is counted


def test_partial_dates_and_year_fractions() -> None:
    assert [partial_iso(2014, None, 3), partial_iso(2014, 7, None), partial_iso(2014, 7, 9),
            partial_iso(None, 1, 1)] == ["2014", "2014-07", "2014-07-09", None]
    assert year_fraction(date(2014, 1, 1)) == 2014.0
    assert 2014.75 < year_fraction(ARTICLE) < 2014.77


@dataclass(frozen=True)
class Row:
    year: int | None
    stance: str
    retracted: bool = False


def test_cumulative_counts_leave_out_retracted_and_undated_papers() -> None:
    rows = [Row(2011, "supports"), Row(2011, "supports"), Row(2016, "supports"),
            Row(2013, "contradicts"), Row(2012, "supports", retracted=True),
            Row(None, "contradicts"), Row(2015, "mixed")]
    series, undated = cumulative_by_year(rows)
    assert series["supports"].steps == ((2011, 2), (2016, 3))
    assert series["contradicts"].steps == ((2013, 1),)
    assert undated == 1
    assert [series["supports"].by(y) for y in (2010.5, 2011.0, year_fraction(ARTICLE), 2030)] \
        == [0, 2, 2, 3]


@pytest.mark.parametrize(("span", "ticks", "step"), [(5, 5, 1), (8, 5, 2), (40, 7, 10),
                                                     (23, 5, 5), (0.5, 5, 1)])
def test_nice_step(span: float, ticks: int, step: int) -> None:
    assert nice_step(span, ticks) == step


@pytest.mark.parametrize(("score", "band"), [(0.0, "weak"), (0.24, "weak"), (0.25, "thin"),
                                             (0.5, "moderate"), (0.9, "strong")])
def test_support_bands(score: float, band: str) -> None:
    assert support_band(score)[0] == band


KETAMINE_LEADS_TO = {"C1": ["C2", "C7"], "C2": ["C3"], "C7": ["C5", "C8"], "C5": ["C6"],
                     "C6": ["C9"]}
KETAMINE_QUESTIONS = {"C4": ["C3"]}
KETAMINE = [f"C{i}" for i in range(1, 10)]


def test_the_chain_is_laid_out_left_to_right_by_depth() -> None:
    pos = chain_layout(KETAMINE, KETAMINE_LEADS_TO, KETAMINE_QUESTIONS)
    columns = {c: col for c, (col, _row) in pos.items()}
    assert columns == {"C1": 0, "C2": 1, "C7": 1, "C3": 2, "C5": 2, "C8": 2, "C4": 3,
                       "C6": 3, "C9": 4}
    for col in set(columns.values()):  # no two claims on top of each other
        rows = sorted(r for c, (k, r) in pos.items() if k == col)
        assert all(b - a >= 1 - 1e-9 for a, b in zip(rows, rows[1:], strict=False))
    assert pos["C4"][1] == pytest.approx(pos["C3"][1])  # C4 sits beside the claim it questions


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def test_the_chain_diagram_marks_the_weakest_link_and_links_to_the_cards() -> None:
    nodes = [ChainNode(c, 0.1 * i, "low", f"claim {c} <&>", then=0.5)
             for i, c in enumerate(KETAMINE)]
    svg = chain_diagram("chain", nodes, KETAMINE_LEADS_TO, KETAMINE_QUESTIONS, "C1",
                        then_label="as of 2014-10-04", title="t", desc="d")
    root = parse(svg)
    assert root.get("role") == "img" and root.find(f"{SVG}title") is not None
    links = root.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == [f"#claim-{c}" for c in KETAMINE]
    weakest = [a for a in links if "weakest" in (a.get("class") or "")]
    assert [a.get("data-claim") for a in weakest] == ["C1"]
    assert "weakest link" in "".join(weakest[0].itertext())
    assert "the weakest link" in (weakest[0].get("aria-label") or "")
    edges = root.findall(f"{SVG}path[@class='edge']")
    assert len(edges) == sum(len(v) for v in KETAMINE_LEADS_TO.values())
    assert len(root.findall(f"{SVG}path[@class='edge edge-questions']")) == 1
    assert "as of 2014-10-04: 0.50" in "".join(root.itertext())
    assert svg == chain_diagram("chain", nodes, KETAMINE_LEADS_TO, KETAMINE_QUESTIONS, "C1",
                                then_label="as of 2014-10-04", title="t", desc="d")


def test_the_evidence_plot_draws_each_stance_and_the_article_date() -> None:
    series, _ = cumulative_by_year([Row(2011, "supports"), Row(2016, "supports"),
                                    Row(2018, "contradicts")])
    svg = evidence_over_time("p", series, first_year=2010, last_year=2026,
                             marks=[Mark(year_fraction(ARTICLE), "article 2014-10-04")],
                             title="C6 over time", desc="now: 2 supports, 1 contradicts")
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "C6 over time"  # type: ignore[union-attr]
    paths = {p.get("class"): p for p in root.iter(f"{SVG}path")}
    assert set(paths) == {"series series-supports", "series series-contradicts"}
    assert paths["series series-contradicts"].get("stroke-dasharray")  # not colour alone
    text = "".join(root.itertext())
    assert "supports 2" in text and "contradicts 1" in text and "article 2014-10-04" in text
    # By the article's date one paper supported and none contradicted: the mark's dots.
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 2


def test_a_plot_with_no_evidence_still_draws_its_axes() -> None:
    series, _ = cumulative_by_year([])
    root = parse(evidence_over_time("p", series, first_year=2000, last_year=2026))
    assert "supports 0" in "".join(root.itertext())
