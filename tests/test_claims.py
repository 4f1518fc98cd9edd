"""Claims files: the shipped ketamine claim set, and what the loader accepts and refuses.

The curated bibliography is read from ``../shared`` beside the repository (never copied in).
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evtrack.claims import (
    CONTEXT_KEYS,
    DESIGNS,
    PMID_STATUSES,
    RELATIONS,
    STANCES,
    CitedReference,
    Claim,
    ClaimQuery,
    CuratedEvidence,
    load_claims,
)
from evtrack.errors import ClaimsFileError
from evtrack.querylang import matches, parse_query
from evtrack.records import PaperRecord

REPO_ROOT = Path(__file__).resolve().parents[1]
KETAMINE = REPO_ROOT / "queries" / "ketamine.toml"
BIBLIOGRAPHY = REPO_ROOT.parent / "shared" / "evidence" / "ketamine-bibliography.json"


@pytest.fixture(scope="module")
def ketamine():
    return load_claims([KETAMINE])


@pytest.fixture(scope="module")
def bibliography() -> list[dict[str, Any]]:
    if not BIBLIOGRAPHY.is_file():
        pytest.fail(f"curated bibliography not found at {BIBLIOGRAPHY}: "
                    "../shared must sit beside the repo")
    return json.loads(BIBLIOGRAPHY.read_text(encoding="utf-8"))


# --- the shipped ketamine claim set ----------------------------------------------------------

def test_ketamine_set_describes_the_seed_article(ketamine):
    (info,) = ketamine.sets
    assert info.id == "ketamine-forster-2014"
    assert info.article == "Ketamine for Depression – Mechanism of Action"
    assert info.author == "Peter Forster"
    assert info.article_date == date(2014, 10, 4)
    assert info.url == "https://www.gatewaypsychiatric.com/ketamine-depression-mechanism-action/"
    assert ketamine.files == (str(KETAMINE),)
    assert {c.set_id for c in ketamine.claims} == {"ketamine-forster-2014"}


def test_ketamine_has_nine_claims_in_order(ketamine):
    assert ketamine.ids == ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
    assert all(c.source_file == str(KETAMINE) for c in ketamine.claims)


@pytest.mark.parametrize(("claim_id", "subject", "relation", "obj"), [
    ("C1", "ketamine", "blocks", "NMDA receptor"),
    ("C2", "ketamine", "blocks", "NMDA receptor"),
    ("C3", "ketamine", "increases", "glutamate release"),
    ("C4", "glutamate release", "does_not_explain", "antidepressant effect"),
    ("C5", "ketamine", "increases", "BDNF"),
    ("C6", "BDNF", "is_required_for", "antidepressant effect"),
    ("C7", "NMDA receptor blockade", "decreases", "eEF2 kinase"),
    ("C8", "eEF2 kinase inhibitors", "is_sufficient_for", "antidepressant effect"),
    ("C9", "ketamine", "decreases", "depressive symptoms"),
])
def test_ketamine_claim_structure(ketamine, claim_id, subject, relation, obj):
    c = ketamine.get(claim_id)
    assert (c.subject, c.relation, c.object) == (subject, relation, obj)
    # Every entity a claim names has synonyms to search and judge with.
    assert len(c.terms_for(subject)) > 1 and len(c.terms_for(obj)) > 1


def test_c2_is_about_interneurons_and_c9_about_patients(ketamine):
    assert "GABAergic interneurons" in ketamine.get("C2").context["cell_type"]
    assert ketamine.get("C9").context["species"] == "human"
    assert ketamine.get("C7").context["condition"].startswith("at rest")


def test_ketamine_aliases(ketamine):
    c7 = ketamine.get("C7")
    assert {"eEF2K", "EEF2K", "CaMKIII"} <= set(c7.terms_for("eEF2 kinase"))
    assert {"EEF2", "elongation factor 2", "eukaryotic elongation factor 2"} <= set(
        c7.terms_for("eEF2"))
    assert {"NMDAR", "N-methyl-D-aspartate receptor", "GRIN2B", "GluN2B"} <= set(
        ketamine.get("C1").terms_for("NMDA receptor"))
    assert "brain-derived neurotrophic factor" in ketamine.get("C5").aliases["BDNF"]
    assert {"parvalbumin interneurons", "somatostatin interneurons"} <= set(
        ketamine.get("C2").aliases["GABAergic interneurons"])


def test_ketamine_chain(ketamine):
    leads_to = {c.id: c.leads_to for c in ketamine.claims if c.leads_to}
    questions = {c.id: c.questions for c in ketamine.claims if c.questions}
    assert leads_to == {"C1": ("C2", "C7"), "C2": ("C3",), "C7": ("C5", "C8"),
                        "C5": ("C6",), "C6": ("C9",)}
    assert questions == {"C4": ("C3",)}


def test_c2_cites_seamans_2008_unverified(ketamine):
    (ref,) = ketamine.get("C2").cited
    assert ref == CitedReference(
        key="seamans2008", journal="Nat Chem Biol", year=2008, volume="4", first_page="91",
        author="Seamans J", pmid="18202677", pmid_status="unverified",
        doi="10.1038/nchembio0208-91", doi_status="unverified", note=ref.note)


def test_c6_cites_autry_2011_verified(ketamine):
    (ref,) = ketamine.get("C6").cited
    assert (ref.key, ref.journal, ref.year, ref.volume, ref.first_page, ref.author) == (
        "autry2011", "Nature", 2011, "475", "91", "Autry AE")
    assert (ref.pmid, ref.pmid_status) == ("21677641", "verified")
    assert (ref.doi, ref.doi_status) == ("10.1038/nature10130", "verified")


def test_cited_references_per_claim(ketamine):
    cited = {c.id: tuple(r.key for r in c.cited) for c in ketamine.claims if c.cited}
    assert cited == {"C2": ("seamans2008",), "C3": ("seamans2008",), "C5": ("autry2011",),
                     "C6": ("autry2011",), "C7": ("autry2011", "monteggia2013"),
                     "C8": ("autry2011", "monteggia2013")}
    monteggia = ketamine.get("C7").cited[1]
    assert (monteggia.journal, monteggia.year, monteggia.volume, monteggia.first_page,
            monteggia.author, monteggia.pmid_status) == (
        "Biol Psychiatry", 2013, "73", "1199", "Monteggia LM", "unverified")


def test_every_shipped_query_runs_offline(ketamine):
    """Shipped queries use only syntax the offline evaluator implements (no Unsupported…)."""
    terms = [q.term for c in ketamine.claims for q in c.queries]
    assert len(terms) == 37
    for term in terms:
        parse_query(term)


#: Curated papers whose *title* holds none of their claim's query words: found online through
#: abstracts and MeSH, or (Autry 2011) as a cited reference. Anything else is a query regression.
TITLE_MISSES = {
    ("C3", "27144355"), ("C3", None), ("C3", "29446381"), ("C3", "25539510"),
    ("C5", "24912158"), ("C5", "21677641"), ("C6", "21677641"), ("C8", "21677641"),
    ("C9", "30153752"),
}


def test_queries_find_curated_papers_by_title_alone(ketamine, bibliography):
    """Offline, the snapshot may know only titles: the queries must still find the papers."""
    missed = set()
    for paper in bibliography:
        record = PaperRecord(pmid=paper["pmid"] or "1", title=paper["title"])
        for claim_id in paper["claims"]:
            if not any(matches(q.term, record) for q in ketamine.get(claim_id).queries):
                missed.add((claim_id, paper["pmid"]))
    assert missed <= TITLE_MISSES


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_curated_notes_are_our_own_words(ketamine, bibliography):
    reason_runs = set().union(*(_runs(_words(stance["reason"]), 8)
                                for paper in bibliography for stance in paper["claims"].values()))
    for c in ketamine.claims:
        for e in c.curated:
            assert not _runs(_words(e.note), 8) & reason_runs, (c.id, e.label)
            assert len(e.note.split()) <= 25, (c.id, e.label)


def _paper_key(pmid: str | None, doi: str | None, label: str) -> str:
    """The same paper in the bibliography and in the claims file (Devkota 2012 has no ids)."""
    return pmid or (doi or "").lower() or label.split()[0]


def test_curated_stances_match_the_bibliography(ketamine, bibliography):
    expected = {(claim_id, _paper_key(p["pmid"], p["doi"], p["first_author"]),
                 stance["stance"].lower())
                for p in bibliography for claim_id, stance in p["claims"].items()}
    ours = {(c.id, _paper_key(e.pmid, e.doi, e.label or ""), e.stance)
            for c in ketamine.claims for e in c.curated}
    assert len(expected) == 86
    assert ours == expected


def test_curated_counts_per_claim(ketamine):
    counts = {c.id: len(c.curated) for c in ketamine.claims}
    assert counts == {"C1": 22, "C2": 12, "C3": 13, "C4": 6, "C5": 6, "C6": 5, "C7": 8,
                      "C8": 5, "C9": 9}


def _status(confidence: str) -> str | None:
    return {"verified": "verified", "verified*": "verified", "recalled": "unverified"}.get(
        confidence)


def test_curated_identifiers_carry_the_bibliography_confidence(ketamine, bibliography):
    """verified / verified* → "verified", recalled → "unverified", not found → left out."""
    expected = set()
    for p in bibliography:
        pmid_status, doi_status = (_status(p["confidence"][k]) for k in ("pmid", "doi"))
        expected.add((_paper_key(p["pmid"], p["doi"], p["first_author"]),
                      p["pmid"] if pmid_status else None, pmid_status or "unverified",
                      p["doi"] if doi_status else None, doi_status or "unverified"))
    # One tuple per paper: a paper curated for several claims carries the same identifiers.
    ours = {(_paper_key(e.pmid, e.doi, e.label or ""), e.pmid, e.pmid_status, e.doi,
             e.doi_status) for c in ketamine.claims for e in c.curated}
    assert ours == expected


def test_curated_designs(ketamine):
    designs = {e.label: e.design for c in ketamine.claims for e in c.curated}
    assert designs["Autry 2011"] == "animal-in-vivo"
    assert designs["Kishimoto 2016"] == "meta-analysis"
    assert designs["Berman 2000"] == "rct"
    assert designs["Seamans 2008"] == "review"
    assert designs["Chen 2011"] == "in-vitro"
    assert designs["Laje 2012"] == "human-observational"
    assert set(designs.values()) <= set(DESIGNS)


def test_loaded_values_are_immutable(ketamine):
    c = ketamine.get("C1")
    assert isinstance(c.queries, tuple) and isinstance(c.curated, tuple)
    assert all(isinstance(v, tuple) for v in c.aliases.values())
    with pytest.raises(AttributeError):
        c.text = "changed"  # type: ignore[misc]


# --- what the loader refuses -----------------------------------------------------------------

SET = '[set]\nid = "s"\ntitle = "A set"\n'


def claim(claim_id: str = "A", body: str = "") -> str:
    """A minimal valid ``[[claim]]``, then ``body`` (more keys and sub-tables)."""
    return (f'\n[[claim]]\nid = "{claim_id}"\ntext = "t"\nsubject = "s"\nrelation = "blocks"\n'
            f'object = "o"\n{body}')


CITED = '[[claim.cited]]\nkey = "k"\njournal = "Nature"\nyear = 2011\n'
CURATED = '[[claim.curated]]\nstance = "supports"\nnote = "n"\n'

BAD_FILES = [
    ("not utf-8", (SET + claim()).encode() + b'note = "\xff"\n',
     "{f}: not UTF-8 text: byte 0xff at line 11, column 9"),
    ("unknown top-level key", SET.replace("[set]", "[sets]") + claim(),
     "{f}: sets: unknown key (did you mean 'set'?)"),
    ("unknown set key", SET + 'date = 2014-10-04\n' + claim(),
     "{f}: set.date: unknown key (allowed: id, title, article, author, publisher, "
     "article_date, url)"),
    ("unknown claim key", SET + claim(body='relaton = "blocks"\n'),
     "{f}: claim A: relaton: unknown key (did you mean 'relation'?)"),
    ("unknown query key", SET + claim(body='[[claim.query]]\nname = "q"\nterms = "x"\n'),
     "{f}: claim A: query[0].terms: unknown key (did you mean 'term'?)"),
    ("unknown context key", SET + claim(body='[claim.context]\nspecie = "mouse"\n'),
     "{f}: claim A: context.specie: unknown key (did you mean 'species'?)"),
    ("no claims", SET, "{f}: no [[claim]] entries"),
    ("missing claim id", SET + claim().replace('id = "A"\n', ""),
     "{f}: claim[0].id: missing required key"),
    ("missing required key", SET + claim().replace('text = "t"\n', ""),
     "{f}: claim A: text: missing required key"),
    ("missing set title", SET.replace('title = "A set"\n', "") + claim(),
     "{f}: set.title: missing required key"),
    ("missing cited year", SET + claim(body=CITED.replace("year = 2011\n", "")),
     "{f}: claim A: cited[0].year: missing required key"),
    ("claim is a table", SET + '[claim]\nid = "A"\n',
     "{f}: claim: expected an array of tables, got table"),
    ("year is a string", SET + claim(body=CITED.replace("2011", '"2011"')),
     "{f}: claim A: cited[0].year: expected an integer, got string"),
    ("year is not four digits", SET + claim(body=CITED.replace("2011", "211")),
     "{f}: claim A: cited[0].year: 211 is not a four-digit year"),
    ("volume is a number", SET + claim(body=CITED + "volume = 475\n"),
     '{f}: claim A: cited[0].volume: expected a string, got integer (quote it: "475")'),
    ("leads_to is a string", SET + claim(body='leads_to = "B"\n'),
     "{f}: claim A: leads_to: expected an array of strings, got string"),
    ("context value is a list", SET + claim(body='[claim.context]\nspecies = ["mouse"]\n'),
     "{f}: claim A: context.species: expected a string, got array"),
    ("article_date is a string", SET + 'article_date = "2014-10-04"\n' + claim(),
     "{f}: set.article_date: expected a TOML date such as 2014-10-04 (unquoted), got string"),
    ("url without scheme", SET + 'url = "www.example.org"\n' + claim(),
     "{f}: set.url: 'www.example.org' is not an http(s) URL"),
    ("empty string", SET + claim().replace('text = "t"', 'text = "  "'),
     "{f}: claim A: text: must not be empty"),
    ("empty alias", SET + claim(body='[claim.aliases]\nBDNF = ["brain-derived", ""]\n'),
     "{f}: claim A: aliases.BDNF[1]: must not be empty"),
    ("alias without synonyms", SET + claim(body='[claim.aliases]\n"NMDA receptor" = []\n'),
     '{f}: claim A: aliases."NMDA receptor": must list at least one synonym'),
    ("duplicate alias", SET + claim(body='[claim.aliases]\nBDNF = ["x", "x"]\n'),
     "{f}: claim A: aliases.BDNF[1]: duplicate entry 'x'"),
    ("bad claim id", SET + claim("C 1"),
     "{f}: claim[0].id: 'C 1' is not a claim id (a letter, then up to 63 letters, digits, "
     "'_', '-' or '.')"),
    ("relation not allowed", SET + claim().replace('"blocks"', '"blocked"'),
     "{f}: claim A: relation: 'blocked' is not allowed (did you mean 'blocks'?)"),
    ("stance in capitals", SET + claim(body=CURATED.replace('"supports"', '"SUPPORTS"')
                                       + 'label = "X 2000"\n'),
     "{f}: claim A: curated[0].stance: 'SUPPORTS' must be lowercase: 'supports'"),
    ("stance not allowed", SET + claim(body=CURATED.replace('"supports"', '"agrees"')
                                       + 'label = "X 2000"\n'),
     "{f}: claim A: curated[0].stance: 'agrees' is not allowed (one of: supports, contradicts, "
     "mixed, mentions, unclear)"),
    ("design not allowed", SET + claim(body=CURATED + 'label = "X"\ndesign = "cohort study"\n'),
     "{f}: claim A: curated[0].design: 'cohort study' is not allowed (one of: meta-analysis, "
     "rct, clinical-trial, human-observational, animal-in-vivo, in-vitro, review, other)"),
    ("pmid_status not allowed", SET + claim(body=CITED + 'pmid = "1"\npmid_status = "checked"\n'),
     "{f}: claim A: cited[0].pmid_status: 'checked' is not allowed (one of: verified, "
     "unverified)"),
    ("pmid_status without pmid", SET + claim(body=CURATED + 'doi = "10.1/x"\n'
                                             'pmid_status = "verified"\n'),
     "{f}: claim A: curated[0].pmid_status: given without pmid"),
    ("pmid with leading zero", SET + claim(body=CITED + 'pmid = "0123"\n'),
     "{f}: claim A: cited[0].pmid: '0123' is not a PMID (1 to 8 digits, no leading zero)"),
    ("pmid too long", SET + claim(body=CITED + 'pmid = "123456789"\n'),
     "{f}: claim A: cited[0].pmid: '123456789' is not a PMID (1 to 8 digits, no leading zero)"),
    ("pmid with prefix", SET + claim(body=CURATED + 'pmid = "PMID:21677641"\n'),
     "{f}: claim A: curated[0].pmid: 'PMID:21677641' is not a PMID (1 to 8 digits, no leading "
     "zero)"),
    ("pmid as a number", SET + claim(body=CURATED + "pmid = 21677641\n"),
     '{f}: claim A: curated[0].pmid: expected a string, got integer (quote it: "21677641")'),
    ("doi without slash", SET + claim(body=CITED + 'doi = "10.1038"\n'),
     "{f}: claim A: cited[0].doi: '10.1038' is not a DOI (it starts with '10.' and contains "
     "'/')"),
    ("doi as a URL", SET + claim(body=CURATED + 'doi = "https://doi.org/10.1038/nature10130"\n'),
     "{f}: claim A: curated[0].doi: 'https://doi.org/10.1038/nature10130' is not a DOI (it "
     "starts with '10.' and contains '/', without a https://doi.org/ or doi: prefix)"),
    ("curated paper without any name", SET + claim(body=CURATED),
     "{f}: claim A: curated[0]: needs a pmid, a doi or a label to name the paper"),
    ("duplicate claim id", SET + claim("A") + claim("A"),
     "{f}: claim A: id: duplicate claim id (first used earlier in this file)"),
    ("duplicate query name", SET + claim(body='[[claim.query]]\nname = "q"\nterm = "a[tiab]"\n'
                                         '[[claim.query]]\nname = "q"\nterm = "b[tiab]"\n'),
     "{f}: claim A: query[1].name: duplicate query name 'q' (also query[0])"),
    ("duplicate cited key", SET + claim(body=CITED + CITED),
     "{f}: claim A: cited[1].key: duplicate cited key 'k' (also cited[0])"),
    ("same curated paper twice", SET + claim(body=CURATED + 'pmid = "7"\n' + CURATED
                                             + 'pmid = "7"\n'),
     "{f}: claim A: curated[1].pmid: same paper as curated[0] (pmid 7)"),
    ("edge to unknown claim", SET + claim(body='leads_to = ["Z"]\n'),
     "{f}: claim A: leads_to[0]: unknown claim 'Z'"),
    ("question to unknown claim", SET + claim(body='questions = ["Z"]\n'),
     "{f}: claim A: questions[0]: unknown claim 'Z'"),
    ("claim questions itself", SET + claim(body='questions = ["A"]\n'),
     "{f}: claim A: questions[0]: a claim cannot question itself"),
    ("leads to and questions one claim", SET + claim(body='leads_to = ["B"]\nquestions = ["B"]\n')
     + claim("B"), "{f}: claim A: questions[0]: 'B' is also in leads_to"),
    ("cycle", SET + claim("A", 'leads_to = ["B"]\n') + claim("B", 'leads_to = ["C"]\n')
     + claim("C", 'leads_to = ["A"]\n'),
     "{f}: claim A: leads_to: leads_to edges form a cycle: A -> B -> C -> A"),
    ("cycle named from its earliest claim", SET + claim("A", 'leads_to = ["C"]\n')
     + claim("B", 'leads_to = ["C"]\n') + claim("C", 'leads_to = ["D"]\n')
     + claim("D", 'leads_to = ["B"]\n'),
     "{f}: claim B: leads_to: leads_to edges form a cycle: B -> C -> D -> B"),
    ("claim leads to itself", SET + claim(body='leads_to = ["A"]\n'),
     "{f}: claim A: leads_to: leads_to edges form a cycle: A -> A"),
    ("malformed query", SET + claim(body='[[claim.query]]\nname = "q"\n'
                                    'term = "ketamine AND (NMDA"\n'),
     "{f}: claim A: query[0].term: invalid query: unbalanced parentheses: '(' is never closed "
     'at position 13 in "ketamine AND (NMDA"'),
    ("dangling operator", SET + claim(body='[[claim.query]]\nname = "q"\nterm = "ketamine AND"\n'),
     "{f}: claim A: query[0].term: invalid query: operator AND has no term after it at "
     'position 9 in "ketamine AND"'),
]


@pytest.mark.parametrize(("content", "message"), [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_file_is_refused_with_file_claim_and_key(tmp_path, content, message):
    path = tmp_path / "claims.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ClaimsFileError) as err:
        load_claims([path])
    assert str(err.value) == message.format(f=path)


@pytest.mark.parametrize(("content", "where"), [
    (SET + "[[claim]\n", "line 4, column 8"),
    (SET + claim(body='relation = "blocks"\n'), "line 11, column 20"),
    (SET + claim(body="leads_to = [\n"), "end of document"),
])
def test_toml_syntax_error_names_line_and_column(tmp_path, content, where):
    """tomllib's own wording varies between Python versions; the position is ours to keep."""
    path = tmp_path / "claims.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ClaimsFileError) as err:
        load_claims([path])
    assert re.fullmatch(rf"{re.escape(str(path))}: invalid TOML at {where}: \S.*", str(err.value))


def test_error_carries_its_parts(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SET + claim(body=CITED.replace("2011", '"2011"')), encoding="utf-8")
    with pytest.raises(ClaimsFileError) as err:
        load_claims([path])
    assert (err.value.path, err.value.claim, err.value.key) == (str(path), "A", "cited[0].year")


def test_query_only_pubmed_can_run_is_accepted(tmp_path):
    """Proximity search is valid PubMed; the offline source refuses it when run, not on load."""
    path = tmp_path / "claims.toml"
    path.write_text(SET + claim(body='[[claim.query]]\nname = "near"\n'
                                     "term = '\"ketamine bdnf\"[tiab:~3]'\n"), encoding="utf-8")
    assert load_claims([path]).get("A").queries == (
        ClaimQuery("near", '"ketamine bdnf"[tiab:~3]'),)


def test_long_values_may_wrap_over_lines(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SET + claim(body="[[claim.query]]\nname = \"q\"\n"
                                     "term = '''\n    ketamine[tiab] AND\n    bdnf[tiab]\n'''\n"),
                    encoding="utf-8")
    assert load_claims([path]).get("A").queries[0].term == "ketamine[tiab] AND bdnf[tiab]"


# --- several files ---------------------------------------------------------------------------

def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_directory_is_read_in_name_order_and_edges_cross_files(tmp_path):
    _write(tmp_path, "b.toml", SET.replace('"s"', '"second"') + claim("B"))
    _write(tmp_path, "a.toml", SET.replace('"s"', '"first"') + claim("A", 'leads_to = ["B"]\n'))
    _write(tmp_path, "notes.txt", "not a claims file")
    claim_set = load_claims([tmp_path])
    assert claim_set.ids == ("A", "B")
    assert claim_set.files == (str(tmp_path / "a.toml"), str(tmp_path / "b.toml"))
    assert [s.id for s in claim_set.sets] == ["first", "second"]
    assert claim_set.get("B").set_id == "second"


def test_a_file_named_twice_is_read_once(tmp_path):
    path = _write(tmp_path, "a.toml", SET + claim("A"))
    assert load_claims([tmp_path, path, str(path)]).ids == ("A",)


def test_a_lone_path_is_not_taken_for_a_sequence(tmp_path):
    path = _write(tmp_path, "a.toml", SET + claim("A"))
    assert load_claims(str(path)).ids == load_claims(path).ids == ("A",)


def test_duplicate_claim_id_across_files(tmp_path):
    first = _write(tmp_path, "a.toml", SET.replace('"s"', '"one"') + claim("A"))
    second = _write(tmp_path, "b.toml", SET.replace('"s"', '"two"') + claim("A"))
    with pytest.raises(ClaimsFileError) as err:
        load_claims([tmp_path])
    assert str(err.value) == f"{second}: claim A: id: duplicate claim id (first used in {first})"


def test_duplicate_set_id_across_files(tmp_path):
    first = _write(tmp_path, "a.toml", SET + claim("A"))
    second = _write(tmp_path, "b.toml", SET + claim("B"))
    with pytest.raises(ClaimsFileError) as err:
        load_claims([tmp_path])
    assert str(err.value) == (f"{second}: set.id: duplicate set id 's' (first used in {first}; "
                              "without a [set] table the set id is the file name)")


def test_a_file_without_set_table_is_named_after_the_file(tmp_path):
    claim_set = load_claims([_write(tmp_path, "my-claims.toml", claim("A"))])
    assert [(s.id, s.title) for s in claim_set.sets] == [("my-claims", "my-claims")]
    assert claim_set.get("A").set_id == "my-claims"


def test_missing_path_and_empty_directory(tmp_path):
    with pytest.raises(ClaimsFileError, match=r"nope\.toml: no such file or directory$"):
        load_claims([tmp_path / "nope.toml"])
    with pytest.raises(ClaimsFileError, match=r": no \*\.toml claim files in this directory$"):
        load_claims([tmp_path])


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "a.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (SET + claim("A")).encode())
    assert load_claims([path]).ids == ("A",)


# --- round trip: any valid claim set written as TOML loads into the same dataclasses ---------

def _normal(text: str) -> str:
    return " ".join(text.split())


# Control characters are refused in claims files (PostgreSQL cannot store NUL; none belongs
# in a claim), so valid prose has none.
_prose = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1,
                 max_size=20).map(_normal).filter(bool)
_pmids = st.from_regex(r"[1-9][0-9]{0,7}", fullmatch=True)
_dois = st.from_regex(r"10\.[0-9]{4,5}/[A-Za-z0-9.()-]{1,12}", fullmatch=True)
_terms = st.from_regex(r"[a-z]{4,12}\*?", fullmatch=True).map(lambda w: f"{w}[tiab]")


@st.composite
def _identified(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` plus an optional pmid and doi, each with an optional status."""
    for key in ("pmid", "doi"):
        value = draw(st.none() | (_pmids if key == "pmid" else _dois))
        if value is not None:
            base[key] = value
            status = draw(st.none() | st.sampled_from(PMID_STATUSES))
            if status is not None:
                base[f"{key}_status"] = status
    return base


def _optional(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=strategies)


_queries = st.fixed_dictionaries({"name": _prose, "term": _terms})
_cited = st.builds(lambda required, optional: {**required, **optional},
                   st.fixed_dictionaries({"key": _prose, "journal": _prose,
                                          "year": st.integers(1000, 9999)}),
                   _optional(volume=_prose, first_page=_prose, author=_prose, note=_prose),
                   ).flatmap(_identified)
_curated = st.builds(lambda required, optional: {**required, **optional},
                     st.fixed_dictionaries({"stance": st.sampled_from(STANCES), "note": _prose}),
                     _optional(label=_prose, design=st.sampled_from(DESIGNS)),
                     ).flatmap(_identified)


def _distinct_papers(curated: list[dict[str, Any]]) -> bool:
    names = [("pmid", c.get("pmid")) for c in curated] + [
        ("doi", c.get("doi", "").lower() or None) for c in curated] + [
        ("label", c.get("label")) for c in curated if "pmid" not in c and "doi" not in c]
    named = [n for n in names if n[1] is not None]
    return len(named) == len(set(named)) and all(
        "pmid" in c or "doi" in c or "label" in c for c in curated)


@st.composite
def _claim_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = [f"C{i}" for i in range(draw(st.integers(1, 4)))]
    claims = []
    for i, claim_id in enumerate(ids):
        later = ids[i + 1:]  # edges only forward: no cycles
        leads_to = draw(st.lists(st.sampled_from(later), unique=True)) if later else []
        others = [x for x in ids if x != claim_id and x not in leads_to]
        questions = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        curated = draw(st.lists(_curated, max_size=3))
        assume(_distinct_papers(curated))
        claims.append({
            "id": claim_id, "text": draw(_prose), "subject": draw(_prose),
            "relation": draw(st.sampled_from(RELATIONS)), "object": draw(_prose),
            "context": draw(st.dictionaries(st.sampled_from(CONTEXT_KEYS), _prose, max_size=3)),
            "aliases": draw(st.dictionaries(_prose, st.lists(_prose, min_size=1, max_size=3,
                                                             unique=True), max_size=3)),
            "leads_to": leads_to, "questions": questions,
            "query": draw(st.lists(_queries, max_size=3, unique_by=lambda q: q["name"])),
            "cited": draw(st.lists(_cited, max_size=3, unique_by=lambda c: c["key"])),
            "curated": curated,
        })
    return claims


def _toml(value: Any) -> str:
    """A TOML value: strings, integers, arrays and (inline) tables are all a claim needs."""
    if isinstance(value, str):
        # JSON string escapes are TOML escapes too; TOML also wants DEL escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _expected(d: dict[str, Any], path: Path, set_id: str) -> Claim:
    return Claim(
        id=d["id"], text=d["text"], subject=d["subject"], relation=d["relation"],
        object=d["object"], context=d["context"],
        aliases={k: tuple(v) for k, v in d["aliases"].items()},
        queries=tuple(ClaimQuery(**q) for q in d["query"]),
        leads_to=tuple(d["leads_to"]), questions=tuple(d["questions"]),
        cited=tuple(CitedReference(**c) for c in d["cited"]),
        curated=tuple(CuratedEvidence(**c) for c in d["curated"]),
        source_file=str(path), set_id=set_id,
    )


@settings(max_examples=60, deadline=None)
@given(claims=_claim_sets(), cuts=st.lists(st.booleans(), min_size=3, max_size=3))
def test_valid_claims_round_trip_through_toml_files(claims, cuts):
    """Written as TOML, split over files in any way, a valid claim set loads back unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        files: list[list[dict[str, Any]]] = [[]]
        for i, c in enumerate(claims):
            if i and cuts[i - 1]:
                files.append([])
            files[-1].append(c)
        expected = []
        for n, group in enumerate(files):
            path = Path(tmp) / f"part{n}.toml"
            text = f'[set]\nid = "set{n}"\ntitle = "Set {n}"\n'
            for c in group:
                text += "\n[[claim]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in c.items())
            path.write_text(text, encoding="utf-8")
            expected += [_expected(c, path, f"set{n}") for c in group]
        assert load_claims([tmp]).claims == tuple(expected)
