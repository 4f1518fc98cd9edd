"""What the benchmark scripts share: the machine line, medians, tables, workers in subprocesses,
the store ``EVTRACK_DB`` names.

Figures are measured in one run against a baseline in the same run (the machine may be busy:
the load average is printed with the figures so that a reader can judge them). Each measured
variant runs in its own Python process, so that its peak memory is its own.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "load": [round(x, 1) for x in os.getloadavg()],
    }


def machine_line() -> str:
    m = machine()
    return (f"Python {m['python']}, SQLite {m['sqlite']}, {m['cpus']} CPUs, {m['platform']}, "
            f"load average {' '.join(map(str, m['load']))}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


class TreeMonitor:
    """Peak memory and CPU time of this process and every process it starts (the ingest's
    parse workers), sampled from /proc a few times a second. A process's peak (VmHWM) is kept
    by the kernel, so sampling misses none of it; its CPU time is read as it last was seen."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.peaks: dict[int, float] = {}  # pid -> VmHWM in MB
        self.cpu: dict[int, float] = {}  # pid -> user + system seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak_rss_mb(self) -> float:
        """The sum of every process's own peak: an upper bound of what they held at once."""
        return sum(self.peaks.values())

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        me = os.getpid()
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(fields[1])
        tree, grew = {me}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in tree:
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/status", encoding="ascii") as f:
                    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
            except (OSError, StopIteration):
                continue
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
            self.peaks[pid] = max(self.peaks.get(pid, 0.0), hwm / 1024)


def run_worker(script: Path, args: Sequence[str]) -> dict[str, Any]:
    """Run ``script --worker …`` in a fresh interpreter; its last stdout line is its JSON."""
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                         cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def env_store(what: str, rows: dict[Any, int], fill: Callable[[Any], object]) -> str | None:
    """The URL in ``EVTRACK_DB``, if set, of a database holding ``rows`` (model → count):
    written by ``fill(engine)`` when empty (``what`` says what is written), refused when it
    holds anything else. None when ``EVTRACK_DB`` is not set."""
    url = os.environ.get("EVTRACK_DB")
    if not url:
        return None
    from sqlalchemy import func, select

    from evtrack.store.db import display_url, open_store

    engine = open_store(url)
    with engine.connect() as conn:
        found = {model: conn.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in rows}
    if not any(found.values()):
        print(f"writing {what} into {display_url(url)} …", file=sys.stderr)
        fill(engine)
    elif found != rows:
        def named(counts: dict[Any, int]) -> dict[str, int]:
            return {model.__tablename__: n for model, n in counts.items()}
        raise SystemExit(f"{display_url(url)} holds {named(found)}, not {named(rows)}: point "
                         "EVTRACK_DB at an empty database")
    engine.dispose()
    return url


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths),
                      *(line(r) for r in rows)])


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
