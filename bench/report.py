"""Report benchmark: the support report and the CSV export of a large store, ours against the
naive way.

    .venv/bin/python bench/report.py --workdir /tmp/evtrack-bench --runs 3
    EVTRACK_DB=postgresql+psycopg://… .venv/bin/python bench/report.py --runs 3

A store of ``--claims`` claims, ``--papers`` papers and ``--links`` claim–paper links (default
1,000 / 200,000 / 1,000,000; :mod:`evtrack.testing.scale_store`: author lists that form
independent groups, mostly automatic judgements, some curator stances and designs, some
researcher verdicts, a few retractions) is written once with Core inserts — into
``--workdir`` (SQLite, kept and reused) or into the PostgreSQL database ``EVTRACK_DB`` names
(it must be empty, or hold this very store). Then, each in its own process, ``--runs`` times:

* **report built from nothing** — nothing kept (:func:`evtrack.report_cache.forget`):
  ``build_report(full=False)`` for every claim and the terminal table with every claim's
  details, what ``evtrack report`` runs on a store no report was kept in: SQL aggregates count
  the links, and only those that can move a score (plus retracted, verdict, cited and curated
  ones) come into Python; the report, claim by claim, and the table are then kept
  (:mod:`evtrack.report_cache`);
* **report after a write to one claim** — one judgement of one claim rewritten as it is (to
  the store's triggers, a write like any other: migration 0006 marks that claim), on a link
  no researcher ruled on (a verdict's link would re-learn the judges' error, and every claim
  with it), a different claim each run; then ``evtrack report``: that claim built, the others'
  kept parts read back, the table rendered;
* **report, ledger unchanged** — ``evtrack report`` again: the kept table;
* **claims.csv** — ``evtrack report --format csv``, the ledger unchanged: the kept CSV;
* **CSV export, none of it kept** — what ``evtrack export --csv-only`` runs
  (:func:`evtrack.export.export_tables`) with every kept export part dropped first: the kept
  report decoded, claims.csv, and links.csv with every link, one row each:
  the links the kept report names, and the others (no score depends on them) read straight
  from the store fifty claims at a time, their cells made and defused in SQL, written with
  :mod:`csv`, on two cores; each claim's rows are then kept, compressed (``export_parts``);
* **CSV export, ledger unchanged** — the same again: claims.csv and every claim's rows as
  kept, with no report decoded;
* **CSV export after a write to one claim** — a judgement rewritten as for the report, on
  another claim (from the last one down); then the export: the report with that claim built,
  and links.csv with that claim's rows made and the other claims' as kept (the script checks
  that only that claim was made);
* **refresh's snapshot after a write to one claim** — what a refresh ends with: every claim's
  state (score, and each link's stance, tier, decider, retraction and notices), as
  :func:`evtrack.changes.current_states` reads it: the kept summary report (the written claim
  built again) and every other link's state read from the store fifty claims at a time;
  against **its baseline**, the full report of every claim and its states
  (:func:`evtrack.changes.claim_states`), what a refresh ran before. The two must hold the
  same states;
* **baseline** — the naive way: ``pandas.read_sql`` of the joined links and papers, every
  judgement, verdict, curated design and author into DataFrames, the stance precedence, the
  counts per stance and tier in pandas, and the scores from the counted links (the same
  :class:`evtrack.scoring.Scorer`, the judges' error re-estimated from the verdicts in pandas).

The figures of the report and of the baseline must agree — every claim's counts and score, to
the last bit — or the script stops with an error. Seconds are wall time of the measured call
alone (not interpreter start); peak RSS is the worker's. Medians of ``--runs``; ratio =
its baseline's seconds / ours (the pandas baseline's; for the snapshot, the full report's).
Targets (issue 5): report < 2 s, CSV export < 2 s.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    TreeMonitor,
    env_store,
    machine,
    machine_line,
    median,
    peak_rss_mb,
    run_worker,
    table,
    verdict,
)

TARGET_S = 2.0
KINDS = ("report_cold", "report_write", "report", "claims_csv", "links_cold", "links_csv",
         "links_write", "snapshot", "baseline", "snapshot_full")
#: The baselines (left out by ``--no-baseline``), and what each is the baseline of.
BASELINES = {"baseline": ("report_cold", "report_write", "report", "claims_csv", "links_cold",
                          "links_csv", "links_write"),
             "snapshot_full": ("snapshot",)}
#: The CSV export's cases.
EXPORTS = ("links_cold", "links_csv", "links_write")


# --------------------------------------------------------------------------- the store


def store_url(args: argparse.Namespace, work: Path) -> str:
    """The benchmark store's URL, written first when it is not there yet."""
    from evtrack.store.db import open_store
    from evtrack.store.models import Claim, Link, Paper
    from evtrack.testing.scale_store import SCALE_VERSION, fill_store

    sizes = {"claims": args.claims, "papers": args.papers, "links": args.links}
    url = env_store("the store", {Claim: args.claims, Paper: args.papers, Link: args.links},
                    lambda engine: fill_store(engine, seed=args.seed, **sizes))
    if url:
        return url
    path = work / (f"report-c{args.claims}-p{args.papers}-l{args.links}-s{args.seed}"
                   f"-v{SCALE_VERSION}.sqlite")
    if not path.exists():
        print(f"writing the store {path} …", file=sys.stderr)
        partial = path.with_suffix(".part")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        engine = open_store(f"sqlite:///{partial}")
        fill_store(engine, seed=args.seed, **sizes)
        with engine.connect() as conn:  # fold the WAL into the file before it is renamed
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        partial.rename(path)  # never leave a half-written store under the cached name
    return f"sqlite:///{path}"


# --------------------------------------------------------------------------- workers


def digest(figures: dict[str, tuple[Any, ...]]) -> str:
    """One hash of every claim's figures, to compare processes without shipping them."""
    return hashlib.sha256(json.dumps(sorted(figures.items())).encode()).hexdigest()


def report_figures(report: Any) -> dict[str, tuple[Any, ...]]:
    return {c.id: (sorted(c.stance_counts.items()),
                   sorted((t, sorted(b.items())) for t, b in c.tier_counts.items()),
                   c.n_papers, len(c.retracted), c.score.score.hex()) for c in report.claims}


def write_one_claim(engine: Any, run: int) -> str:
    """Rewrite one judgement as it is, on a link without a verdict of the ``run``-th claim
    (in id order, wrapping): the claim it marks."""
    from sqlalchemy import text

    with engine.begin() as conn:
        claims = conn.execute(text("SELECT id FROM claims ORDER BY id")).scalars().all()
        claim = claims[run % len(claims)]
        conn.execute(text(
            "UPDATE judgements SET stance = stance WHERE id = (SELECT j.id FROM judgements j "
            "JOIN links l ON l.id = j.link_id WHERE l.claim_id = :c AND NOT EXISTS "
            "(SELECT 1 FROM verdicts v WHERE v.link_id = l.id) ORDER BY j.id LIMIT 1)"),
            {"c": claim})
    return str(claim)


def built_claims(engine: Any, generation: int, model: Any = None) -> list[str]:
    """The claims whose kept part (of the report, or of links.csv with ``model``
    :class:`~evtrack.store.models.ExportPart`) was built at ``generation`` (a reused part
    keeps the generation it was built at)."""
    from sqlalchemy import select

    from evtrack.store.models import ReportPart

    model = model or ReportPart
    with engine.connect() as conn:
        return sorted(conn.execute(select(model.claim_id).distinct()
                                   .where(model.generation == generation)).scalars())


def worker(kind: str, url: str, out: Path, run: int = 0) -> dict[str, Any]:
    from evtrack import report_cache
    from evtrack.export import export_tables
    from evtrack.store.db import open_store
    from evtrack.store.models import ExportPart

    engine = open_store(url)  # schema checks are not part of the figure
    result: dict[str, Any] = {}
    if kind == "report_cold":
        report_cache.forget(engine)  # nothing kept: every claim is built
    elif kind == "report_write":
        result["claim"] = write_one_claim(engine, run)
    elif kind == "snapshot":  # from claim len(KINDS) on: not report_write's, not links_write's
        result["claim"] = write_one_claim(engine, run + len(KINDS))
    elif kind == "links_write":  # from the last claim down: not the one report_write wrote
        result["claim"] = write_one_claim(engine, -1 - run)
    elif kind == "links_cold":  # no export kept (the report is: it comes before)
        from sqlalchemy import delete

        with engine.begin() as conn:
            conn.execute(delete(ExportPart))
    start = time.perf_counter()
    if kind in ("report", "report_cold", "report_write"):
        text = report_cache.rendered_summary(engine, "table")
        result["chars"] = len(text)
        result["seconds"] = time.perf_counter() - start
        report = report_cache.summary_report(engine)  # kept now: not part of the figure
        report_cache.rendered_summary(engine, "csv")  # so claims_csv finds its text kept
        result["loaded_links"] = sum(len(c.links) for c in report.claims)
        result["digest"] = digest(report_figures(report))
        if kind != "report":  # (the kept table: nothing built)
            result["built"] = built_claims(engine, report.generation)
    elif kind == "claims_csv":
        text = report_cache.rendered_summary(engine, "csv")
        (out / "claims.csv").write_text(text, encoding="utf-8")
        result["rows"] = len(list(csv.reader(io.StringIO(text)))) - 1
    elif kind in EXPORTS:
        # The helper process that writes part of links.csv counts too: the sum of each
        # process's own peak, an upper bound of what both held at once.
        with TreeMonitor() as tree:
            written = export_tables(engine, out)
            result["seconds"] = time.perf_counter() - start  # not the monitor's last sample
        result["peak_rss_mb"] = tree.peak_rss_mb
        result["processes"] = len(tree.peaks)
        result["rows"] = written[1][1]
        result["mb"] = (out / "links.csv").stat().st_size / 1e6
        if kind != "links_csv":  # (the ledger unchanged: every claim's part kept)
            result["built"] = built_claims(engine, report_cache.generation(engine), ExportPart)
    elif kind in ("snapshot", "snapshot_full"):
        from evtrack import changes

        if kind == "snapshot":
            summary, states = changes.current_states(engine)
            result["built"] = built_claims(engine, summary.generation)
        else:
            from evtrack.report import build_report
            from evtrack.store.db import read_snapshot

            full = build_report(engine)
            with read_snapshot(engine) as conn:
                states = changes.report_states(conn, full)
        result["seconds"] = time.perf_counter() - start
        result["states"] = hashlib.sha256(json.dumps(
            [(s.claim_id, s.score.hex(), sorted(s.links.items())) for s in states.values()]
        ).encode()).hexdigest()
    else:
        figures = baseline(engine)
        result["digest"] = digest(figures)
    result.setdefault("seconds", time.perf_counter() - start)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    return result


def baseline(engine: Any) -> dict[str, tuple[Any, ...]]:
    """The naive way: every row of the joined tables in DataFrames, figures in pandas."""
    import pandas as pd
    from sqlalchemy import select

    from evtrack.groups import author_name, independent_groups
    from evtrack.refresh import CURATED_METHOD
    from evtrack.reliability import VerdictCheck, judge_reliability, load_measured_error
    from evtrack.report import STANCE_BUCKETS
    from evtrack.scoring import Evidence, Scorer, default_priors
    from evtrack.store.models import CuratedRef, Judgement, Link, Paper, PaperAuthor, Verdict

    priors = default_priors()
    with engine.connect() as conn:
        links = pd.read_sql(select(Link.id, Link.claim_id, Link.paper_id, Paper.pmid,
                                   Paper.design_tier, Paper.is_retracted)
                            .join(Paper, Paper.id == Link.paper_id), conn)
        judgements = pd.read_sql(select(Judgement.id, Judgement.link_id, Judgement.method,
                                        Judgement.version, Judgement.stance), conn)
        verdicts = pd.read_sql(select(Verdict.id, Verdict.link_id, Verdict.stance,
                                      Verdict.created_at), conn)
        designs = pd.read_sql(select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.design)
                              .where(CuratedRef.design.is_not(None)), conn)
        authors = pd.read_sql(select(PaperAuthor.paper_id, PaperAuthor.position,
                                     PaperAuthor.last_name, PaperAuthor.fore_name,
                                     PaperAuthor.initials, PaperAuthor.collective_name), conn)
    curated = judgements[judgements.method == CURATED_METHOD].set_index("link_id")
    auto = (judgements[judgements.method != CURATED_METHOD].sort_values("id")
            .drop_duplicates("link_id", keep="last").set_index("link_id"))
    newest = (verdicts.sort_values(["created_at", "id"])
              .drop_duplicates("link_id", keep="last").set_index("link_id"))
    links = links.set_index("id")
    links["auto_stance"] = auto.stance
    links["auto_method"] = auto.method + " " + auto.version
    links["decider"] = "none"
    links.loc[links.auto_stance.notna(), "decider"] = "judge"
    links.loc[links.index.isin(curated.index), "decider"] = "curator"
    links.loc[links.index.isin(newest.index), "decider"] = "verdict"
    links["stance"] = (newest.stance.reindex(links.index)
                       .combine_first(curated.stance.reindex(links.index))
                       .combine_first(links.auto_stance).fillna("unjudged"))
    design = designs.drop_duplicates(["claim_id", "pmid"], keep="last")
    links = links.reset_index().merge(design, on=["claim_id", "pmid"], how="left")
    links["tier"] = links.design.fillna(links.design_tier)
    links["bucket"] = links.stance.map({"supports": "supports", "contradicts": "contradicts",
                                        "mixed": "mixed-or-mentions",
                                        "mentions": "mixed-or-mentions"}).fillna("not-judged")
    by_tier = links.groupby(["claim_id", "tier", "bucket"]).size()
    n_retracted = links.groupby("claim_id").is_retracted.sum()
    n_papers = links.groupby("claim_id").size()

    # The judges' error, re-estimated from the verdicts on the links they judged.
    checked = (judgements[(judgements.method != CURATED_METHOD)
                          & judgements.link_id.isin(newest.index)]
               .merge(links[["id", "tier"]], left_on="link_id", right_on="id"))
    checks: dict[tuple[str, str], list[VerdictCheck]] = {
        (m, v): [] for m, v in judgements.loc[judgements.method != CURATED_METHOD,
                                              ["method", "version"]].drop_duplicates()
        .itertuples(index=False)}
    for row in checked.itertuples(index=False):
        checks[(row.method, row.version)].append(VerdictCheck(
            tier=row.tier, judge_stance=row.stance,
            verdict_stance=newest.stance[row.link_id]))
    measured = load_measured_error()
    scorer = Scorer(priors, [judge_reliability(
        found, method=m, version=v, fallback_error=priors.decider_error["judge"],
        prior_strength=priors.judge_prior_strength, measured=measured)
        for (m, v), found in sorted(checks.items())])

    counted = links[links.stance.isin(["supports", "contradicts", "mixed"])
                    & ~links.is_retracted.astype(bool)]
    authors = authors.sort_values(["paper_id", "position"])
    parts = authors[["last_name", "fore_name", "initials", "collective_name"]]
    parts = parts.astype(object).where(parts.notna(), None)
    authors["name"] = [author_name(*a) for a in parts.itertuples(index=False)]
    names = authors.dropna(subset=["name"]).groupby("paper_id").name.apply(list)
    figures: dict[str, tuple[Any, ...]] = {}
    for cid, rows in links.groupby("claim_id"):
        mine = counted[counted.claim_id == cid]
        papers = {r.pmid: names.get(r.paper_id, []) for r in mine.itertuples()}
        group = {p: g.key for g in independent_groups(papers, priors.min_shared_authors)
                 for p in g.pmids}
        score = scorer.score(Evidence(r.pmid, r.stance, r.tier, r.decider, False,
                                      group=group.get(r.pmid),
                                      method=r.auto_method if r.decider == "judge" else None)
                             for r in mine.itertuples())
        tiers = by_tier.loc[cid]
        buckets = {b: int(tiers.xs(b, level="bucket").sum())
                   if b in tiers.index.get_level_values("bucket") else 0
                   for b in STANCE_BUCKETS}
        figures[str(cid)] = (
            sorted(buckets.items()),
            sorted((t, sorted({b: int(tiers.get((t, b), 0)) for b in STANCE_BUCKETS}.items()))
                   for t in tiers.index.get_level_values("tier").unique()),
            int(n_papers[cid]), int(n_retracted[cid]), score.score.hex())
        del rows
    return figures


# --------------------------------------------------------------------------- driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1_000)
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (median)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workdir", type=Path,
                        help="keep the SQLite store here (default: a temp dir)")
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "URL", "OUT", "RUN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, url, out, run = args.worker
        print(json.dumps(worker(kind, url, Path(out), int(run))))
        return

    from sqlalchemy import make_url

    me = Path(__file__).resolve()
    with tempfile.TemporaryDirectory(prefix="evtrack-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url = store_url(args, work)
        kinds = [k for k in KINDS if k not in BASELINES or not args.no_baseline]
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for run in range(args.runs):
            for kind in kinds:
                out = Path(tmp) / f"{kind}-{run}"
                out.mkdir()
                runs[kind].append(run_worker(me, ["--worker", kind, url, str(out),
                                                  str(run)]))
            print(f"  run {run + 1}/{args.runs}: " + ", ".join(
                f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items()), file=sys.stderr)
    digests = {r["digest"] for k in ("report_cold", "report_write", "report", "baseline")
               for r in runs.get(k, [])}
    if len(digests) > 1:
        raise SystemExit("the report's figures and the baseline's differ: "
                         f"{sorted(digests)}")
    states = {r["states"] for k in ("snapshot", "snapshot_full") for r in runs.get(k, [])}
    if len(states) > 1:
        raise SystemExit(f"the snapshot's claim states and the full report's differ: {states}")

    results: dict[str, dict[str, Any]] = {}
    for kind, rs in runs.items():
        results[kind] = {"seconds": median([r["seconds"] for r in rs]),
                         "peak_rss_mb": median([r["peak_rss_mb"] for r in rs]),
                         "all_seconds": [round(r["seconds"], 3) for r in rs]}
        for key in ("rows", "loaded_links", "mb"):
            if key in rs[0]:
                results[kind][key] = rs[0][key]
        if "built" in rs[0]:  # how many claims each run built (the others were kept)
            results[kind]["built"] = [len(r["built"]) for r in rs]
    wrong = [(kind, r["claim"], r["built"]) for kind in ("report_write", "links_write", "snapshot")
             for r in runs[kind] if r["built"] != [r["claim"]]]
    if wrong:
        raise SystemExit(f"a write to one claim built other claims too: {wrong}")
    wrong = [r["built"] for r in runs["links_cold"] if len(r["built"]) != args.claims]
    if wrong:
        raise SystemExit(f"an export with nothing of it kept did not make every claim: {wrong}")
    ratios = {k: results[b]["seconds"] / results[k]["seconds"]
              for b, theirs in BASELINES.items() if b in results for k in theirs}
    backend = make_url(url).get_backend_name()

    print(f"report benchmark — {machine_line()}")
    print(f"{backend}; {args.claims:,} claims, {args.papers:,} papers, {args.links:,} links; "
          f"medians of {args.runs} runs; seconds = wall clock of the call in its own process; "
          f"ratio = its baseline's seconds / ours\n")
    labels = {"report_cold": "report built from nothing: build + table, kept",
              "report_write": "report after a write to one claim: 1 built, rest kept",
              "report": "report, ledger unchanged: the kept table",
              "claims_csv": "claims.csv, ledger unchanged (kept)",
              "links_cold": "CSV export, none of it kept: every claim made",
              "links_csv": "CSV export, ledger unchanged: as kept",
              "links_write": "CSV export after a write to one claim",
              "snapshot": "refresh's snapshot after a write to one claim",
              "baseline": "baseline: pandas read_sql + figures",
              "snapshot_full": "snapshot's baseline: the full report's states"}
    targeted = ("report_cold", "report_write", "report", *EXPORTS)
    rows = []
    for kind in KINDS:
        if kind not in results:
            continue
        r = results[kind]
        rows.append([labels[kind], f"{r['seconds']:.2f}", f"{r['peak_rss_mb']:,.0f}",
                     f"{ratios[kind]:.1f}x" if kind in ratios else "",
                     f"< {TARGET_S:g} s" if kind in targeted else ""])
    print(table(["", "seconds", "peak RSS MB", "vs baseline", "target"], rows))
    checks = [(f"{labels[k].split(':')[0]} < {TARGET_S:g} s",
               f"{results[k]['seconds']:.2f} s", results[k]["seconds"] < TARGET_S)
              for k in ("report", "report_write", "report_cold", "links_csv", "links_write",
                        "links_cold")]
    print()
    print(table(["target", "measured", ""], [[t, m, verdict(ok)] for t, m, ok in checks]))
    print(json.dumps({"bench": "report", "machine": machine(), "backend": backend,
                      "runs": args.runs, "seed": args.seed,
                      "sizes": {"claims": args.claims, "papers": args.papers,
                                "links": args.links},
                      "results": results, "ratios": ratios,
                      "figures_agree": len(digests) <= 1 and len(states) <= 1,
                      "targets_met": all(ok for *_x, ok in checks)}))


if __name__ == "__main__":
    main()
