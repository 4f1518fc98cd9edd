"""Chaos campaigns: faults and SIGKILLs against a live refresh, counted row by row.

    .venv/bin/python bench/chaos.py                # full campaign, seed 1, 24 kills
    .venv/bin/python bench/chaos.py --quick        # one position per fault kind, 6 kills
    .venv/bin/python bench/chaos.py --kills 40 --seed 7 --claims ketamine

The scenario is an *update*: a ledger holding one refresh and a round of researchers' verdicts
(hostile notes included), while the E-utilities stand-in (``evtrack.testing.eutils_server``)
now serves revised records, retractions and new papers. The real NCBI source talks to it over
HTTP through ``EVTRACK_EUTILS_URL``'s setting.

* **Fault campaign** (in-process): every fault kind at every position — each E-utility, first
  and later requests — once (*transient*), and as an *outage* (every attempt fails) at two
  seeded positions; plus hostile answers (entity bombs, HTML inside XML, ``<ERROR>`` after
  records, bytes that are not UTF-8). Biopython's own waits are switched off (its requests
  and retries are not), and so is the stand-in's rate limit, which those waits respect; a 429
  is one of the faults.
* **Kill campaign**: ``evtrack refresh`` as a real process, SIGKILLed at a seeded random
  moment (anywhere / right after a request / in the tail after the last request, by turns),
  ``PRAGMA integrity_check`` on what it left, then rerun.

Every trial ends in a comparison with an undisturbed refresh (papers with content hashes,
links, provenance, judgements, verdicts, citation resolutions, query counts): *rows lost* and
*rows extra* (duplicates or strays) after the rerun, *gap* before it (what the disturbed run
had not done yet), verdicts changed, error bodies stored, integrity failures. Exit status 1
when any trial lost, duplicated or changed anything. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import random
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _common import machine, machine_line, table
from sqlalchemy import Engine, create_engine, make_url, text

from evtrack.claims import ClaimSet, load_claims
from evtrack.refresh import refresh
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.testing import chaos
from evtrack.testing.eutils_server import FAULT_KINDS, EutilsServer, Fault, records_of
from evtrack.testing.ledger_check import Dump, canonical_dump

POSITIONS = [("esearch", 1), ("esearch", 3), ("ecitmatch", 1), ("elink", 1), ("elink", 2),
             ("efetch", 1), ("efetch", 2), ("efetch", 3)]
KINDS = [k for k in FAULT_KINDS if k not in ("body", "hold")]
HOSTILE = {
    "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY a "aaaaaaaaaa">'
                      b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><PubmedArticleSet>'
                      b"<PubmedArticle><MedlineCitation><PMID>21677641</PMID><Article>"
                      b"<ArticleTitle>&b;</ArticleTitle></Article></MedlineCitation>"
                      b"</PubmedArticle></PubmedArticleSet>",
    "html-in-xml": b'<?xml version="1.0"?><PubmedArticleSet><html><body>Service Unavailable'
                   b"</body></html></PubmedArticleSet>",
    "error-after-records": b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle>'
                           b"<MedlineCitation><PMID>21677641</PMID></MedlineCitation>"
                           b"</PubmedArticle><ERROR>cut</ERROR></PubmedArticleSet>",
    "not-utf8": b'<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet><PubmedArticle>'
                b"<MedlineCitation><PMID>21677641</PMID><Article><ArticleTitle>\xff\xfe"
                b"</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
                b"</PubmedArticleSet>",
}


@contextmanager
def no_biopython_waits() -> Iterator[None]:
    """Biopython's 0.1 s between requests and 15 s before retrying a network error, off."""
    import Bio.Entrez  # bench code, not evtrack: evtrack.entrez stays the only importer there
    saved = Bio.Entrez.time
    Bio.Entrez.time = SimpleNamespace(time=time.time, sleep=lambda _s: None)
    try:
        yield
    finally:
        Bio.Entrez.time = saved


class Databases:
    """Fresh ledgers in the base state: SQLite copies of a template, or new PostgreSQL
    databases on ``--db-url``'s server, each prepared anew."""

    def __init__(self, work: Path, server_url: str | None, claims: ClaimSet,
                 stand_in: EutilsServer, first: list[Any]) -> None:
        self.work, self.claims, self.stand_in, self.first = work, claims, stand_in, first
        self.server_url = make_url(server_url) if server_url else None
        self.created: list[str] = []
        self._counter = itertools.count()
        self._template: Engine | None = None

    def _new_url(self) -> str:
        if self.server_url is None:
            return f"sqlite:///{self.work / f'ledger-{next(self._counter)}.sqlite'}"
        name = f"evtrack_chaos_{secrets.token_hex(5)}"
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def new_db(self) -> Engine:
        if self.server_url is not None:
            return chaos.prepare_base(self._new_url(), self.claims, self.stand_in, self.first)
        if self._template is None:
            self._template = chaos.prepare_base(self._new_url(), self.claims, self.stand_in,
                                                self.first)
        return chaos.sqlite_copies(self._template, self.work)()

    def drop_all(self) -> None:
        if self.server_url is None or not self.created:
            return
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reference_dump(dbs: Databases, revised: list[Any]) -> Dump:
    engine = dbs.new_db()
    dbs.stand_in.set_records(revised)
    dbs.stand_in.clear_faults()
    with no_biopython_waits():
        refresh(engine, dbs.claims, chaos.ncbi_source(dbs.stand_in), batch_size=10)
    dump = canonical_dump(engine)
    engine.dispose()
    return dump


def fault_plan(rng: random.Random, quick: bool) -> list[Fault]:
    plan = []
    for kind in KINDS:
        positions = [rng.choice(POSITIONS)] if quick else POSITIONS
        plan += [Fault(kind, u, a) for u, a in positions]
        plan += [Fault(kind, u, a, times=None)
                 for u, a in rng.sample(POSITIONS, 1 if quick else 2)]
    return plan


def run_faults(dbs: Databases, revised: list[Any], reference: Dump, plan: list[Fault],
               progress: Callable[[str], None]) -> list[chaos.Trial]:
    trials = []
    with no_biopython_waits():
        for i, fault in enumerate(plan, 1):
            trials.append(chaos.fault_trial(dbs.new_db, dbs.claims, dbs.stand_in, revised,
                                            reference, fault))
            progress(f"fault {i}/{len(plan)}: {fault.kind} {trials[-1].where} -> "
                     f"{trials[-1].outcome}")
        for name, body in HOSTILE.items():
            trial = chaos.fault_trial(dbs.new_db, dbs.claims, dbs.stand_in, revised, reference,
                                      Fault("body", "efetch", 1, body=body))
            trials.append(dataclasses.replace(trial, kind=f"body:{name}"))
            progress(f"hostile answer {name} -> {trial.outcome}")
    return trials


def run_kills(dbs: Databases, revised: list[Any], claims_path: Path | None, kills: int,
              seed: int, progress: Callable[[str], None]) -> tuple[list[chaos.Trial],
                                                                   chaos.Profile]:
    engine = dbs.new_db()
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    dbs.stand_in.set_records(revised)
    dbs.stand_in.clear_faults()
    profile = chaos.profile_refresh(dbs.stand_in, url, claims_path, dbs.work)
    engine = chaos.new_engine(url)
    reference = canonical_dump(engine)
    engine.dispose()
    trials = []
    for i in range(kills):
        trials.append(chaos.kill_trial(seed * 1000 + i, dbs.new_db, dbs.stand_in, revised,
                                       claims_path, dbs.work, profile, reference))
        t = trials[-1]
        progress(f"kill {i + 1}/{kills}: {t.where} -> {t.outcome}, gap {t.gap}, "
                 f"lost {t.rows_lost}, integrity failures {t.integrity_failures}")
    return trials, profile


def summary_rows(trials: list[chaos.Trial]) -> list[list[str]]:
    groups: dict[tuple[str, str], list[chaos.Trial]] = defaultdict(list)
    for t in trials:
        if t.kind == "SIGKILL":  # by how the moment was drawn: anywhere, after a request, tail
            span = {"time": "anywhere", "request": "after a request", "tail": "in the tail"}[
                t.where.split(":")[0]]
        else:
            span = "outage" if "outage" in t.where else "once"
        groups[(t.kind, span)].append(t)
    rows = []
    for (kind, span), group in groups.items():
        outcomes = Counter(t.outcome.split(":")[0] if t.outcome.startswith("crashed")
                           else t.outcome for t in group)
        rows.append([kind, span, str(len(group)),
                     ", ".join(f"{n} {o}" for o, n in outcomes.most_common()),
                     str(max(t.gap for t in group)), str(sum(t.rows_lost for t in group)),
                     str(sum(t.rows_extra for t in group)),
                     str(sum(t.verdicts_changed for t in group)),
                     str(sum(t.error_bodies for t in group)),
                     str(sum(t.integrity_failures for t in group))])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=24, help="SIGKILL trials (default 24)")
    parser.add_argument("--quick", action="store_true",
                        help="one position per fault kind, 6 kills unless --kills is given")
    parser.add_argument("--claims", choices=["chaos", "ketamine"], default="chaos",
                        help="claims for the kill campaign: the small trial set (about a dozen "
                             "requests per refresh) or the bundled ketamine set (about 40)")
    parser.add_argument("--no-faults", action="store_true", help="kill campaign only")
    parser.add_argument("--db-url", help="run on this PostgreSQL server instead of SQLite "
                                         "(a role allowed to CREATE DATABASE)")
    parser.add_argument("--verbose", action="store_true", help="a line per trial on stderr")
    args = parser.parse_args()
    kills = 6 if args.quick and "--kills" not in sys.argv else args.kills
    rng = random.Random(args.seed)

    def progress(line: str) -> None:
        if args.verbose:
            print(line, file=sys.stderr, flush=True)

    start = time.monotonic()
    first = chaos.linked_corpus(records_of(snapshot_files()))
    revised = chaos.revised_corpus(first, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="evtrack-chaos-") as tmp, \
            EutilsServer(first, stall=3.0, slow=0.3) as stand_in:
        work = Path(tmp)
        claims_path, claims = chaos.load_chaos_claims(work)
        kill_claims: Path | None = claims_path
        if args.claims == "ketamine":
            claims, kill_claims = load_claims([default_claims_dir()]), None
        stand_in.rate_limit = False  # for the in-process fault campaign; see the docstring
        with no_biopython_waits():
            dbs = Databases(work, args.db_url, claims, stand_in, first)
        try:
            trials: list[chaos.Trial] = []
            if not args.no_faults:
                reference = reference_dump(dbs, revised)
                trials += run_faults(dbs, revised, reference, fault_plan(rng, args.quick),
                                     progress)
            stand_in.rate_limit = True  # real processes, real Biopython waits: NCBI's limit
            kill_trials, profile = run_kills(dbs, revised, kill_claims, kills, args.seed,
                                             progress)
            trials += kill_trials
        finally:
            dbs.drop_all()
    seconds = time.monotonic() - start

    print(f"Chaos campaign, seed {args.seed}: {len(trials)} trials in {seconds:.0f} s "
          f"({'PostgreSQL' if args.db_url else 'SQLite'}; {machine_line()})")
    print(f"An undisturbed refresh process: {profile.seconds:.1f} s, {profile.requests} "
          f"requests, {profile.tail:.1f} s after the last one.\n")
    print(table(["fault", "when", "trials", "outcome", "max gap", "rows lost", "rows extra",
                 "verdicts changed", "error bodies", "integrity failures"],
                summary_rows(trials)))
    bad = [t for t in trials if not t.ok]
    for t in bad:
        print(f"NOT OK: {t}")
    kill_only = [t for t in trials if t.kind == "SIGKILL"]
    result = {
        "benchmark": "chaos", "seed": args.seed, "backend": "postgresql" if args.db_url
        else "sqlite", "trials": len(trials), "fault_trials": len(trials) - len(kill_only),
        "kill_trials": len(kill_only),
        "killed_mid_run": sum(t.outcome == "killed" and t.gap > 0 for t in kill_only),
        "completed": sum(t.outcome == "completed" for t in trials),
        "failed_clearly": sum(t.outcome.startswith("failed") for t in trials),
        "crashed": sum(t.outcome.startswith("crashed") for t in trials),
        "rows_lost": sum(t.rows_lost for t in trials),
        "rows_duplicated": sum(t.rows_extra for t in trials),
        "verdicts_changed": sum(t.verdicts_changed for t in trials),
        "error_bodies_stored": sum(t.error_bodies for t in trials),
        "integrity_failures": sum(t.integrity_failures for t in trials),
        "seconds": round(seconds, 1), "machine": machine(),
    }
    print(json.dumps(result))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
