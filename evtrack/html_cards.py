"""One card per claim for the HTML report (:mod:`evtrack.html_report` assembles the page).

A card shows, top to bottom: the statement and its structure; the score, support band and
certainty (with the earlier figures when the page compares then and now); the evidence over
time beside the stance × design-tier counts; the article's own references for the claim and
whether each supports it; retraction warnings; and the evidence list, filterable and sortable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from evtrack.design import DESIGN_TIERS
from evtrack.integrity import CitationCheck
from evtrack.plots import Mark, evidence_over_time, support_band
from evtrack.report import STANCE_BUCKETS, ClaimReport, LinkRow
from evtrack.timeline import cumulative_by_year, year_fraction

#: Filter groups of the evidence list: (value, label, symbol). Symbols double the colours.
STANCE_FILTERS = (("supports", "supports", "+"), ("contradicts", "contradicts", "−"),
                  ("mixed", "mixed", "±"), ("mentions", "mentions", "·"),
                  ("not-judged", "not judged", "?"))
_BUCKET_LABELS = {"supports": "+ supports", "contradicts": "− contradicts",
                  "mixed-or-mentions": "± mixed / mentions", "not-judged": "? not judged"}


def e(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def stance_key(stance: str) -> str:
    """The evidence filter's group for a stance (unclear, irrelevant, unjudged: not judged)."""
    return stance if stance in ("supports", "contradicts", "mixed", "mentions") else "not-judged"


def stance_badge(stance: str) -> str:
    key = stance_key(stance)
    symbol = next(s for k, _label, s in STANCE_FILTERS if k == key)
    text = stance if key != "not-judged" else \
        "not judged" if stance == "unjudged" else f"not judged ({stance})"
    return f'<span class="badge stance-{key}">{symbol} {e(text)}</span>'


def integrity_badge(verdict: str) -> str:
    return f'<span class="badge integrity-{verdict.replace(" ", "-")}">{e(verdict)}</span>'


def pubmed(pmid: str | None) -> str:
    if not pmid:
        return "–"
    return f'<a href="https://pubmed.ncbi.nlm.nih.gov/{e(pmid)}/">{e(pmid)}</a>'


@dataclass(frozen=True)
class Then:
    """The same claim as of an earlier date, for the then-vs-now figures."""

    when: date
    claim: ClaimReport


def claim_card(c: ClaimReport, checks: Sequence[CitationCheck], *, then: Then | None,
               article_date: date | None, now_year: int, paths: Sequence[str],
               notices: Mapping[str, tuple[str, ...]]) -> str:
    """The whole card for one claim."""
    band, fill = support_band(c.score.score)
    sc = c.score
    relations = "".join([f" · leads to {', '.join(c.leads_to)}" if c.leads_to else "",
                         f" · questions {', '.join(c.questions)}" if c.questions else ""])
    out = [f'<article class="card" id="claim-{e(c.id)}" aria-labelledby="claim-{e(c.id)}-h">',
           '<header><div>',
           f'<h3 id="claim-{e(c.id)}-h"><span class="cid">{e(c.id)}</span> {e(c.text)}</h3>',
           f'<p class="triple">{e(c.subject)} —{e(c.relation)}→ {e(c.object)}{e(relations)}</p>',
           '</div>',
           f'<div class="scorebox" style="background:{fill}"><span class="small">score</span>'
           f'<span class="big">{sc.score:.2f}</span><span class="small">{e(band)} support'
           f'</span><span class="small">certainty: <strong>{e(sc.certainty.label)}</strong>'
           '</span></div></header>',
           '<ul class="facts">',
           f'<li>score {sc.score:.2f} = support {sc.support:.2f} × (1 − contradiction '
           f'{sc.contradiction:.2f}); {sc.independent_support} independent group'
           f'{"" if sc.independent_support == 1 else "s"} supporting</li>',
           f'<li>certainty <strong>{e(sc.certainty.label)}</strong>: starts '
           f'{e(sc.certainty.start)}'
           + (f" (best supporting design: {e(sc.certainty.best_tier)})"
              if sc.certainty.best_tier else "")
           + "".join(f"; {e(d)}" for d in sc.certainty.downgrades) + '</li>']
    if then is not None:
        t = then.claim
        out.append(f'<li>as of {then.when:%Y-%m-%d}: score <strong>{t.score.score:.2f}</strong>'
                   f', certainty {e(t.score.certainty.label)}, {len(t.links)} of {len(c.links)}'
                   f' papers published by then ({t.stance_counts["supports"]} supporting, '
                   f'{t.stance_counts["contradicts"]} contradicting)</li>')
    for p in paths:
        out.append(f'<li>chain: {e(p)}</li>')
    out.append('</ul><div class="cols">')
    out.append(_plot(c, article_date, then, now_year))
    out.append(_tier_table(c))
    out.append('</div>')
    out.append(_cited(c, checks))
    out.append(_retractions(c, notices))
    out.append(_evidence(c))
    out.append('</article>')
    return "".join(out)


def _plot(c: ClaimReport, article_date: date | None, then: Then | None, now_year: int) -> str:
    series, undated = cumulative_by_year(c.links)
    years = [y for s in series.values() for y, _n in s.steps]
    first = min(years + ([article_date.year] if article_date else []) + [now_year]) - 1
    marks = [Mark(year_fraction(article_date), f"article {article_date:%Y-%m-%d}")] \
        if article_date else []
    if then is not None and then.when != article_date:
        marks.append(Mark(year_fraction(then.when), f"as of {then.when:%Y-%m-%d}"))
    totals = ", ".join(f"{s.total} {k}" for k, s in series.items())
    at = "".join(f"; by {m.label}: " + ", ".join(f"{s.by(m.at)} {k}" for k, s in series.items())
                 for m in marks)
    svg = evidence_over_time(
        f"plot-{c.id}", series, first_year=first, last_year=now_year, marks=marks,
        title=f"{c.id}: supporting and contradicting papers over time",
        desc=f"Cumulative papers by publication year. Now: {totals}{at}.")
    note = f" {undated} undated paper{'s' if undated != 1 else ''} not shown." if undated else ""
    return (f'<figure class="plot-figure">{svg}<figcaption>Evidence over time: cumulative '
            'supporting (solid) and contradicting (dashed) papers by publication year; '
            f'retracted papers left out; dotted lines mark the dates compared.{note}'
            '</figcaption></figure>')


def _tier_table(c: ClaimReport) -> str:
    tiers = [t for t in DESIGN_TIERS if t in c.tier_counts] + \
        sorted(t for t in c.tier_counts if t not in DESIGN_TIERS)
    # Symbols in the headers keep the table narrow beside the plot; the caption spells them
    # out and screen readers get the words.
    head = "".join(f'<th scope="col" class="num"><span aria-hidden="true">'
                   f'{e(_BUCKET_LABELS[b].split()[0])}</span><span class="sr-only">'
                   f'{e(_BUCKET_LABELS[b][2:])}</span></th>' for b in STANCE_BUCKETS)
    rows = []
    for t in tiers:
        counts = c.tier_counts[t]
        rows.append(f'<tr><th scope="row">{e(t)}</th>'
                    + "".join(f'<td class="num">{counts.get(b, 0)}</td>' for b in STANCE_BUCKETS)
                    + f'<td class="num">{sum(counts.values())}</td></tr>')
    total = "".join(f'<td class="num">{c.stance_counts.get(b, 0)}</td>' for b in STANCE_BUCKETS)
    body = "".join(rows) or (f'<tr><td colspan="{len(STANCE_BUCKETS) + 2}">No papers linked '
                             'yet.</td></tr>')
    legend = ", ".join(e(_BUCKET_LABELS[b]) for b in STANCE_BUCKETS)
    return (f'<table class="tiers"><caption>Papers by design tier and stance<span class="sub">'
            f'{legend}</span></caption><thead>'
            f'<tr><th scope="col">design tier</th>{head}<th scope="col" class="num">all</th>'
            f'</tr></thead><tbody>{body}</tbody><tfoot><tr><th scope="row">all tiers</th>'
            f'{total}<td class="num">{len(c.links)}</td></tr></tfoot></table>')


def cited_rows(checks: Sequence[CitationCheck], with_claim: bool) -> str:
    rows = []
    for x in checks:
        notes = "".join(f"<li>{e(n)}</li>" for n in x.caveats)
        claim = f'<th scope="row"><a href="#claim-{e(x.claim_id)}">{e(x.claim_id)}</a></th>' \
            if with_claim else ""
        cite = f'<td>{e(x.citation)}</td>' if with_claim else \
            f'<th scope="row">{e(x.citation)}</th>'
        rows.append(f'<tr data-verdict="{e(x.verdict)}">{claim}{cite}<td>{pubmed(x.pmid)}</td>'
                    f'<td>{integrity_badge(x.verdict)}</td><td>{e(x.explanation)}'
                    + (f'<span class="sub note">{e(x.rationale)}</span>' if x.rationale else "")
                    + f'</td><td>{e(x.tier or "–")}</td><td>'
                    + (f'<ul class="facts">{notes}</ul>' if notes else "–") + '</td></tr>')
    return "".join(rows)


def _cited(c: ClaimReport, checks: Sequence[CitationCheck]) -> str:
    if not checks:
        return ('<h4>What the article cites for it</h4><p class="note">The article cites no '
                'reference for this claim.</p>')
    return ('<h4>What the article cites for it</h4><table class="cited"><thead><tr>'
            '<th scope="col">cited reference</th><th scope="col">PMID</th>'
            '<th scope="col">supports the claim?</th><th scope="col">why</th>'
            '<th scope="col">design tier</th><th scope="col">caveats</th></tr></thead>'
            f'<tbody>{cited_rows(checks, with_claim=False)}</tbody></table>')


def _retractions(c: ClaimReport, notices: Mapping[str, tuple[str, ...]]) -> str:
    out = ['<h4>Retractions and notices</h4>']
    for r in c.retracted:
        out.append(f'<p class="warning"><strong>⚠ Retracted:</strong> PMID {pubmed(r.pmid)} '
                   f'{e(r.title)} ({e(r.year)}) — it was judged “{e(r.stance)}” and now counts '
                   'for nothing in the score.</p>')
    others = [(r, n) for r in c.links for n in notices.get(r.pmid, ()) if n != "RetractionIn"]
    for r, n in others:
        out.append(f'<p class="warning"><strong>⚠ {e(n)}:</strong> PMID {pubmed(r.pmid)} '
                   f'{e(r.title)} — PubMed lists a notice about this paper; check it.</p>')
    if not c.retracted and not others:
        out.append(f'<p class="note">None of the {len(c.links)} linked papers is retracted or '
                   'carries an erratum or expression of concern (from PubMed\'s publication '
                   'types and CommentsCorrections).</p>')
    return "".join(out)


def _evidence(c: ClaimReport) -> str:
    moved = {x.pmid: x.delta for x in c.score.contributions}
    ident = f"ev-{c.id}"
    checks = "".join(
        f'<label><input type="checkbox" value="{v}" checked> '
        f'<span class="badge stance-{v}">{s} {e(label)}</span></label>'
        for v, label, s in STANCE_FILTERS)
    head = "".join(
        f'<th scope="col"{" data-sort=number" if kind == "number" else ""}'
        f'{" class=num" if kind == "number" else ""}><button type="button">{e(name)}</button></th>'
        for name, kind in (("PMID", "number"), ("year", "number"), ("title", "text"),
                           ("design tier", "text"), ("stance", "text"),
                           ("Δ score", "number"), ("rationale", "text"),
                           ("decided by", "text")))
    rows = "".join(_evidence_row(r, moved.get(r.pmid)) for r in c.links)
    return (f'<section class="evidence-block" aria-labelledby="{ident}-h">'
            f'<h4 id="{ident}-h">Evidence ({len(c.links)} papers)</h4>'
            f'<div class="controls" hidden><label>Filter <input type="search" '
            f'id="{ident}-filter" placeholder="words in title, rationale, PMID…" '
            f'aria-controls="{ident}-table"></label><fieldset><legend>Stance</legend>{checks}'
            f'</fieldset><output for="{ident}-filter" aria-live="polite"></output></div>'
            f'<table class="evidence sortable" id="{ident}-table"><thead><tr>{head}</tr>'
            f'</thead><tbody>{rows}</tbody></table></section>')


def _evidence_row(r: LinkRow, delta: float | None) -> str:
    flag = ' <span class="badge retracted-flag">retracted</span>' if r.retracted else ""
    sub = ", ".join(p for p in (r.journal, r.published and f"published {r.published}") if p)
    who = {"verdict": "verdict: ", "curator": "", "judge": "", "none": ""}.get(r.decider, "")
    found = ", ".join(r.found_by)
    return (f'<tr data-stance="{stance_key(r.stance)}" data-pmid="{e(r.pmid)}">'
            f'<td class="num" data-value="{e(r.pmid)}">{pubmed(r.pmid)}</td>'
            f'<td class="num" data-value="{r.year or 0}">{e(r.year or "–")}</td>'
            f'<td><span class="title">{e(r.title)}</span>{flag}<span class="sub">{e(sub)}'
            f'{" · found by " + e(found) if found else ""}</span></td>'
            f'<td>{e(r.tier)}</td><td data-value="{e(r.stance)}">{stance_badge(r.stance)}</td>'
            f'<td class="num" data-value="{delta or 0:.4f}">'
            f'{_delta(delta)}</td>'
            f'<td class="rationale">{e(r.rationale or "–")}</td>'
            f'<td>{e(who)}{e(r.decided_by or "nobody yet")}</td></tr>')


def _delta(delta: float | None) -> str:
    """``+0.052``; ``0.000`` rather than ``-0.000`` for a paper that moved the score by less
    than the last digit; ``–`` for a paper that does not count."""
    if delta is None:
        return "–"
    return f"{delta:+.3f}" if round(delta, 3) else "0.000"
