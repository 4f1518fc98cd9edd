"""Turning a :class:`~evtrack.report.Report` into text: terminal table, JSON, CSV, HTML."""

from __future__ import annotations

import html
import json
import textwrap
from dataclasses import asdict
from typing import Any

import pandas as pd

from evtrack.report import STANCE_BUCKETS, ClaimReport, LinkRow, Report

FORMATS = ("table", "json", "csv", "html")


def claims_frame(report: Report) -> pd.DataFrame:
    """One row per claim: the summary the CSV export and ``--format csv`` share."""
    rows = []
    for c in report.claims:
        rows.append({
            "claim_id": c.id, "claim": c.text, "score": round(c.score.score, 4),
            "support": round(c.score.support, 4), "contradiction": round(c.score.contradiction, 4),
            **{f"n_{b.replace('-', '_')}": c.stance_counts[b] for b in STANCE_BUCKETS},
            "n_papers": len(c.links), "n_retracted": len(c.retracted),
            "cited_refs": "; ".join(f"{x.citation} -> {x.pmid or '?'} [{x.stance or x.resolution}]"
                                    for x in c.cited),
            "leads_to": " ".join(c.leads_to), "questions": " ".join(c.questions),
        })
    return pd.DataFrame(rows)


def links_frame(report: Report) -> pd.DataFrame:
    """One row per claim–paper link, with who decided its stance and why."""
    rows = []
    for c in report.claims:
        for r in c.links:
            rows.append({
                "claim_id": c.id, "pmid": r.pmid, "title": r.title, "year": r.year,
                "journal": r.journal, "doi": r.doi, "design_tier": r.tier,
                "tier_source": r.tier_source, "stance": r.stance, "decider": r.decider,
                "decided_by": r.decided_by, "rationale": r.rationale,
                "confidence": r.confidence, "retracted": r.retracted,
                "found_by": " ".join(r.found_by),
            })
    columns = ["claim_id", "pmid", "title", "year", "journal", "doi", "design_tier",
               "tier_source", "stance", "decider", "decided_by", "rationale", "confidence",
               "retracted", "found_by"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"year": "Int64"})


def render(report: Report, fmt: str, *, details: bool = True) -> str:
    if fmt == "json":
        return json.dumps(_jsonable(report), indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "csv":
        return str(claims_frame(report).to_csv(index=False))
    if fmt == "html":
        return render_html(report)
    return render_table(report, details=details)


def _jsonable(report: Report) -> dict[str, Any]:
    out = asdict(report)
    for c, raw in zip(report.claims, out["claims"], strict=True):
        raw["score"] = {"score": c.score.score, "support": c.score.support,
                        "contradiction": c.score.contradiction,
                        "top_contributions": [list(t) for t in c.score.contributions[:5]]}
    return out


def _short(text: str | None, width: int) -> str:
    return textwrap.shorten(text or "", width=width, placeholder="…")


def render_table(report: Report, *, details: bool = True) -> str:
    lines = [f"evtrack support report — {len(report.claims)} claims"
             + (f" — last refresh: {report.last_run}" if report.last_run else "")]
    head = (f"{'claim':<6}{'score':>6}  {'sup':>4}{'con':>4}{'mix':>4}{'n/j':>4}{'ret':>4}"
            "  claim text")
    lines += ["", head, "-" * len(head)]
    for c in report.claims:
        n = c.stance_counts
        lines.append(f"{c.id:<6}{c.score.score:>6.2f}  {n['supports']:>4}{n['contradicts']:>4}"
                     f"{n['mixed-or-mentions']:>4}{n['not-judged']:>4}{len(c.retracted):>4}  "
                     f"{_short(c.text, 70)}")
    lines.append("sup/con/mix/n/j: papers supporting / contradicting / mixed or mentioning / "
                 "not judged; ret: retracted")
    if details:
        for c in report.claims:
            lines += ["", *_claim_details(c)]
    return "\n".join(lines) + "\n"


def _claim_details(c: ClaimReport) -> list[str]:
    out = [f"== {c.id}: {c.text}",
           f"   {c.subject} —{c.relation}→ {c.object}"
           + (f"   chain: → {', '.join(c.leads_to)}" if c.leads_to else "")
           + (f"   questions: {', '.join(c.questions)}" if c.questions else ""),
           f"   score {c.score.score:.2f} = support {c.score.support:.2f} × "
           f"(1 − contradiction {c.score.contradiction:.2f})"]
    tiers = ", ".join(f"{t}: {v['supports']}+/{v['contradicts']}-/{v['mixed-or-mentions']}~"
                      f"/{v['not-judged']}?" for t, v in sorted(c.tier_counts.items()))
    out.append(f"   by design tier (+ supports, - contradicts, ~ mixed/mentions, ? not judged): "
               f"{tiers or 'no papers linked'}")
    for q in c.queries:
        out.append(f"   query {q[0]}: {q[2] if q[2] is not None else '–'} hits")
    if c.cited:
        out.append("   cited by the article:")
        for x in c.cited:
            judged = f"{x.stance} ({x.decided_by})" if x.stance else "not linked"
            out.append(f"     {x.citation}  PMID {x.pmid or '?'}  [{x.resolution}]  → {judged}")
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
    """A minimal, self-contained page (the richer report is a later step)."""
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>evtrack support report</title><style>body{font-family:sans-serif;"
             "max-width:70em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid"
             " #ccc;padding:2px 6px;text-align:left}.retracted{color:#a00}</style></head><body>",
             "<h1>evtrack support report</h1>"]
    if report.last_run:
        parts.append(f"<p>Last refresh: {e(report.last_run)}</p>")
    parts.append("<table><thead><tr><th scope='col'>Claim</th><th scope='col'>Score</th>"
                 + "".join(f"<th scope='col'>{e(b)}</th>" for b in STANCE_BUCKETS)
                 + "<th scope='col'>Statement</th></tr></thead><tbody>")
    for c in report.claims:
        parts.append(f"<tr><td><a href='#{e(c.id)}'>{e(c.id)}</a></td>"
                     f"<td>{c.score.score:.2f}</td>"
                     + "".join(f"<td>{c.stance_counts[b]}</td>" for b in STANCE_BUCKETS)
                     + f"<td>{e(c.text)}</td></tr>")
    parts.append("</tbody></table>")
    for c in report.claims:
        parts.append(f"<section id='{e(c.id)}'><h2>{e(c.id)}: {e(c.text)}</h2>")
        parts.append("<table><thead><tr><th>PMID</th><th>Year</th><th>Title</th><th>Tier</th>"
                     "<th>Stance</th><th>Decided by</th><th>Rationale</th></tr></thead><tbody>")
        parts.extend(_html_link_row(r) for r in c.links)
        parts.append("</tbody></table></section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_link_row(r: LinkRow) -> str:
    e = html.escape
    cls = " class='retracted'" if r.retracted else ""
    flag = " [RETRACTED]" if r.retracted else ""
    return (f"<tr{cls}><td><a href='https://pubmed.ncbi.nlm.nih.gov/{e(r.pmid)}/'>{e(r.pmid)}</a>"
            f"</td><td>{r.year or ''}</td><td>{e(r.title)}{flag}</td><td>{e(r.tier)}</td>"
            f"<td>{e(r.stance)}</td><td>{e(r.decided_by)}</td><td>{e(r.rationale or '')}</td></tr>")
