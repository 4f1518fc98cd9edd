"""The HTML report: one self-contained page per claim set, to read on screen or on paper.

Everything is inline — CSS, SVG pictures (:mod:`evtrack.plots`) and a small script that filters
and sorts the evidence tables — so the file opens offline, from an email attachment or a USB
stick, and loads nothing from anywhere. Without JavaScript every row shows and the filter
controls stay hidden; in print the controls go and hidden rows come back.

:func:`build_html` gathers what the page shows from the store (the report now, the same report
as of the article's date, what changed since the last refresh, correction notices) and
:func:`render_page` lays it out; ``render(report, "html")`` calls the latter with the report
alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from importlib import resources

from sqlalchemy import Engine

from evtrack import __version__
from evtrack.changes import Changes, diff_since, paper_notices
from evtrack.claims import ClaimSet, ClaimSetInfo
from evtrack.html_cards import Then, cited_rows, claim_card, e, integrity_badge
from evtrack.integrity import (
    INTEGRITY_VERDICTS,
    CitationCheck,
    check_all,
    check_citations,
    integrity_summary,
)
from evtrack.plots import SUPPORT_BANDS, WEAKEST_COLOUR, ChainNode, chain_diagram, support_band
from evtrack.report import ClaimReport, Report, build_report, stance_bucket
from evtrack.scoring import Priors
from evtrack.store.db import read_snapshot


def _asset(name: str) -> str:
    return resources.files("evtrack").joinpath("assets", name).read_text(encoding="utf-8")


def build_html(engine: Engine, claim_set: ClaimSet | None = None, *,
               claim_ids: list[str] | None = None, as_of: date | None = None,
               since: int | date | None = None, priors: Priors | None = None) -> str:
    """The full page for the claims in the store (or ``claim_ids``).

    Figures are today's; beside them the page shows the same figures as of ``as_of``, or of
    the article's date (from ``claim_set``) when ``as_of`` is None. "What changed" compares with
    the baseline for ``since`` (:func:`evtrack.changes.diff_since`). ``priors`` as in
    :func:`~evtrack.report.build_report`.
    """
    report = build_report(engine, claim_ids, priors=priors)
    ids = {c.id for c in report.claims}
    sets: list[ClaimSetInfo] = []
    if claim_set is not None:
        used = {c.set_id for c in claim_set.claims if c.id in ids}
        sets = [s for s in claim_set.sets if s.id in used]
    dates = {s.article_date for s in sets if s.article_date}
    article_date = dates.pop() if len(dates) == 1 else None
    when = as_of or article_date
    then = build_report(engine, claim_ids, priors=priors, as_of=when) if when else None
    changes = diff_since(engine, since, report=report)
    with read_snapshot(engine) as conn:
        notices = paper_notices(conn, {r.pmid for c in report.claims for r in c.links})
    return render_page(report, then=then, changes=changes, sets=sets,
                       article_date=article_date, notices=notices)


def render_page(report: Report, *, then: Report | None = None, changes: Changes | None = None,
                sets: Sequence[ClaimSetInfo] = (), article_date: date | None = None,
                notices: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """Lay out the page. Every argument but ``report`` is optional and adds a part."""
    notices = notices or {}
    then_by_id = {c.id: c for c in then.claims} if then is not None and then.as_of else {}
    when = then.as_of if then is not None else None
    title = sets[0].title if len(sets) == 1 else "evtrack support report"
    checks = check_all(report.claims)
    now_year = max([report.generated_at.year] + [r.year or 0 for c in report.claims
                                                 for r in c.links])
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title><style>{_asset('report.css')}</style></head><body>",
             '<a class="skip" href="#main">Skip to the report</a>',
             _header(report, title, sets, checks), '<main id="main">',
             _chain(report, then_by_id, when), _summary(report, then_by_id, when),
             _integrity(checks)]
    if changes is not None:
        parts.append(_changes(changes))
    parts.append('<section id="claims" aria-labelledby="claims-h"><h2 id="claims-h">The claims, '
                 'one by one</h2>')
    for c in report.claims:
        paths = [f"{' → '.join(p.claims)}: support {p.support:.2f}, weakest link {p.weakest}"
                 for p in (report.chain.paths_through(c.id) if report.chain else [])]
        t = then_by_id.get(c.id)
        parts.append(claim_card(c, check_citations(c),
                                then=Then(when, t) if t is not None and when else None,
                                article_date=article_date, now_year=now_year, paths=paths,
                                notices=notices))
    parts += ["</section>", _method(report, when), "</main>",
              f'<footer class="page-footer"><p>Made by evtrack {e(__version__)} on '
              f'{report.generated_at:%Y-%m-%d %H:%M}. A static page: it loads nothing from the '
              'network; links go to PubMed.</p></footer>',
              f"<script>{_asset('report.js')}</script></body></html>\n"]
    return "".join(parts)


def _header(report: Report, title: str, sets: Sequence[ClaimSetInfo],
            checks: list[CitationCheck]) -> str:
    out = ['<header class="page-header">', f"<h1>{e(title)}</h1>"]
    for s in sets:
        if s.article:
            who = ", ".join(x for x in (s.author, s.publisher) if x)
            d = s.article_date
            day = f", {d.day} {d:%B %Y}" if d else ""
            name = f'<a href="{e(s.url)}">{e(s.article)}</a>' if s.url else e(s.article)
            out.append(f'<p class="meta">Claims of the article “{name}”'
                       f'{" by " + e(who) if who else ""}{e(day)}.</p>')
    n_papers = len({r.pmid for c in report.claims for r in c.links})
    out.append(f'<p class="meta">{len(report.claims)} claims, {n_papers} papers · generated '
               f'{report.generated_at:%Y-%m-%d %H:%M} · last refresh: '
               f'{e(report.last_run or "none yet")}</p>')
    lead = []
    weakest = report.chain.weakest if report.chain else None
    if weakest is not None and report.chain is not None:
        on = sum(1 for p in report.chain.paths if p.weakest == weakest.weakest)
        cert = next((c.score.certainty.label for c in report.claims
                     if c.id == weakest.weakest), "")
        lead.append(f'The chain’s weakest link is <a href="#claim-{e(weakest.weakest)}">'
                    f'<strong>{e(weakest.weakest)}</strong></a> (score {weakest.support:.2f}, '
                    f'certainty {e(cert)}), on {on} of {len(report.chain.paths)} paths.')
    if checks:
        lead.append(f'Citation integrity: {e(integrity_summary(checks))}.')
    if lead:
        out.append(f'<p class="lead">{" ".join(lead)}</p>')
    out.append('<nav class="toc" aria-label="Contents"><ul>'
               '<li><a href="#chain">Claim chain</a></li><li><a href="#summary">At a glance</a>'
               '</li><li><a href="#integrity">Citation integrity</a></li>'
               '<li><a href="#changes">What changed</a></li>'
               + "".join(f'<li><a href="#claim-{e(c.id)}">{e(c.id)}</a></li>'
                         for c in report.claims)
               + '<li><a href="#method">How to read</a></li></ul></nav></header>')
    return "".join(out)


def _chain(report: Report, then_by_id: Mapping[str, ClaimReport], when: date | None) -> str:
    chain = report.chain
    out = ['<section id="chain" aria-labelledby="chain-h"><h2 id="chain-h">The claim chain</h2>']
    if chain is None or not chain.paths:
        return "".join(out) + '<p class="note">These claims are not linked into a chain.</p>' \
            "</section>"
    weakest = chain.weakest.weakest if chain.weakest else None
    nodes = [ChainNode(c.id, c.score.score, c.score.certainty.label,
                       f"{c.subject} {c.relation.replace('_', ' ')} {c.object}",
                       then=then_by_id[c.id].score.score if c.id in then_by_id else None)
             for c in report.claims]
    desc = "; ".join(f"{' → '.join(p.claims)}: weakest link {p.weakest} ({p.support:.2f})"
                     for p in chain.paths)
    svg = chain_diagram("chain-svg", nodes, {c.id: c.leads_to for c in report.claims},
                        {c.id: c.questions for c in report.claims}, weakest,
                        then_label=f"as of {when:%Y-%m-%d}" if when else None,
                        title="The claim chain, coloured by support",
                        desc=f"Each box is a claim with its score and certainty. {desc}.")
    legend = "".join(f'<li><span class="swatch" style="background:{fill}"></span>{name}: '
                     f'{_band_range(i)}</li>' for i, (_low, name, fill) in enumerate(SUPPORT_BANDS))
    out += [f'<p>A path holds no better than its weakest link. Boxes are coloured by support '
            f'and outlined in dark red where the chain is weakest; click a box for its card.</p>'
            f'<div class="chain-wrap">{svg}</div><ul class="legend" aria-label="Legend">{legend}'
            f'<li><span class="swatch weakest" style="border-color:{WEAKEST_COLOUR}"></span>'
            'weakest link</li><li>→ leads to</li><li>⇢ dashed: questions</li></ul>',
            '<table class="paths"><caption>Paths through the chain</caption><thead><tr>'
            '<th scope="col">path</th><th scope="col" class="num">support (lowest score)</th>'
            '<th scope="col">weakest link</th></tr></thead><tbody>']
    for p in chain.paths:
        out.append(f'<tr><td>{e(" → ".join(p.claims))}</td><td class="num">{p.support:.2f}</td>'
                   f'<td><a href="#claim-{e(p.weakest)}">{e(p.weakest)}</a></td></tr>')
    for q in chain.questions:
        out.append(f'<tr><td>{e(q.by)} questions {e(q.target)}</td><td class="num">'
                   f'{q.by_score:.2f} vs {q.target_score:.2f}</td><td>–</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def _band_range(i: int) -> str:
    """``"score ≥ 0.75"``, ``"0.50–0.75"``, ``"score < 0.25"`` for the i-th support band."""
    low = SUPPORT_BANDS[i][0]
    if i == 0:
        return f"score ≥ {low:.2f}"
    high = SUPPORT_BANDS[i - 1][0]
    return f"score < {high:.2f}" if i == len(SUPPORT_BANDS) - 1 else f"{low:.2f}–{high:.2f}"


def _summary(report: Report, then_by_id: Mapping[str, ClaimReport], when: date | None) -> str:
    then_head = f'<th scope="col" class="num">as of {when:%Y-%m-%d}</th>' if when else ""
    out = ['<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Support at a '
           'glance</h2><table class="summary sortable"><thead><tr>'
           '<th scope="col"><button type="button">claim</button></th>'
           '<th scope="col">statement</th>'
           '<th scope="col" class="num" data-sort="number"><button type="button">score</button>'
           '</th><th scope="col">support</th><th scope="col">certainty</th>', then_head,
           '<th scope="col" class="num">+ supp.</th><th scope="col" class="num">− contra.</th>'
           '<th scope="col" class="num">± mixed</th><th scope="col" class="num">? not judged'
           '</th><th scope="col" class="num">groups</th><th scope="col" class="num">retracted'
           '</th></tr></thead><tbody>']
    for c in report.claims:
        band, fill = support_band(c.score.score)
        n = c.stance_counts
        t = then_by_id.get(c.id)
        then_cell = ""
        if when:
            then_cell = (f'<td class="num">{t.score.score:.2f} '
                         f'({e(t.score.certainty.label)})</td>'
                         if t is not None else '<td class="num">–</td>')
        out.append(f'<tr><th scope="row" data-value="{e(c.id)}"><a href="#claim-{e(c.id)}">'
                   f'{e(c.id)}</a></th><td>{e(c.text)}</td>'
                   f'<td class="num" data-value="{c.score.score:.4f}">{c.score.score:.2f}</td>'
                   f'<td><span class="band" style="background:{fill}">{e(band)}</span></td>'
                   f'<td>{e(c.score.certainty.label)}</td>{then_cell}'
                   f'<td class="num">{n["supports"]}</td><td class="num">{n["contradicts"]}</td>'
                   f'<td class="num">{n["mixed-or-mentions"]}</td>'
                   f'<td class="num">{n["not-judged"]}</td>'
                   f'<td class="num">{c.score.independent_support}</td>'
                   f'<td class="num">{len(c.retracted)}</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def _integrity(checks: list[CitationCheck]) -> str:
    out = ['<section id="integrity" aria-labelledby="integrity-h"><h2 id="integrity-h">Do the '
           'article’s citations support its claims?</h2>']
    if not checks:
        return "".join(out) + '<p class="note">The article cites no references for these ' \
            'claims.</p></section>'
    weak = [x for x in checks if x.verdict != INTEGRITY_VERDICTS[0]]
    cls = "callout ok" if not weak else "callout"
    verdict = ("Every cited reference supports the claim it is cited for."
               if not weak else f"{len(weak)} of {len(checks)} do not fully: "
               + "; ".join(f"{x.label}: {x.verdict}" for x in weak) + ".")
    caveated = sum(1 for x in checks if x.caveats)
    if caveated:
        verdict += f" {caveated} come with caveats: see the last column."
    out += [f'<p class="{cls}">{e(integrity_summary(checks))}. {e(verdict)}</p>',
            '<p class="legend">' + " ".join(integrity_badge(v) for v in INTEGRITY_VERDICTS)
            + ' — from the link’s stance: a researcher’s verdict, else the curator’s, else the '
            'automatic judge.</p>',
            '<table class="cited"><thead><tr><th scope="col">claim</th>'
            '<th scope="col">cited reference</th><th scope="col">PMID</th>'
            '<th scope="col">supports the claim?</th><th scope="col">why</th>'
            '<th scope="col">design tier</th><th scope="col">caveats</th></tr></thead><tbody>',
            cited_rows(checks, with_claim=True), '</tbody></table></section>']
    return "".join(out)


def _changes(ch: Changes) -> str:
    out = ['<section id="changes" aria-labelledby="changes-h"><h2 id="changes-h">What changed'
           '</h2>', f'<p>Since <strong>{e(ch.since.label)}</strong>; now: {e(ch.now)}.</p>']
    if not ch.items:
        return "".join(out) + '<p class="note">Nothing changed.</p></section>'
    out.append('<table class="diff"><caption>Changes per claim</caption><thead><tr>'
               '<th scope="col">claim</th><th scope="col">score</th><th scope="col">certainty'
               '</th>' + "".join(f'<th scope="col" class="num">new: {e(label)}</th>'
                                 for label in _NEW_LABELS.values())
               + '<th scope="col" class="num">stance changes</th><th scope="col" class="num">'
               'retractions, notices</th><th scope="col" class="num">verdicts added</th>'
               '</tr></thead><tbody>')
    for cid in ch.claims:
        items = ch.for_claim(cid)
        if not items:
            continue
        kinds = Counter(x.kind for x in items)
        new = Counter(stance_bucket(x.stance or "unjudged") for x in items
                      if x.kind == "new-paper")
        score = next((x for x in items if x.kind in ("score", "claim")), None)
        cert = next((x for x in items if x.kind == "certainty"), None)
        out.append(f'<tr><th scope="row"><a href="#claim-{e(cid)}">{e(cid)}</a></th>'
                   f'<td>{e(f"{score.before or chr(8211)} → {score.after}") if score else "–"}'
                   f'</td><td>{e(f"{cert.before} → {cert.after}") if cert else "–"}</td>'
                   + "".join(f'<td class="num">{new[b] or ""}</td>' for b in _NEW_LABELS)
                   + f'<td class="num">{kinds["stance"] or ""}</td>'
                   f'<td class="num">{kinds["retraction"] + kinds["notice"] or ""}</td>'
                   f'<td class="num">{kinds["verdict"] or ""}</td></tr>')
    out.append('</tbody></table>')
    details = [x for x in ch.items if x.kind not in ("score", "certainty", "claim")]
    if details:
        out.append(f'<details><summary>All {len(details)} changes, paper by paper</summary>'
                   '<ul class="changes">' + "".join(
                       f'<li><a href="#claim-{e(x.claim_id)}">{e(x.claim_id)}</a>: '
                       f'{e(x.detail)}{" — " + e(x.title) if x.title else ""}</li>'
                       for x in details) + '</ul></details>')
    if ch.unchanged:
        out.append(f'<p class="note">Unchanged: {e(", ".join(ch.unchanged))}.</p>')
    out.append("</section>")
    return "".join(out)


#: The new-paper columns of the changes table: stance bucket → header.
_NEW_LABELS = {"supports": "+ supports", "contradicts": "− contradicts",
               "mixed-or-mentions": "± mixed / mentions", "not-judged": "? not judged"}


def _method(report: Report, when: date | None) -> str:
    trust = " ".join(
        f"The automatic judge {e(j.key)} is trusted with an error rate of {j.prior_error:.2f} "
        f"({e(j.prior_basis)}), re-estimated from {j.verdicts} researcher "
        f"verdict{'' if j.verdicts == 1 else 's'}." for j in report.judges)
    as_of = (f" “As of {when:%Y-%m-%d}” counts only papers published by that date, at the "
             "precision PubMed dates them (a paper dated only “2014” counts as published by "
             "any day of 2014), judged as they are judged today." if when else "")
    return ('<section id="method" aria-labelledby="method-h"><h2 id="method-h">How to read this '
            'page</h2><ul class="facts">'
            '<li><strong>Stance</strong> of each paper on each claim: the newest researcher '
            'verdict, else the curator’s stance from the claims file, else the automatic judge. '
            '“Decided by” names which.</li>'
            '<li><strong>Score</strong> = support × (1 − contradiction); each side combines its '
            'papers weighted by design tier and by who judged them, papers of one lab counting '
            'with diminishing weight. Retracted papers count for nothing. Δ score: the score '
            'with the paper minus without it.</li>'
            '<li><strong>Certainty</strong> (GRADE-like) starts from the best supporting design '
            'and drops for contradiction, few independent groups and unverified judgements.</li>'
            f'<li>{trust}{as_of}</li>'
            f'<li>Score priors: {e(report.priors or "packaged defaults")}.</li></ul></section>')
