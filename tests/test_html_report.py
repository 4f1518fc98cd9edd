"""The HTML report, read as markup: self-contained, well-formed, accessible, and showing the
chain, the cards, the plots, citation integrity, then-vs-now and what changed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from evtrack.claims import ClaimSet, load_claims
from evtrack.html_report import build_html, render_page
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.render import render
from evtrack.report import Report, build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.store.db import open_store

if TYPE_CHECKING:
    from conftest import DatabaseFactory

VOID = {"meta", "link", "br", "hr", "img", "input", "col", "source", "wbr", "area", "base",
        "path", "rect", "line", "circle"}  # the SVG shapes are written self-closing


@pytest.fixture(scope="module")
def claim_set() -> ClaimSet:
    return load_claims([default_claims_dir()])


@pytest.fixture(scope="module")
def engine(databases: DatabaseFactory, claim_set: ClaimSet) -> Iterator[Engine]:
    url = databases.create()
    engine = open_store(url)
    refresh(engine, claim_set, OfflineSource.from_files(snapshot_files()))
    yield engine
    engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def report(engine: Engine) -> Report:
    return build_report(engine)


@pytest.fixture(scope="module")
def page(engine: Engine, claim_set: ClaimSet) -> str:
    return build_html(engine, claim_set)


class Outline(HTMLParser):
    """Tags in order, checking that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser


def test_the_page_is_well_formed(page: str) -> None:
    parsed = outline(page)
    assert parsed.errors == [] and parsed.stack == []
    ids = [a["id"] for _t, a in parsed.tags if a.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"


def test_the_page_loads_nothing_from_anywhere(page: str) -> None:
    tags = outline(page).tags
    assert not [a for _t, a in tags if "src" in a]
    assert not [t for t, _a in tags if t in ("link", "iframe", "object", "embed", "img")]
    assert "@import" not in page
    assert set(re.findall(r"url\((.)", page)) <= {"#"}  # only references inside the page
    hrefs = {a["href"] for _t, a in tags if a.get("href")}
    external = {h for h in hrefs if not h.startswith("#")}
    assert all(h.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://www.gateway"))
               for h in external), external


def test_the_page_is_accessible_markup(page: str) -> None:
    tags = outline(page).tags
    assert ("html", {"lang": "en"}) in tags
    levels = [int(t[1]) for t, _a in tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), "skipped level"
    svgs = [a for t, a in tags if t == "svg"]
    assert svgs and all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs)
    assert page.count("<title id=") == len(svgs) and page.count("<desc id=") == len(svgs)
    n_tables = sum(1 for t, _a in tags if t == "table")
    assert page.count('<th scope="col"') >= n_tables
    # Stance is never colour alone: every badge carries its word.
    assert re.search(r'class="badge stance-contradicts">− contradicts<', page)


def test_the_chain_diagram_marks_the_weakest_link(page: str, report: Report) -> None:
    assert report.chain is not None and report.chain.weakest is not None
    weakest = report.chain.weakest.weakest
    nodes = re.findall(r'<a href="#claim-(\w+)" class="node( weakest)?"', page)
    assert [n for n, _w in nodes] == [c.id for c in report.claims]
    assert [n for n, w in nodes if w] == [weakest]
    assert f"The chain’s weakest link is <a href=\"#claim-{weakest}\">" in page


def test_every_claim_has_a_card_with_a_plot_and_its_evidence(page: str, report: Report) -> None:
    cards = re.split(r'<article class="card" id="claim-', page)[1:]
    assert [c.split('"', 1)[0] for c in cards] == [c.id for c in report.claims]
    for card, claim in zip(cards, report.claims, strict=True):
        assert f'id="plot-{claim.id}"' in card
        assert "article 2014-10-04" in card  # the article's date on the plot
        assert f"Evidence ({len(claim.links)} papers)" in card
        assert card.count("<tr data-stance=") == len(claim.links)
        assert f"score</span><span class=\"big\">{claim.score.score:.2f}</span>" in card
        assert f"certainty: <strong>{claim.score.certainty.label}</strong>" in card
        assert "Papers by design tier and stance" in card
        for r in claim.links:
            assert f'href="https://pubmed.ncbi.nlm.nih.gov/{r.pmid}/"' in card


def test_citation_integrity_is_shown_for_every_cited_reference(page: str,
                                                               report: Report) -> None:
    section = page.split('id="integrity"')[1].split("</section>")[0]
    n_cited = sum(len(c.cited) for c in report.claims)
    assert section.count("<tr data-verdict=") == n_cited == 8
    assert "Seamans J. Nat Chem Biol 2008;4:91" in section
    assert "Monteggia LM. Biol Psychiatry 2013;73:1199" in section


def test_then_and_now_and_what_changed(page: str, engine: Engine, claim_set: ClaimSet) -> None:
    then = build_report(engine, as_of=date(2014, 10, 4))
    assert "<th scope=\"col\" class=\"num\">as of 2014-10-04</th>" in page
    for c in then.claims:
        assert f"as of 2014-10-04: score <strong>{c.score.score:.2f}</strong>" in page
    assert 'id="changes"' in page and "Since <strong>before the first refresh</strong>" in page
    other = build_html(engine, claim_set, as_of=date(2012, 1, 1), since=1)
    assert "as of 2012-01-01" in other and "as of 2014-10-04" not in other.split("<main")[1] \
        .split('id="claims"')[0]
    assert "Nothing changed." in other


def test_a_retracted_paper_gets_a_warning(report: Report) -> None:
    claim = report.claims[5]
    bad = dataclasses.replace(claim.links[0], retracted=True)
    changed = dataclasses.replace(report, claims=[dataclasses.replace(
        claim, links=[bad, *claim.links[1:]])])
    html = render_page(changed)
    assert f"<strong>⚠ Retracted:</strong> PMID <a href=\"https://pubmed.ncbi.nlm.nih.gov/" \
           f"{bad.pmid}/\">" in html
    assert "retracted-flag" in html


def test_render_html_still_works_from_the_report_alone(report: Report) -> None:
    html = render(report, "html")
    assert html.startswith("<!doctype html>") and 'id="chain-svg"' in html
    assert 'id="changes"' not in html  # the diff needs the store
    assert outline(html).errors == []
