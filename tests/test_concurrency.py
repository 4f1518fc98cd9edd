"""Two refreshes on one database never interleave, and readers are never kept waiting.

Real ``evtrack`` processes against the E-utilities stand-in. The refresh under test is parked
mid-run deterministically — the stand-in holds one of its requests until the test releases it
(fault kind "hold") — so nothing here depends on timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select as io_select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select

from evtrack.claims import ClaimSet
from evtrack.errors import RefreshLockedError
from evtrack.ingest import ingest_files
from evtrack.lock import refresh_lock
from evtrack.refresh import refresh
from evtrack.report import build_report
from evtrack.resources import snapshot_files
from evtrack.store.db import open_store
from evtrack.store.models import Paper, RefreshRun, Verdict
from evtrack.testing import chaos
from evtrack.testing.eutils_server import EutilsServer, Fault, records_of
from evtrack.testing.ledger_check import canonical_dump, dump_difference

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[EutilsServer]:
    with EutilsServer((), hold_limit=120, slow=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClaimSet, list, list]:
    work = tmp_path_factory.mktemp("concurrency")
    path, claims = chaos.load_chaos_claims(work)
    first = chaos.linked_corpus(records_of(snapshot_files()))
    return path, claims, first, chaos.revised_corpus(first)


@pytest.fixture
def base(db_url: str, server: EutilsServer, setup: tuple[Path, ClaimSet, list, list]) -> Engine:
    """A ledger after one refresh, with PubMed (the stand-in) now serving revised records."""
    _path, claims, first, revised = setup
    engine = chaos.prepare_base(db_url, claims, server, first)
    server.set_records(revised)
    server.clear_faults()
    return engine


def evtrack(*args: str, env: dict[str, str], cwd: Path, **options: object
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evtrack", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False,
                          **options)  # type: ignore[call-overload]


def start_refresh(env: dict[str, str], cwd: Path, claims: Path, name: str,
                  *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    err = cwd / f"{name}.stderr"
    with open(err, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "evtrack", "--claims", str(claims),
                                 "refresh", *extra], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=sink)
    return proc, err


def audit_in_a_terminal(env: dict[str, str], cwd: Path) -> str:
    """``evtrack audit`` needs a terminal: give it a pseudo-terminal, judge one link
    "supports" with a note, and return what it showed. Every wait is bounded.

    A key is typed only once the terminal is in raw mode (click.getchar switches with
    TCSAFLUSH, which would discard it), a line only once it is back in line mode."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "evtrack", "audit", "--limit", "1",
                             "--reviewer", "PTY Reviewer"], env=env, cwd=cwd, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    shown = bytearray()

    def until(token: bytes, *, line_mode: bool, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if io_select.select([master], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):  # OSError: the other end closed
                    shown.extend(os.read(master, 4096))
            canonical = bool(termios.tcgetattr(slave)[3] & termios.ICANON)
            if token in shown and canonical == line_mode:
                return

    try:
        for token, line_mode, typed in ((b"[q]uit ?", False, b"s"),
                                        (b"Note", True, b"saved from a terminal\r"),
                                        (b"tag", True, b"\r")):
            until(token, line_mode=line_mode)
            os.write(master, typed)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=120)
        os.close(slave)  # now reading the master ends at the end of what was shown
        slave = -1
        while io_select.select([master], [], [], 1.0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown.extend(chunk)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return shown.decode("utf-8", "replace")


def test_a_second_refresh_refuses_a_third_waits_and_readers_go_on(
        base: Engine, server: EutilsServer, setup: tuple[Path, ClaimSet, list, list],
        tmp_path: Path) -> None:
    claims_path = setup[0]
    url = base.url.render_as_string(hide_password=False)
    env = chaos.refresh_env(server, url)
    server.inject(Fault("hold", "efetch", 1))
    first, _ = start_refresh(env, tmp_path, claims_path, "first")
    try:
        assert server.wait_until(lambda: server.holding == 1, timeout=120), "refresh not parked"

        refused = evtrack("--claims", str(claims_path), "refresh", env=env, cwd=tmp_path)
        assert refused.returncode == 1
        assert refused.stderr.startswith("Error: another refresh or ingest is running on ")
        assert f"pid {first.pid} on " in refused.stderr and "evtrack refresh" in refused.stderr
        assert "--wait SECONDS" in refused.stderr

        waiting, waiting_err = start_refresh(env, tmp_path, claims_path, "waiting",
                                             "--wait", "300")
        assert server.wait_until(lambda: "waiting up to 300 s" in waiting_err.read_text(),
                                 timeout=120)

        # Readers, and reviewers' verdicts, go ahead while the refresh is parked mid-run.
        readers = {name: subprocess.Popen([sys.executable, "-m", "evtrack", *args], env=env,
                                          cwd=tmp_path, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
                   for name, args in {
                       "report": ["report", "--format", "json"],
                       "export": ["export", "--out", str(tmp_path / "out")],
                       "status": ["status"],
                       "verdict": ["verdict", "K2", "21677641", "--stance", "supports",
                                   "--reviewer", "Concurrent Reviewer"]}.items()}
        done = {name: (proc.communicate(timeout=300), proc.returncode)
                for name, proc in readers.items()}
        assert {name: code for name, (_out, code) in done.items()} == dict.fromkeys(done, 0), done
        report = json.loads(done["report"][0][0])
        assert {c["id"] for c in report["claims"]} == {"K1", "K2"}
        assert (tmp_path / "out" / "links.csv").exists()
        assert " running" in done["status"][0][0]
        audited = audit_in_a_terminal(env, tmp_path)
        assert "Saved verdict" in audited and "= supports" in audited, audited
        assert server.holding == 1 and first.poll() is None  # all while it was parked
    finally:
        server.release()
        first.wait(timeout=300)
    waiting.wait(timeout=300)
    assert (first.returncode, waiting.returncode) == (0, 0)

    with base.connect() as conn:
        runs = conn.execute(select(RefreshRun.id, RefreshRun.status, RefreshRun.started_at,
                                   RefreshRun.finished_at).order_by(RefreshRun.id)).all()
    assert [r.status for r in runs] == ["ok", "ok", "ok"]  # the refused one never started
    _base, parked, waited = runs
    assert parked.finished_at <= waited.started_at  # one after the other, not interleaved
    with base.connect() as conn:
        mine = conn.scalars(select(Verdict.stance).where(
            Verdict.reviewer == "Concurrent Reviewer")).all()
    assert mine == ["supports"]  # saved during the refresh, kept by it
    with base.connect() as conn:
        audited_note = conn.scalar(select(Verdict.note).where(Verdict.reviewer == "PTY Reviewer"))
    assert audited_note == "saved from a terminal"


def test_reports_during_a_refresh_show_it_whole_or_not_at_all(
        base: Engine, server: EutilsServer, setup: tuple[Path, ClaimSet, list, list],
        tmp_path: Path) -> None:
    """Links and their judgements are committed together, and a report reads one snapshot:
    every report shows the link set from before or from after, each link judged."""
    claims_path = setup[0]
    url = base.url.render_as_string(hide_password=False)
    env = chaos.refresh_env(server, url)
    before = canonical_dump(base)["links"]
    server.inject(Fault("slow", times=None))  # every answer dribbles: the run takes a while
    running, _ = start_refresh(env, tmp_path, claims_path, "running")
    seen = []
    try:
        for _ in range(40):  # bounded; usually the refresh ends first
            report = evtrack("report", "--format", "json", env=env, cwd=tmp_path)
            assert report.returncode == 0, report.stderr
            seen.append(json.loads(report.stdout))
            if running.poll() is not None:
                break
    finally:
        running.wait(timeout=300)
        server.clear_faults()
    assert running.returncode == 0
    after = canonical_dump(base)["links"]
    assert after != before
    for shown in seen:
        links = sorted((c["id"], r["pmid"]) for c in shown["claims"] for r in c["links"])
        assert links in (before, after)
        assert all(r["decider"] != "none" for c in shown["claims"] for r in c["links"])


def test_a_report_reads_one_snapshot_while_a_refresh_commits(
        base: Engine, server: EutilsServer, setup: tuple[Path, ClaimSet, list, list]) -> None:
    """Deterministic: a whole refresh commits between the report's first and second query."""
    _path, claims, _first, _revised = setup
    url = base.url.render_as_string(hide_password=False)
    reader, writer = open_store(url), open_store(url)
    before = canonical_dump(base)["links"]
    fired: list[bool] = []

    def refresh_meanwhile(_conn: object, _cursor: object, statement: str, *_args: object
                          ) -> None:
        if not fired and statement.lstrip().upper().startswith("SELECT"):
            fired.append(True)
            refresh(writer, claims, chaos.ncbi_source(server), batch_size=10)

    event.listen(reader, "after_cursor_execute", refresh_meanwhile)
    try:
        report = build_report(reader)
    finally:
        event.remove(reader, "after_cursor_execute", refresh_meanwhile)
    assert fired
    after = canonical_dump(base)["links"]
    assert after != before  # the refresh did commit new links meanwhile …
    shown = sorted((c.id, r.pmid) for c in report.claims for r in c.links)
    assert shown == before  # … which the report, already reading, does not half-show
    assert all(r.decider != "none" for c in report.claims for r in c.links)
    reader.dispose()
    writer.dispose()


def test_two_refreshes_started_together_on_a_new_database(
        db_url: str, server: EutilsServer, setup: tuple[Path, ClaimSet, list, list],
        tmp_path: Path) -> None:
    """Both migrate-or-wait, then run one after the other; the result is one refresh's."""
    claims_path, _claims, first, _revised = setup
    server.set_records(first)
    server.clear_faults()
    env = chaos.refresh_env(server, db_url)
    procs = [start_refresh(env, tmp_path, claims_path, f"p{i}", "--wait", "300")[0]
             for i in range(2)]
    for proc in procs:
        proc.wait(timeout=300)
    assert [p.returncode for p in procs] == [0, 0], [
        (tmp_path / f"p{i}.stderr").read_text() for i in range(2)]
    engine = open_store(db_url)
    with engine.connect() as conn:
        runs = conn.execute(select(RefreshRun.status, RefreshRun.started_at,
                                   RefreshRun.finished_at).order_by(RefreshRun.id)).all()
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[0].finished_at <= runs[1].started_at
    single = open_store(f"sqlite:///{tmp_path / 'single.sqlite'}")
    refresh(single, _claims, chaos.ncbi_source(server), batch_size=10)
    assert dump_difference(canonical_dump(single), canonical_dump(engine)) == (0, 0)
    engine.dispose()
    single.dispose()


def test_the_lock_names_its_holder_and_waits_then_gives_up(db_url: str) -> None:
    engine = open_store(db_url)
    told: list[str] = []
    with refresh_lock(engine):
        with pytest.raises(RefreshLockedError, match=rf"pid {os.getpid()} on "), \
                refresh_lock(engine):
            pass  # pragma: no cover - never entered
        with pytest.raises(RefreshLockedError, match=r"still running .* after waiting 0.3 s"), \
                refresh_lock(engine, wait=0.3, notify=told.append, poll=0.05):
            pass  # pragma: no cover
    assert len(told) == 1 and "waiting up to 0.3 s" in told[0]
    with refresh_lock(engine):  # released on exit
        pass
    engine.dispose()


def test_a_killed_holder_leaves_no_stale_lock(db_url: str, tmp_path: Path) -> None:
    engine = open_store(db_url)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from evtrack.lock import refresh_lock\n"
         "from evtrack.store.db import open_store\n"
         "with refresh_lock(open_store(sys.argv[1])):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(300)\n", db_url],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RefreshLockedError, match=rf"pid {holder.pid} "), \
                refresh_lock(engine):
            pass  # pragma: no cover
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)
        if holder.stdout is not None:
            holder.stdout.close()
    with refresh_lock(engine, wait=30):  # the kernel (or PostgreSQL) released it with the process
        pass
    engine.dispose()


def test_ingest_and_refresh_never_write_at_once(db_url: str) -> None:
    engine = open_store(db_url)
    files = snapshot_files()
    with refresh_lock(engine), \
            pytest.raises(RefreshLockedError, match=r"evtrack refresh\b"):  # a refresh runs
        ingest_files(engine, files)
    with engine.connect() as conn:  # refused before anything was written, the run included
        assert conn.scalar(select(func.count()).select_from(Paper)) == 0
        assert conn.scalar(select(func.count()).select_from(RefreshRun)) == 0
    with refresh_lock(engine, job="ingest"), \
            pytest.raises(RefreshLockedError, match=r"evtrack ingest\b"), \
            refresh_lock(engine):  # an ingest is running: a refresh is told so
        pass  # pragma: no cover
    result = ingest_files(engine, files)  # released: it goes through
    assert result.counts.new > 0 and not result.failures
    engine.dispose()
