"""Turning a :class:`~evtrack.report.Report` into text: terminal table, JSON, CSV, HTML."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from typing import Any

import pandas as pd

from evtrack.chain import ChainReport
from evtrack.csvsafe import to_csv_text
from evtrack.integrity import check_all, check_citations, integrity_summary
from evtrack.reliability import JudgeReliability
from evtrack.report import STANCE_BUCKETS, ClaimReport, LinkRow, Report
from evtrack.scoring import Contribution

FORMATS = ("table", "json", "csv", "html")


def claims_frame(report: Report) -> pd.DataFrame:
    """One row per claim: the summary the CSV export and ``--format csv`` share."""
    rows = []
    for c in report.claims:
        rows.append({
            "claim_id": c.id, "claim": c.text, "score": round(c.score.score, 4),
            "support": round(c.score.support, 4), "contradiction": round(c.score.contradiction, 4),
            **{f"n_{b.replace('-', '_')}": c.stance_counts[b] for b in STANCE_BUCKETS},
            "certainty": c.score.certainty.label,
            "certainty_downgrades": "; ".join(c.score.certainty.downgrades),
            "independent_groups": c.score.independent_support,
            "groups": _groups_text(c), "top_papers": _top_text(c),
            "weakest_link": _weakest_text(report.chain, c.id),
            "n_papers": c.n_papers, "n_retracted": len(c.retracted),
            "retracted_pmids": " ".join(r.pmid for r in c.retracted),
            "cited_refs": "; ".join(f"{x.citation} -> {x.pmid or '?'} [{x.stance or x.resolution}]"
                                    for x in c.cited),
            # Does each cited paper support the claim it is cited for (evtrack.integrity)?
            "citation_integrity": "; ".join(f"{x.key}: {x.verdict}" for x in check_citations(c)),
            "leads_to": " ".join(c.leads_to), "questions": " ".join(c.questions),
        })
    return pd.DataFrame(rows)


#: links.csv's columns, in order.
LINK_COLUMNS = ["claim_id", "pmid", "title", "year", "journal", "doi", "design_tier",
                "tier_source", "stance", "decider", "decided_by", "rationale", "confidence",
                "retracted", "found_by", "group", "weight", "score_delta"]


def link_record(c: ClaimReport, r: LinkRow, moved: dict[str, Contribution]) -> list[Any]:
    """One claim–paper link as links.csv's cells (``moved``: the claim's contributions by
    PMID), in :data:`LINK_COLUMNS` order."""
    x = moved.get(r.pmid)
    return [c.id, r.pmid, r.title, r.year, r.journal, r.doi, r.tier, r.tier_source, r.stance,
            r.decider, r.decided_by, r.rationale, r.confidence, r.retracted,
            " ".join(r.found_by), c.group_labels.get(r.group, "") if r.group else "",
            round(x.weight, 4) if x else 0.0, round(x.delta, 4) if x else 0.0]


def links_frame(report: Report) -> pd.DataFrame:
    """One row per claim–paper link, with who decided its stance and why."""
    rows = []
    for c in report.claims:
        moved = {x.pmid: x for x in c.score.contributions}
        rows += [link_record(c, r, moved) for r in c.links]
    frame = pd.DataFrame(rows, columns=LINK_COLUMNS)
    return frame.astype({"year": "Int64"})


def render(report: Report, fmt: str, *, details: bool = True) -> str:
    if fmt == "json":
        return json.dumps(_jsonable(report), indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "csv":
        return to_csv_text(claims_frame(report))
    if fmt == "html":
        return render_html(report)
    return render_table(report, details=details)


def _groups_text(c: ClaimReport) -> str:
    """Groups of two or more papers: ``"Kavalali E, Monteggia L: 21677641 24912158"``."""
    return "; ".join(f"{c.group_labels.get(g.key, g.key)}: {' '.join(g.pmids)}"
                     for g in c.score.groups if len(g.pmids) > 1)


def _top_text(c: ClaimReport, n: int = 3) -> str:
    return "; ".join(f"{x.pmid} {x.stance} {x.tier} {x.delta:+.3f}"
                     for x in c.score.contributions[:n])


def _weakest_text(chain: ChainReport | None, claim_id: str) -> str:
    """The weakest link of every chain path through the claim."""
    if chain is None:
        return ""
    return "; ".join(f"{' → '.join(p.claims)}: {p.weakest} ({p.support:.2f})"
                     for p in chain.paths_through(claim_id))


def _jsonable(report: Report) -> dict[str, Any]:
    out = asdict(report)
    for c, raw in zip(report.claims, out["claims"], strict=True):
        sc = c.score
        raw["score"] = {
            "score": sc.score, "support": sc.support, "contradiction": sc.contradiction,
            "certainty": asdict(sc.certainty), "independent_support": sc.independent_support,
            "automatic_share": sc.automatic_share,
            "groups": [{**asdict(g), "label": c.group_labels.get(g.key, g.key)}
                       for g in sc.groups],
            "top_contributions": [asdict(x) for x in sc.contributions[:5]]}
        raw["retracted"] = [r.pmid for r in c.retracted]
    if report.chain is not None:
        weakest = report.chain.weakest
        out["chain"]["weakest"] = asdict(weakest) if weakest else None
    for j, raw in zip(report.judges, out["judges"], strict=True):
        raw["verdicts"] = j.verdicts
    return out


def _short(text: str | None, width: int) -> str:
    """``textwrap.shorten``: whitespace collapsed, cut at a word to ``width`` with "…". A
    text that fits once collapsed is returned as it is without the wrapper's machinery (a
    thousand claims' tables call this fourteen thousand times)."""
    collapsed = " ".join((text or "").split())
    if len(collapsed) <= width:
        return collapsed
    return textwrap.shorten(collapsed, width=width, placeholder="…")


def render_table(report: Report, *, details: bool = True) -> str:
    lines = [f"evtrack support report — {len(report.claims)} claims"
             + (f" — last refresh: {report.last_run}" if report.last_run else "")
             + (f" — as of {report.as_of}: only papers published by then count"
                if report.as_of else "")]
    head = (f"{'claim':<6}{'score':>6}  {'certainty':<10}{'grp':>4}{'sup':>4}{'con':>4}{'mix':>4}"
            f"{'n/j':>4}{'ret':>4}  claim text")
    lines += ["", head, "-" * len(head)]
    for c in report.claims:
        n = c.stance_counts
        lines.append(f"{c.id:<6}{c.score.score:>6.2f}  {c.score.certainty.label:<10}"
                     f"{c.score.independent_support:>4}{n['supports']:>4}{n['contradicts']:>4}"
                     f"{n['mixed-or-mentions']:>4}{n['not-judged']:>4}{len(c.retracted):>4}  "
                     f"{_short(c.text, 60)}")
    lines.append("grp: independent groups supporting; sup/con/mix/n/j: papers supporting / "
                 "contradicting / mixed or mentioning / not judged; ret: retracted")
    for c in report.claims:
        for r in c.retracted:
            lines.append(f"RETRACTED: {c.id} links PMID {r.pmid} — counts for nothing")
    lines += _chain_lines(report.chain)
    lines += _integrity_lines(report)
    if report.judges:
        lines.append("")
        lines += [textwrap.fill(_judge_line(j), width=100, subsequent_indent="  ",
                                break_on_hyphens=False) for j in report.judges]
    if details:
        for c in report.claims:
            lines += ["", *_claim_details(c)]
    return "\n".join(lines) + "\n"


def _integrity_lines(report: Report) -> list[str]:
    """Citation integrity: each reference the article cites, and whether it supports the
    claim it is cited for (:mod:`evtrack.integrity`)."""
    checks = check_all(report.claims)
    if not checks:
        return []
    out = ["", f"The article's own citations (citation integrity) — {integrity_summary(checks)}:"]
    width = max(len(x.label) for x in checks)
    for x in checks:
        who = f"by {x.decided_by}" if x.decided_by else x.explanation
        out.append(f"  {x.label:<{width}}  {x.verdict:<11} {who}"
                   + "".join(f"; {caveat}" for caveat in x.caveats))
    return out


def _chain_lines(chain: ChainReport | None) -> list[str]:
    if chain is None or not (chain.paths or chain.questions):
        return []
    out = ["", "The claim chain — a path holds no better than its weakest link:"]
    width = max((len(" → ".join(p.claims)) for p in chain.paths), default=0)
    for p in chain.paths:
        out.append(f"  {' → '.join(p.claims):<{width}}  support {p.support:.2f}  "
                   f"weakest link: {p.weakest}")
    for q in chain.questions:
        out.append(f"  {q.by} questions {q.target} ({q.by} {q.by_score:.2f}, "
                   f"{q.target} {q.target_score:.2f})")
    weakest = chain.weakest
    if weakest is not None:
        on = [p for p in chain.paths if p.weakest == weakest.weakest]
        out.append(f"  The chain's weakest link: {weakest.weakest} ({weakest.support:.2f}), "
                   f"on {len(on)} of {len(chain.paths)} paths")
    if chain.truncated:
        out.append("  (stopped after the first paths: the claims branch too much to list all)")
    return out


def _judge_line(j: JudgeReliability) -> str:
    stances = "".join(f", {s} {e:.2f}" for s, e in sorted(j.prior_by_stance.items()))
    cells = "; ".join(f"{t.tier} {t.stance} {t.error:.2f} ({t.verdicts} verdicts, "
                      f"{t.disagreements} disagreed)" for t in j.estimates)
    return (f"Automatic judge {j.key}: error prior {j.prior_error:.2f}{stances} "
            f"({j.prior_basis}; worth {j.prior_strength:g} verdicts), re-estimated from "
            f"{j.verdicts} researcher verdict{'' if j.verdicts == 1 else 's'}"
            + (f": {cells}" if cells else ""))


def _claim_details(c: ClaimReport) -> list[str]:
    sc = c.score
    out = [f"== {c.id}: {c.text}",
           f"   {c.subject} —{c.relation}→ {c.object}"
           + (f"   chain: → {', '.join(c.leads_to)}" if c.leads_to else "")
           + (f"   questions: {', '.join(c.questions)}" if c.questions else ""),
           f"   score {sc.score:.2f} = support {sc.support:.2f} × "
           f"(1 − contradiction {sc.contradiction:.2f})",
           f"   certainty {sc.certainty.label}: starts {sc.certainty.start}"
           + (f" (best supporting design: {sc.certainty.best_tier})"
              if sc.certainty.best_tier else "")
           + "".join(f"; {d}" for d in sc.certainty.downgrades)]
    n_support = c.stance_counts.get("supports", 0) - sum(
        1 for r in c.retracted if r.stance == "supports")
    out.append(f"   independent groups: {sc.independent_support} supporting "
               f"(from {n_support} supporting papers)")
    for g in sc.groups:
        if len(g.pmids) > 1:
            out.append(f"     {c.group_labels.get(g.key, g.key)}: {' '.join(g.pmids)} "
                       f"({g.supports}+/{g.contradicts}-/{g.mixed}~, support {g.support:.2f}, "
                       f"contradiction {g.contradiction:.2f})")
    if sc.contributions:
        out.append("   moved the score most (score with it minus without it):")
        for m in sc.contributions[:5]:
            out.append(f"     {m.delta:+.3f}  PMID {m.pmid} {m.stance} ({m.tier}, {m.decider}, "
                       f"weight {m.weight:.2f}" + (f", counted {m.effective:.2f} in its group"
                                                   if m.effective < m.weight else "") + ")")
    tiers = ", ".join(f"{t}: {v['supports']}+/{v['contradicts']}-/{v['mixed-or-mentions']}~"
                      f"/{v['not-judged']}?" for t, v in sorted(c.tier_counts.items()))
    out.append(f"   by design tier (+ supports, - contradicts, ~ mixed/mentions, ? not judged): "
               f"{tiers or 'no papers linked'}")
    for q in c.queries:
        out.append(f"   query {q[0]}: {q[2] if q[2] is not None else '–'} hits")
    if c.cited:
        out.append("   cited by the article:")  # each line: does the cited paper support the claim?
        for x in check_citations(c):
            out.append(f"     {x.citation}  PMID {x.pmid or '?'}  [{x.resolution}]  → "
                       f"{x.verdict.upper()}: {x.explanation}"
                       + "".join(f"; {caveat}" for caveat in x.caveats))
    if c.curated:
        out.append("   curated evidence:")
        for e in c.curated:
            where = "" if e.in_store else "  (not in store)"
            pm = f"PMID {e.pmid}" + ("" if e.pmid_status == "verified" else " (unverified)") \
                if e.pmid else f"doi {e.doi or '?'}"
            out.append(f"     {e.stance:<11} {e.label or ''}  {pm}{where}: {_short(e.note, 80)}")
    for r in c.retracted:
        out.append(f"   RETRACTED: PMID {r.pmid} {_short(r.title, 60)} — counts for nothing")
    return out


def render_html(report: Report) -> str:
    """The HTML page for ``report`` alone (:mod:`evtrack.html_report`); ``evtrack report
    --format html`` adds the then-vs-now figures and what changed, which need the store."""
    from evtrack.html_report import render_page  # it imports this module's neighbours
    return render_page(report)
