"""bench/report.py end to end at a tiny size: it runs, its figures agree with the naive
baseline's, and its last line is the JSON it promises. No timings are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import make_url

REPO = Path(__file__).resolve().parents[1]


def test_the_report_benchmark_runs_at_a_tiny_size(tmp_path: Path, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVTRACK_DB"}
    if make_url(db_url).get_backend_name() == "postgresql":
        env["EVTRACK_DB"] = db_url  # the benchmark's own way to a server: a fresh database
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "report.py"), "--claims", "4", "--papers", "80",
         "--links", "300", "--runs", "1", "--workdir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert {"bench", "machine", "backend", "runs", "seed", "sizes", "results", "ratios",
            "figures_agree", "targets_met"} <= set(result)
    assert result["bench"] == "report" and result["figures_agree"] is True
    assert result["sizes"] == {"claims": 4, "papers": 80, "links": 300}
    ours = {"report_cold", "report_write", "report", "claims_csv", "links_cold", "links_csv",
            "links_write", "snapshot"}
    assert set(result["results"]) == ours | {"baseline", "snapshot_full"}
    for figures in result["results"].values():
        assert {"seconds", "peak_rss_mb"} <= set(figures)
    for kind in ("links_cold", "links_csv", "links_write"):
        assert result["results"][kind]["rows"] == 300
    assert result["results"]["claims_csv"]["rows"] == 4
    assert result["results"]["report_cold"]["built"] == [4]  # every claim
    assert result["results"]["links_cold"]["built"] == [4]
    assert result["results"]["report_write"]["built"] == [1]  # the one written to
    assert result["results"]["links_write"]["built"] == [1]
    assert result["results"]["snapshot"]["built"] == [1]  # the summary: that claim built again
    assert set(result["ratios"]) == ours
    assert "report, ledger unchanged: the kept table" in out.stdout  # the table, then JSON
    if "EVTRACK_DB" not in env:
        assert list(tmp_path.glob("report-c4-p80-l300-s0-v*.sqlite"))  # kept for --workdir
