"""The command line: every command documented, user mistakes as one `Error:` line."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from evtrack.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(all_commands(cmd, (*prefix, name)))
    return out


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_db: str | None) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return CliRunner()


@pytest.mark.parametrize("command", all_commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(runner: CliRunner,
                                                command: tuple[str, ...]) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    cmd = cli
    for name in command:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    if not isinstance(cmd, click.Group):
        assert "Example" in result.output


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for command in all_commands(cli):
        assert f"evtrack {' '.join(command)}" in readme, command


def test_offline_refresh_report_and_export(runner: CliRunner, tmp_path: Path,
                                           cli_db: str | None) -> None:
    result = runner.invoke(cli, ["refresh"])
    assert result.exit_code == 0, result.output
    assert "Offline (no NCBI email set)" in result.stderr
    assert "Refresh run 1 (offline) done" in result.stdout
    assert (tmp_path / "db" / "evtrack.sqlite").exists() == (cli_db is None)
    report = runner.invoke(cli, ["report", "--summary"])
    assert report.exit_code == 0
    assert [line.split()[0] for line in report.stdout.splitlines() if line[:1] == "C"] == \
        [f"C{i}" for i in range(1, 10)]
    export = runner.invoke(cli, ["export", "--out", "out"])
    assert export.exit_code == 0
    assert (tmp_path / "out" / "claims.csv").exists() and (tmp_path / "out" / "links.csv").exists()
    status = runner.invoke(cli, ["status"])
    assert "run 1 refresh offline" in status.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["report", "--claim", "C99"], 1, "Error: no claim C99 in the store"),
        (["claims", "show", "C99"], 1, "Error: no claim 'C99'"),
        (["--db", "nosuchdialect://x", "status"], 1, "Error: cannot use database URL"),
        (["verdict", "C1", "123", "--stance", "supports"], 1, "Error: no link between claim C1"),
        (["verdict", "C1", "123", "--stance", "loves"], 2, "Invalid value for '--stance'"),
        (["ingest", "does-not-exist.xml"], 2, "does not exist"),
        (["refresh", "--source-dir", "."], 0, "Offline"),
    ],
)
def test_user_mistakes_are_one_error_line(runner: CliRunner, args: list[str], code: int,
                                          message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_bad_claims_file_names_file_claim_and_key(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[claim]]\nid = "B1"\ntext = "x"\nsubject = "a"\nrelation = "teleports"\n'
                   'object = "b"\n', encoding="utf-8")
    result = runner.invoke(cli, ["--claims", str(bad), "claims", "list"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: claim B1: relation:")


def test_ingest_rejects_an_html_error_page(runner: CliRunner, entrez_fixtures: Path) -> None:
    result = runner.invoke(cli, ["ingest", str(entrez_fixtures / "pubmed3.html")])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error:") and "HTML" in last
