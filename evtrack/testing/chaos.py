"""Fault and crash trials of a live refresh against the E-utilities stand-in.

The machinery ``bench/chaos.py`` (the full campaigns) and the test suite (small seeded ones)
share. A *fault trial* runs the real :class:`~evtrack.entrez.NcbiSource` in-process with one
fault scheduled, then reruns without it; a *kill trial* starts ``evtrack refresh`` as a process,
SIGKILLs it at a random moment, checks the database, then reruns it. Either way the end state is
compared with an undisturbed refresh (:func:`~evtrack.testing.ledger_check.canonical_dump`).

The scenario is an *update*: a ledger that already holds a refresh and researchers' verdicts,
while PubMed (the stand-in) now serves revised records, retractions and new papers — the case
where losing, duplicating or mis-judging a row would hurt most.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, select, update

from evtrack.claims import ClaimSet, load_claims
from evtrack.entrez import NcbiSource
from evtrack.errors import EvtrackError
from evtrack.records import PaperRecord, PublicationType, Reference
from evtrack.refresh import refresh
from evtrack.store.db import open_store
from evtrack.store.ledger import add_verdict
from evtrack.store.models import Link, Paper, Verdict
from evtrack.testing.eutils_server import EutilsServer, Fault
from evtrack.testing.ledger_check import (
    Dump,
    canonical_dump,
    changed_rows,
    dump_difference,
    error_bodies_stored,
    sqlite_integrity,
    verdict_rows,
)

#: A small claim set over the bundled snapshot: every utility is used (ECitMatch for the cited
#: papers, ELink from them, ESearch per query, EFetch), in a refresh of about a dozen requests.
CHAOS_CLAIMS = '''
[set]
id = "chaos"
title = "Reliability trials"

[[claim]]
id = "K1"
text = "Ketamine blocks NMDA receptors ('; DROP TABLE claims; -- stays text)."
subject = "ketamine"
relation = "blocks"
object = "NMDA receptor"
leads_to = ["K2"]

[[claim.query]]
name = "ketamine"
term = "ketamine[tiab]"

[[claim.cited]]
key = "seamans2008"
author = "Seamans J"
journal = "Nat Chem Biol"
year = 2008
volume = "4"
first_page = "91"
pmid = "18202677"
pmid_status = "verified"

[[claim]]
id = "K2"
text = "BDNF is required for ketamine's antidepressant effect."
subject = "BDNF"
relation = "is_required_for"
object = "antidepressant effect"

[[claim.query]]
name = "bdnf"
term = "BDNF[tiab] OR \\"brain-derived neurotrophic factor\\"[tiab]"

[[claim.query]]
name = "rapid"
term = "(rapid[tiab] OR synaptogenesis[tiab]) AND antidepress*[tiab]"

[[claim.cited]]
key = "autry2011"
author = "Autry AE"
journal = "Nature"
year = 2011
volume = "475"
first_page = "91"
pmid = "21677641"
pmid_status = "verified"

[[claim.curated]]
label = "Autry 2011"
pmid = "21677641"
pmid_status = "verified"
stance = "supports"
note = "BDNF-deleted mice showed no antidepressant-like effect."
'''

#: The PMIDs the revised corpus gives to papers PubMed "adds" after the first refresh.
NEW_PMID_BASE = 39_000_000
#: A fake key, recognisable wherever it might leak.
TRIAL_API_KEY = "chaos0trial0key0000000000000000000000"


def write_claims(directory: Path, text: str = CHAOS_CLAIMS) -> Path:
    path = directory / "chaos-claims.toml"
    path.write_text(text, encoding="utf-8")
    return path


def linked_corpus(records: Iterable[PaperRecord]) -> list[PaperRecord]:
    """The records with reference lists added, each citing the next two (so that ELink's
    refs and cited-by have answers; the bundled snapshot carries no reference lists)."""
    rs = sorted(records, key=lambda r: int(r.pmid))
    n = len(rs)
    return [dataclasses.replace(r, references=tuple(
        Reference(citation=f"Cited paper {rs[(i + k) % n].pmid}.", pmid=rs[(i + k) % n].pmid)
        for k in (1, 2))) for i, r in enumerate(rs)]


def revised_corpus(records: Sequence[PaperRecord], *, seed: int = 7, revised: float = 0.3,
                   retracted: int = 2, added: int = 6,
                   today: date | None = None) -> list[PaperRecord]:
    """What PubMed serves some months later: a share of records revised (new title and
    abstract, ``date_revised`` today, as corrections do), a few retracted, and new papers
    matching the same queries. Deterministic for a seed."""
    rng = random.Random(seed)
    stamp = (today or date.today()).isoformat()
    out = []
    for r in records:
        if rng.random() < revised:
            r = dataclasses.replace(r, title=f"{r.title} [corrected]", date_revised=stamp)
        out.append(r)
    for i in rng.sample(range(len(out)), min(retracted, len(out))):
        r = out[i]
        out[i] = dataclasses.replace(r, date_revised=stamp, publication_types=(
            *r.publication_types, PublicationType("Retracted Publication", "D016441")))
    for i, r in enumerate(rng.sample(list(records), min(added, len(records)))):
        out.append(dataclasses.replace(r, pmid=str(NEW_PMID_BASE + i), date_revised=stamp,
                                       title=f"A follow-up: {r.title}", doi=None, pmcid=None))
    return out


def hostile_note(i: int) -> str:
    """Verdict notes that must come back byte for byte: SQL, markup, Unicode, length."""
    notes = ["'); DROP TABLE verdicts; --", "=HYPERLINK(\"http://x\")", "<b>bold</b> &amp; &",
             "ketamine – 氯胺酮 – κεταμίνη 🧪", "line one\r\nline two\ttab", "x" * 5000]
    return notes[i % len(notes)]


#: When the trial verdicts were "made": fixed, so that ledgers prepared apart compare equal.
VERDICT_TIME = datetime(2026, 1, 5, 9, 30)


def add_verdicts(engine: Engine, every: int = 2) -> int:
    """A verdict on every ``every``-th link, with hostile notes; returns how many."""
    with engine.begin() as conn:
        links = conn.execute(select(Link.claim_id, Paper.pmid).join(Paper)
                             .order_by(Link.claim_id, Paper.pmid)).all()
        for i, (claim_id, pmid) in enumerate(links[::every]):
            vid = add_verdict(conn, claim_id, pmid,
                              stance=("supports", "contradicts", "mixed")[i % 3],
                              reviewer=f"Reviewer {i % 4}", note=hostile_note(i),
                              tag="polarity" if i % 5 == 0 else None)
            conn.execute(update(Verdict).where(Verdict.id == vid)
                         .values(created_at=VERDICT_TIME + timedelta(minutes=i)))
    return len(links[::every])


def ncbi_source(server: EutilsServer, **options: object) -> NcbiSource:
    """The real NCBI source against the stand-in, with backoff waits shortened (the waits are
    what a trial does not need to sit through; the retry logic is what it tests)."""
    settings: dict[str, object] = {"api_key": TRIAL_API_KEY, "backoff_base": 0.01,
                                   "backoff_cap": 0.05, "timeout": 1.0, "max_attempts": 4,
                                   "batch_size": 10, "rng": random.Random(0)}
    settings.update(options)
    return NcbiSource("trials@example.org", base_url=server.base_url,
                      sleep=lambda s: time.sleep(min(s, 0.05)), **settings)  # type: ignore[arg-type]


def prepare_base(url: str, claims: ClaimSet, server: EutilsServer, first: Sequence[PaperRecord],
                 ) -> Engine:
    """A ledger after one refresh of ``first`` and a round of verdicts."""
    server.set_records(first)
    server.clear_faults()
    engine = open_store(url)
    refresh(engine, claims, ncbi_source(server), batch_size=10)
    add_verdicts(engine)
    return engine


@dataclass(frozen=True)
class Trial:
    """One trial's outcome, as the campaign table shows it."""

    kind: str  # fault kind, or "SIGKILL"
    where: str  # e.g. "efetch#2", "transient"/"outage", or the kill mode
    outcome: str  # "completed" | "failed: clear error" | "killed" | "crashed: …" (a bug)
    gap: int  # reference rows missing right after the disturbed run (before the rerun)
    rows_lost: int  # after the rerun
    rows_extra: int  # after the rerun (duplicates or stray rows)
    verdicts_changed: int
    error_bodies: int
    integrity_failures: int
    message: str = ""

    @property
    def ok(self) -> bool:
        return (not self.outcome.startswith("crashed") and self.rows_lost == 0
                and self.rows_extra == 0 and self.verdicts_changed == 0
                and self.error_bodies == 0 and self.integrity_failures == 0)


def fault_trial(new_db: Callable[[], Engine], claims: ClaimSet, server: EutilsServer,
                revised: Sequence[PaperRecord], reference: Dump, fault: Fault) -> Trial:
    """Refresh with ``fault`` scheduled, rerun without it, compare with ``reference``."""
    engine = new_db()
    verdicts = verdict_rows(engine)
    server.set_records(revised)
    server.clear_faults()
    server.inject(fault)
    message = ""
    try:
        refresh(engine, claims, ncbi_source(server), batch_size=10)
        outcome = "completed"
    except EvtrackError as exc:
        outcome, message = "failed: clear error", str(exc)
    except Exception as exc:  # anything else is a bug in evtrack
        outcome, message = f"crashed: {type(exc).__name__}", str(exc)
    gap, _ = dump_difference(reference, canonical_dump(engine))
    server.clear_faults()
    refresh(engine, claims, ncbi_source(server), batch_size=10)
    return _judged(fault.kind, _where(fault), outcome, gap, engine, reference, verdicts, message)


def _where(fault: Fault) -> str:
    span = "outage" if fault.times is None else f"x{fault.times}"
    return f"{fault.utility or 'any'}#{fault.at} {span}"


def _judged(kind: str, where: str, outcome: str, gap: int, engine: Engine, reference: Dump,
            verdicts: list[tuple[object, ...]], message: str) -> Trial:
    lost, extra = dump_difference(reference, canonical_dump(engine))
    integrity = sqlite_integrity(engine)
    return Trial(kind=kind, where=where, outcome=outcome, gap=gap, rows_lost=lost,
                 rows_extra=extra, verdicts_changed=changed_rows(verdicts, verdict_rows(engine)),
                 error_bodies=len(error_bodies_stored(engine)),
                 integrity_failures=int(integrity not in (None, "ok")), message=message)


# -- kill trials ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """An undisturbed ``evtrack refresh`` process: how long it ran, how many requests it made,
    and how long it went on after its last request (storing, linking, judging)."""

    seconds: float
    requests: int
    tail: float


def refresh_command(claims_path: Path | None) -> list[str]:
    claims = ["--claims", str(claims_path)] if claims_path else []
    return [sys.executable, "-m", "evtrack", *claims, "refresh"]


def refresh_env(server: EutilsServer, url: str, api_key: str = TRIAL_API_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("EVTRACK_CONFIG", "NCBI_API_KEY", "EVTRACK_DB", "EVTRACK_EUTILS_URL")}
    env.update(NCBI_EMAIL="trials@example.org", NCBI_API_KEY=api_key, EVTRACK_DB=url,
               EVTRACK_EUTILS_URL=server.base_url)
    return env


def profile_refresh(server: EutilsServer, url: str, claims_path: Path | None,
                    cwd: Path) -> Profile:
    """Run one undisturbed refresh process and time it."""
    first = len(server.served)
    start = time.monotonic()
    done = subprocess.run(refresh_command(claims_path), env=refresh_env(server, url), cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)
    end = time.monotonic()
    if done.returncode != 0:
        raise RuntimeError(f"undisturbed refresh failed: {done.stderr[-2000:]}")
    served = server.served[first:]
    last = max((s.at for s in served), default=start)
    return Profile(seconds=end - start, requests=len(served), tail=max(0.0, end - last))


def kill_trial(seed: int, new_db: Callable[[], Engine], server: EutilsServer,
               revised: Sequence[PaperRecord], claims_path: Path | None, cwd: Path,
               profile: Profile, reference: Dump) -> Trial:
    """SIGKILL a refresh process at a seeded random moment, check, rerun, compare.

    The moment is drawn three ways, by turns (``seed % 3``), so that every phase is hit:
    uniformly over the run's duration; right after a random request was answered; or
    uniformly within the tail after the last request, where the database work happens.
    """
    rng = random.Random(seed)
    engine = new_db()  # may serve the first corpus to prepare it: serve the revised one after
    server.set_records(revised)
    server.clear_faults()
    url = engine.url.render_as_string(hide_password=False)
    verdicts = verdict_rows(engine)
    engine.dispose()
    env = refresh_env(server, url)
    mode = ("time", "request", "tail")[seed % 3]
    first = len(server.served)
    proc = subprocess.Popen(refresh_command(claims_path), env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 3 * profile.seconds + 30  # every wait below is bounded
    try:
        if mode == "time":
            where = rng.uniform(0, profile.seconds)
            _wait(proc, lambda: False, deadline, time.monotonic() + where)
        elif mode == "request":
            k = rng.randint(1, max(1, profile.requests))
            where = float(k)
            _wait(proc, lambda: len(server.served) - first >= k, deadline)
            time.sleep(rng.uniform(0, 0.02))
        else:
            where = rng.uniform(0, profile.tail)
            _wait(proc, lambda: len(server.served) - first >= profile.requests, deadline)
            time.sleep(where)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    label = {"time": f"t={where:.2f}s", "request": f"after request {where:.0f}",
             "tail": f"tail+{where:.2f}s"}[mode]
    crash_engine = new_engine(url)
    crash_state = sqlite_integrity(crash_engine)
    gap, _ = dump_difference(reference, canonical_dump(crash_engine))
    crash_engine.dispose()
    rerun = subprocess.run(refresh_command(claims_path), env=env, cwd=cwd, capture_output=True,
                           text=True, timeout=600, check=False)
    outcome = "killed" if killed else "finished before the kill"
    if rerun.returncode != 0:
        outcome = f"crashed: rerun exit {rerun.returncode}"
    after = new_engine(url)
    try:
        trial = _judged("SIGKILL", f"{mode}: {label}", outcome, gap, after, reference, verdicts,
                        rerun.stderr.strip().splitlines()[-1] if rerun.returncode else "")
    finally:
        after.dispose()
    if crash_state not in (None, "ok"):
        trial = dataclasses.replace(trial, integrity_failures=trial.integrity_failures + 1,
                                    message=f"after the kill: {crash_state}")
    return trial


def new_engine(url: str) -> Engine:
    return open_store(url, migrate=False)


def sqlite_backup(source: str | Path, target: str | Path) -> None:
    """Copy a SQLite database file with SQLite's backup API: consistent even in WAL mode and
    while another connection writes."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def sqlite_copies(template: Engine, directory: Path) -> Callable[[], Engine]:
    """Fresh copies of a SQLite ledger, one per call."""
    counter = itertools.count()
    source = template.url.database
    assert template.dialect.name == "sqlite" and source

    def new_db() -> Engine:
        path = directory / f"trial-{next(counter)}.sqlite"
        sqlite_backup(source, path)
        return new_engine(f"sqlite:///{path}")
    return new_db


class Databases(Protocol):
    """The test suite's database factory (tests/conftest.py): SQLite files or PostgreSQL."""

    backend: str

    def create(self) -> str: ...

    def copy(self, url: str) -> str: ...


def prepared_copies(databases: Databases, claims: ClaimSet, server: EutilsServer,
                    first: Sequence[PaperRecord], directory: Path) -> Callable[[], Engine]:
    """Prepare one base ledger (:func:`prepare_base`) and return a maker of fresh copies of it.

    Copies, not a ledger prepared anew per trial: each would give its verdicts other timestamps
    than the reference's, and would be served ``first`` again instead of the revision.
    """
    url = databases.create()
    if databases.backend == "sqlite":
        return sqlite_copies(prepare_base(url, claims, server, first), directory)
    prepare_base(url, claims, server, first).dispose()  # a template database must be idle

    def new_db() -> Engine:
        return new_engine(databases.copy(url))
    return new_db


def _wait(proc: subprocess.Popen[bytes], ready: Callable[[], bool], deadline: float,
          until: float | None = None) -> None:
    """Poll until ``ready()`` (or the time ``until``), the process ends, or the deadline."""
    while time.monotonic() < deadline and proc.poll() is None:
        if ready() or (until is not None and time.monotonic() >= until):
            return
        time.sleep(0.002)


def load_chaos_claims(directory: Path) -> tuple[Path, ClaimSet]:
    path = write_claims(directory)
    return path, load_claims([path])
