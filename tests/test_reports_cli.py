"""The reporting commands end to end: HTML page, as-of reports, the refresh diff, RIS/BibTeX."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
import pandas as pd
import pytest
import rispy
from click.testing import CliRunner

from evtrack.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_db: str | None) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["refresh"]).exit_code == 0
    return runner


def summary_rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()
            if line[:1] == "C" and line[1:2].isdigit()}


def test_the_quick_start_writes_the_html_report(runner: CliRunner, tmp_path: Path) -> None:
    assert not (tmp_path / "reports").exists()  # the directory is made as needed
    result = runner.invoke(cli, ["report", "--format", "html", "--output",
                                 "reports/ketamine.html"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "reports" / "ketamine.html").read_text(encoding="utf-8")
    assert 'class="chain"' in page and page.count('<article class="card"') == 9
    assert "What changed" in page and "as of 2014-10-04" in page


def test_as_of_counts_only_what_was_published_by_then(runner: CliRunner) -> None:
    now = runner.invoke(cli, ["report", "--summary"])
    then = runner.invoke(cli, ["report", "--summary", "--as-of", "2014-10-04"])
    assert then.exit_code == 0
    assert "as of 2014-10-04: only papers published by then count" in then.stdout
    papers = {cid: sum(map(int, row[4:8])) for cid, row in summary_rows(now.stdout).items()}
    earlier = {cid: sum(map(int, row[4:8])) for cid, row in summary_rows(then.stdout).items()}
    assert set(papers) == set(earlier) == {f"C{i}" for i in range(1, 10)}
    assert all(earlier[c] <= papers[c] for c in papers) and earlier != papers
    early = runner.invoke(cli, ["report", "--format", "csv", "--as-of", "1990-01-01"])
    frame = pd.read_csv(pd.io.common.StringIO(early.stdout))
    assert frame["n_papers"].sum() == 1  # Anis 1983 alone


def test_the_table_report_shows_citation_integrity(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["report"])
    assert "(citation integrity) — 8 cited references: 8 supports:" in result.stdout
    assert "C2 ← Seamans J. Nat Chem Biol 2008;4:91" in result.stdout
    assert "[found-local]  → SUPPORTS: it supports the claim; decided by curator" in \
        result.stdout


def test_diff_after_a_verdict(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["refresh"]).exit_code == 0
    quiet = runner.invoke(cli, ["diff"])
    assert quiet.exit_code == 0 and "Nothing changed." in quiet.stdout
    runner.invoke(cli, ["verdict", "C6", "21677641", "--stance", "contradicts",
                        "--reviewer", "A. Reviewer"])
    result = runner.invoke(cli, ["diff"])
    assert result.exit_code == 0
    assert "What changed since run 1" in result.stdout
    assert "~ PMID 21677641: supports → contradicts" in result.stdout
    csv = runner.invoke(cli, ["diff", "--format", "csv", "--claim", "C6"])
    frame = pd.read_csv(pd.io.common.StringIO(csv.stdout), dtype={"pmid": str})
    assert list(frame["kind"]) == ["score", "certainty", "stance", "verdict"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["diff", "--since", "yesterday"], 2, "is neither a run number nor a date"),
        (["diff", "--since", "99"], 1, "Error: no run 99 in the store"),
        (["report", "--as-of", "2014-13-01"], 2, "Invalid value for '--as-of'"),
        (["report", "--format", "ris", "--claim", "C99"], 1, "Error: no claim C99"),
    ],
)
def test_mistakes(runner: CliRunner, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_reference_manager_exports(runner: CliRunner) -> None:
    ris = runner.invoke(cli, ["report", "--format", "ris", "--claim", "C6"])
    entries = rispy.loads(ris.stdout)
    assert len(entries) == 5
    assert all(any(n.startswith("evtrack C6: ") and "design tier" in n for n in e["notes"])
               for e in entries)
    bib = runner.invoke(cli, ["report", "--format", "bibtex", "--claim", "C6"])
    library = bibtexparser.parse_string(bib.stdout)
    assert library.failed_blocks == [] and len(library.entries) == 5


def test_export_writes_every_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["export", "--out", "out"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    for name in ("claims.csv", "links.csv", "verdicts.csv", "citations.csv", "changes.csv",
                 "evidence.ris", "evidence.bib"):
        assert (out / name).exists(), name
    citations = pd.read_csv(out / "citations.csv", dtype={"pmid": str})
    assert len(citations) == 8
    assert set(citations["supports_claim"]) <= {"supports", "only partly", "does not",
                                               "not judged"}
    claims = pd.read_csv(out / "claims.csv")
    assert claims.loc[claims["claim_id"] == "C2", "citation_integrity"].item() == \
        "seamans2008: supports"
    assert len(rispy.loads((out / "evidence.ris").read_text(encoding="utf-8"))) == \
        len(pd.read_csv(out / "links.csv", dtype={"pmid": str})["pmid"].unique())
