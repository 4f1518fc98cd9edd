"""The wheel works outside the checkout: claims, migrations and snapshot found as package data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_runs_from_another_directory(tmp_path: Path, cli_db: str | None) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(dist), str(REPO)], check=True, capture_output=True)
    wheel = next(dist.glob("evtrack-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "evtrack/_bundled/queries/ketamine.toml" in names
    assert any(n.startswith("evtrack/_bundled/migrations/versions/") for n in names)
    assert any(n.startswith("evtrack/snapshot/") and n.endswith(".xml") for n in names)

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NCBI_", "EVTRACK_"))}
    if cli_db is not None:  # testing on PostgreSQL: the wheel's migrations must run there too
        env["EVTRACK_DB"] = cli_db
    # The installed wheel must shadow the checkout: prove it by printing where evtrack is.
    env["PYTHONPATH"] = str(target)

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, "-c",
                              "import sys, evtrack, evtrack.cli; "
                              "print(evtrack.__file__, file=sys.stderr); evtrack.cli.main()",
                              *args], cwd=work, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert str(target) in out.stderr.splitlines()[0]
        return out.stdout

    assert "Refresh run 1 (offline) done" in run("refresh")
    report = run("report", "--summary")
    assert all(f"C{i} " in report for i in range(1, 10))
    assert (work / "db" / "evtrack.sqlite").exists() == (cli_db is None)
