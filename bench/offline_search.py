"""Offline search benchmark: the claims' real PubMed queries over a store of N papers.

    .venv/bin/python bench/offline_search.py --records 200000 --workdir /tmp/evtrack-bench
    EVTRACK_DB=postgresql+psycopg://… .venv/bin/python bench/offline_search.py --records 200000

A store of N generated records (``bench/generate.py``, ingested with ``evtrack ingest``'s own
path) is searched, in the same run, two ways, each in its own process:

* **in memory** — what the offline source did before: every stored paper loaded
  (``load_records``) and indexed by :class:`evtrack.querylang.QueryIndex`;
* **full-text index** — what it does now (``OfflineSource.for_store``): the stored papers stay
  in the database and queries run against the index of :mod:`evtrack.search_index` (FTS5 on
  SQLite; ``tsvector`` and GIN on PostgreSQL, when ``EVTRACK_DB`` points at an empty database
  or one this script filled before). Its one-time build (the first offline refresh of a store)
  is measured separately from a warm start (every later one: the index is only checked
  against ``papers``).

Each of the typical set — every query of every claim in ``queries/ketamine.toml`` — runs
``--runs`` times; the figure per query is the median, then the median and the slowest over the
queries. The two approaches must return identical PMIDs for every query, and both must agree
with the brute-force reference :func:`evtrack.querylang.matches` on a sample of records: the
script stops with an error otherwise. Target (issue 5): < 200 ms per typical claim query.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    env_store,
    machine,
    machine_line,
    median,
    peak_rss_mb,
    run_worker,
    table,
    verdict,
)
from generate import corpus_file

TARGET_MS = 200.0


def claim_queries() -> list[tuple[str, str]]:
    from evtrack.claims import load_claims
    from evtrack.resources import default_claims_dir

    claims = load_claims([default_claims_dir()])
    return [(f"{c.id}/{q.name}", q.term) for c in claims.claims for q in c.queries]


# --------------------------------------------------------------------------- workers


def worker(kind: str, url: str, runs: int, hits_out: Path) -> dict[str, Any]:
    from evtrack.offline import OfflineSource
    from evtrack.resources import snapshot_files
    from evtrack.search_index import StoredIndex
    from evtrack.store.db import open_store

    engine = open_store(url)
    out: dict[str, Any] = {}
    if kind == "build":  # the first offline refresh of this store: the index is built
        StoredIndex(engine).drop()
        start = time.perf_counter()
        source = OfflineSource.for_store(engine, snapshot_files())
        out["startup_s"] = time.perf_counter() - start
        return out
    start = time.perf_counter()
    if kind == "fts":
        source = OfflineSource.for_store(engine, snapshot_files())
    else:  # the way the CLI built its offline source before: everything in memory
        from evtrack.store.papers import load_records
        with engine.connect() as conn:
            stored = list(load_records(conn))
        source = OfflineSource.from_files(snapshot_files(), extra=stored)
        del stored
    out["startup_s"] = time.perf_counter() - start
    out["corpus"] = len(source)
    times: dict[str, float] = {}
    hits: dict[str, list[str]] = {}
    for name, term in claim_queries():
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            result = source.search(term)
            seconds.append(time.perf_counter() - start)
        times[name] = median(seconds)
        hits[name] = list(result.pmids)
    out["query_ms"] = {k: v * 1000 for k, v in times.items()}
    hits_out.write_text(json.dumps(hits))
    return out


# --------------------------------------------------------------------------- driver


def build_store(n: int, seed: int, work: Path) -> str:
    """The URL of a store holding the ``n`` generated records, ingested first if need be:
    ``EVTRACK_DB`` (empty, or filled by an earlier run), else a SQLite file in ``work``."""
    from evtrack.ingest import ingest_files
    from evtrack.store.db import open_store
    from evtrack.store.models import Paper

    url = env_store(f"{n:,} generated records", {Paper: n},
                    lambda engine: ingest_files(engine, [corpus_file(work, n, seed)]))
    if url:
        return url
    db = work / f"search-n{n}-s{seed}.sqlite"
    done = db.with_suffix(".done")
    if not done.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        corpus = corpus_file(work, n, seed)
        print(f"  ingesting {n:,} records into {db} …", file=sys.stderr)
        ingest_files(open_store(f"sqlite:///{db}"), [corpus])
        done.touch()
    return f"sqlite:///{db}"


def check_against_reference(url: str, hits: dict[str, list[str]], sample_size: int,
                            seed: int) -> int:
    """Both evaluators agree with querylang.matches on a random sample of stored records."""
    from evtrack.querylang import matches, parse_query
    from evtrack.store.db import open_store
    from evtrack.store.papers import load_records, stored_pmids

    engine = open_store(url)
    with engine.connect() as conn:
        everything = sorted(stored_pmids(conn))
        sample = random.Random(seed).sample(everything, min(sample_size, len(everything)))
        records = list(load_records(conn, sample))
    terms = dict(claim_queries())
    wanted = set(sample)
    for name, found in hits.items():
        query = parse_query(terms[name])
        expected = {r.pmid for r in records if matches(query, r)}
        got = set(found) & wanted
        if got != expected:
            raise SystemExit(f"{name}: differs from querylang.matches on the sample: "
                             f"{sorted(got ^ expected)[:10]}")
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per query (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=3000,
                        help="records checked against querylang.matches")
    parser.add_argument("--workdir", type=Path, help="keep corpus and store here")
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "URL", "RUNS", "HITS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, url, runs, hits = args.worker
        result = worker(kind, url, int(runs), Path(hits))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    me = Path(__file__).resolve()
    url = os.environ.get("EVTRACK_DB", "")
    index = "PostgreSQL tsvector" if url.startswith("postgresql") else "SQLite FTS5"
    with tempfile.TemporaryDirectory(prefix="evtrack-bench-") as tmp:
        work = args.workdir or Path(tmp)
        url = build_store(args.records, args.seed, work)
        build = run_worker(me, ["--worker", "build", url, "0", str(work / "none.json")])
        results, hits = {}, {}
        for kind in ("memory", "fts"):
            out = work / f"hits-{kind}.json"
            results[kind] = run_worker(me, ["--worker", kind, url, str(args.runs), str(out)])
            hits[kind] = json.loads(out.read_text())
        differing = [k for k in hits["fts"] if hits["fts"][k] != hits["memory"][k]]
        if differing:
            raise SystemExit(f"{index} and in-memory answers differ for {differing}")
        checked = check_against_reference(url, hits["fts"], args.sample, args.seed)

    def summary(r: dict[str, Any]) -> dict[str, float]:
        ms = sorted(r["query_ms"].values())
        return {"median_ms": median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))],
                "max_ms": ms[-1], "startup_s": r["startup_s"], "peak_rss_mb": r["peak_rss_mb"]}

    mem, fts = summary(results["memory"]), summary(results["fts"])
    n_queries = len(hits["fts"])
    print(f"offline search benchmark — {machine_line()}")
    print(f"{results['fts']['corpus']:,} papers (stored + bundled snapshot); {n_queries} claim "
          f"queries, median of {args.runs} runs each; answers identical between the two, and "
          f"equal to querylang.matches on {checked:,} sampled records\n")
    rows = [["in memory: load + QueryIndex", f"{mem['startup_s']:.1f}",
             f"{mem['peak_rss_mb']:,.0f}", f"{mem['median_ms']:.1f}", f"{mem['p90_ms']:.1f}",
             f"{mem['max_ms']:.1f}"],
            [f"{index}, first use (build)", f"{build['startup_s']:.1f}",
             f"{build['peak_rss_mb']:,.0f}", "", "", ""],
            [f"{index}, warm", f"{fts['startup_s']:.1f}", f"{fts['peak_rss_mb']:,.0f}",
             f"{fts['median_ms']:.1f}", f"{fts['p90_ms']:.1f}", f"{fts['max_ms']:.1f}"]]
    print(table(["", "startup s", "peak RSS MB", "median ms", "p90 ms", "max ms"], rows))
    slowest = sorted(results["fts"]["query_ms"].items(), key=lambda kv: -kv[1])[:3]
    print(f"\nslowest {index} queries: " + ", ".join(f"{k} {v:.0f} ms" for k, v in slowest))
    checks = [(f"{index}: every claim query < {TARGET_MS:.0f} ms", f"max {fts['max_ms']:.0f} ms",
               fts["max_ms"] < TARGET_MS),
              (f"in memory: every claim query < {TARGET_MS:.0f} ms",
               f"max {mem['max_ms']:.0f} ms", mem["max_ms"] < TARGET_MS)]
    print()
    print(table(["target", "measured", ""], [[t, m, verdict(ok)] for t, m, ok in checks]))
    print(json.dumps({"bench": "offline_search", "machine": machine(), "index": index,
                      "records": args.records,
                      "queries": n_queries, "runs": args.runs, "sample_checked": checked,
                      "memory": mem, "fts": fts, "fts_build": build,
                      "per_query_ms": {"memory": results["memory"]["query_ms"],
                                       "fts": results["fts"]["query_ms"]},
                      "targets_met": checks[0][2]}))


if __name__ == "__main__":
    main()
