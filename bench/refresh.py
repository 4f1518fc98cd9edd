"""Refresh benchmark: the bundled claims refreshed against the E-utilities stand-in at NCBI's rate.

    .venv/bin/python bench/refresh.py --records 20000
    .venv/bin/python bench/refresh.py --records 20000 --api-key

The stand-in (``evtrack.testing.eutils_server``, run in this process, rate limit on: 3
requests/s per client, 10/s with an API key, HTTP 429 past that) serves the bundled snapshot
plus N generated records (``bench/generate.py``). The real NCBI source (Biopython's request
path, our retries and parsers) refreshes every claim of ``queries/`` into a fresh SQLite
ledger, then refreshes again with nothing new. For each run:

* **requests by utility**, as the stand-in saw them, against the minimum the work needs: one
  ESearch per query (and per date slice past 10,000 hits; plus the one "modified since" search
  of a later refresh), ``ceil(ids fetched / 200)`` EFetch, ``ceil(cited / 100)`` ELink per link
  name, the ECitMatch batches;
* **wall time against the rate-limit floor** (requests / allowed rate) and HTTP 429s;
* **local work**: CPU time of the refreshing thread (storing, linking, judging) plus that of
  the requests it made on its background thread (building, sending, parsing); not the
  stand-in's threads, not the sleeps between requests.

Targets (issue 5): requests = minimum, wall <= 1.2x the floor, zero 429s; a second refresh
with nothing new: one request per query, < 1 s of local work.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import machine, machine_line, table, verdict

TARGET_FLOOR_RATIO = 1.2
TARGET_SECOND_CPU_S = 1.0


def refresh_once(engine: Any, claims: Any, server: Any, api_key: str | None) -> dict[str, Any]:
    from evtrack.entrez import LINK_BATCH, NcbiSource
    from evtrack.refresh import refresh

    class TimedSource(NcbiSource):
        """Adds up the CPU time of each request in the thread that makes it (the refresh's
        background thread): the requests' share of the local work."""

        cpu_s = 0.0

        def _call(self, *args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return super()._call(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - start

    before = len(server.served)
    source = TimedSource("bench@example.org", api_key=api_key, tool="evtrack-bench",
                         base_url=server.base_url)
    start, cpu = time.perf_counter(), time.thread_time()
    summary = refresh(engine, claims, source)
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu + source.cpu_s
    served = server.served[before:]
    by_utility = Counter(s.utility for s in served)
    fetched = sum(len(",".join(s.params.get("id", [])).split(",")) for s in served
                  if s.utility == "efetch" and s.outcome == "ok")
    queries = sum(len(c.queries) for c in claims.claims)
    cited = {pmid for _c, _k, _s, pmid in summary.citations if pmid}
    searches = queries + (1 if summary.requests.get("esearch", 0) > queries else 0)
    minimum = {"esearch": searches, "efetch": math.ceil(fetched / source.batch_size),
               "elink": 2 * math.ceil(len(cited) / LINK_BATCH) if cited else 0,
               "ecitmatch": summary.requests.get("ecitmatch", 0)}
    rate = 10.0 if api_key else 3.0
    total = sum(by_utility.values())
    return {"wall_s": wall, "local_cpu_s": cpu, "requests_cpu_s": source.cpu_s,
            "requests": dict(by_utility), "total": total,
            "minimum": minimum, "rate_limited": sum(s.outcome == "rate-limited" for s in served),
            "floor_s": total / rate, "records_fetched": fetched, "new": summary.counts.new,
            "links_new": summary.links_new, "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000,
                        help="generated records served besides the snapshot")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", action="store_true",
                        help="send an API key: 10 requests/s instead of 3")
    args = parser.parse_args()

    from evtrack.claims import load_claims
    from evtrack.resources import default_claims_dir, snapshot_files
    from evtrack.store.db import open_store
    from evtrack.testing.eutils_server import EutilsServer, records_of
    from evtrack.testing.generate import generate_records

    claims = load_claims([default_claims_dir()])
    records = [*records_of(snapshot_files()), *generate_records(args.records, seed=args.seed)]
    api_key = "bench-key-0123456789" if args.api_key else None
    with tempfile.TemporaryDirectory(prefix="evtrack-bench-") as tmp, \
            EutilsServer(records) as server:
        engine = open_store(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}")
        first = refresh_once(engine, claims, server, api_key)
        time.sleep(1.0)  # let the rate-limit bucket refill, as between two real refreshes
        second = refresh_once(engine, claims, server, api_key)

    rate = "10/s (API key)" if api_key else "3/s (no API key)"
    print(f"refresh benchmark — {machine_line()}")
    print(f"{len(claims.claims)} claims, {first['queries']} queries; stand-in serving "
          f"{len(records):,} records at NCBI's limit of {rate}\n")
    rows = []
    for label, r in (("first refresh", first), ("second, nothing new", second)):
        for utility in ("esearch", "efetch", "elink", "ecitmatch"):
            rows.append([f"{label}: {utility}", str(r["requests"].get(utility, 0)),
                         str(r["minimum"][utility]), "", ""])
        rows.append([f"{label}: total", str(r["total"]), str(sum(r["minimum"].values())),
                     f"{r['wall_s']:.1f} s / {r['floor_s']:.1f} s", f"{r['local_cpu_s']:.1f} s"])
    print(table(["", "requests", "minimum", "wall / floor", "local CPU"], rows))
    print(f"\nfirst refresh: {first['records_fetched']:,} records fetched, "
          f"{first['links_new']:,} links; HTTP 429: {first['rate_limited']} then "
          f"{second['rate_limited']}")
    checks = []
    for label, r in (("first", first), ("second", second)):
        checks.append((f"{label}: requests = minimum", f"{r['total']} vs "
                       f"{sum(r['minimum'].values())}", r["total"] == sum(r["minimum"].values())))
        ratio = r["wall_s"] / r["floor_s"] if r["floor_s"] else math.inf
        checks.append((f"{label}: wall <= {TARGET_FLOOR_RATIO}x floor", f"{ratio:.2f}x",
                       ratio <= TARGET_FLOOR_RATIO))
        checks.append((f"{label}: zero HTTP 429", str(r["rate_limited"]), r["rate_limited"] == 0))
    checks.append(("second: one request per query", f"{second['total']} for "
                   f"{second['queries']} queries", second["total"] <= second["queries"]))
    checks.append((f"second: local work < {TARGET_SECOND_CPU_S:.0f} s",
                   f"{second['local_cpu_s']:.2f} s", second["local_cpu_s"] < TARGET_SECOND_CPU_S))
    print()
    print(table(["target", "measured", ""], [[t, m, verdict(ok)] for t, m, ok in checks]))
    print(json.dumps({"bench": "refresh", "machine": machine(), "records": len(records),
                      "api_key": bool(api_key), "first": first, "second": second,
                      "targets_met": all(ok for *_x, ok in checks)}))


if __name__ == "__main__":
    main()
