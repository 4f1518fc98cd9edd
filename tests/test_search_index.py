"""The full-text index over stored papers (FTS5 on SQLite, tsvector on PostgreSQL: these tests
run on the backend under test) answers exactly like the reference evaluator, stays in step with
the papers it indexes, and lets the offline source search a store without loading it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, delete, text, update

# The hand-made corpus, its table of searches and the query strategies of the in-memory
# evaluator's tests: the full-text index is held to the very same answers.
from test_querylang import CORPUS, SEARCHES, corpora, queries

from evtrack.claims import load_claims
from evtrack.offline import OfflineSource
from evtrack.querylang import Node, matches, parse_query
from evtrack.records import AbstractSection, Author, CitationQuery, PaperRecord
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.search_index import (
    StoredIndex,
    SyncCounts,
    available,
    compile_match,
    compile_tsquery,
    encode,
    tsvector,
)
from evtrack.sources import LINK_CITEDIN, LINK_REFS
from evtrack.store.db import open_store
from evtrack.store.models import Paper
from evtrack.store.papers import load_records, store_records
from evtrack.testing.generate import generate_records

if TYPE_CHECKING:
    from conftest import DatabaseFactory


def fresh(url: str) -> Engine:
    engine = open_store(url)
    assert available(engine), f"{engine.dialect.name} can hold no index (SQLite without FTS5?)"
    return engine


def replace_papers(engine: Engine, records: list[PaperRecord]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(Paper))  # children go with them (ON DELETE CASCADE)
        store_records(conn, records, source="file", run_id=None)


@pytest.fixture(scope="module")
def small(databases: DatabaseFactory) -> StoredIndex:
    engine = fresh(databases.create())
    replace_papers(engine, list(CORPUS))
    index = StoredIndex(engine)
    index.sync()
    return index


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search(small: StoredIndex, query: str, expected: set[str]) -> None:
    assert small.search(query) == expected


@pytest.fixture(scope="module")
def scratch(databases: DatabaseFactory) -> Iterator[Engine]:
    yield fresh(databases.create())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), queries)
def test_index_agrees_with_reference(scratch: Engine, corpus: list[PaperRecord],
                                     node: Node) -> None:
    # Every example replaces the stored papers: sync has to notice new, changed and gone ones.
    replace_papers(scratch, corpus)
    index = StoredIndex(scratch)
    index.sync()
    assert index.search(node) == {r.pmid for r in corpus if matches(node, r)}


def test_the_claims_queries_on_a_generated_corpus(db_url: str) -> None:
    records = list(generate_records(300, seed=4))
    engine = fresh(db_url)
    replace_papers(engine, records)
    index = StoredIndex(engine)
    assert index.sync() == SyncCounts(indexed=300, removed=0, total=300)
    hits = 0
    for claim in load_claims([default_claims_dir()]).claims:
        for q in claim.queries:
            query = parse_query(q.term)
            expected = {r.pmid for r in records if matches(query, r)}
            assert index.search(query) == expected, q.name
            hits += len(expected)
    assert hits > 25  # the generated corpus does exercise the queries


def test_sync_reindexes_only_what_changed(db_url: str) -> None:
    engine = fresh(db_url)
    replace_papers(engine, list(CORPUS[:4]))
    index = StoredIndex(engine)
    assert index.sync() == SyncCounts(indexed=4, removed=0, total=4)
    assert index.sync() == SyncCounts(indexed=0, removed=0, total=4)
    renamed = PaperRecord(**{**CORPUS[0].__dict__, "title": "Esketamine in zebrafish"})
    with engine.begin() as conn:
        store_records(conn, [renamed, CORPUS[4]], source="file", run_id=None)
        conn.execute(delete(Paper).where(Paper.pmid == CORPUS[1].pmid))
    assert index.sync() == SyncCounts(indexed=2, removed=2, total=4)
    assert index.search("zebrafish[ti]") == {CORPUS[0].pmid}
    assert index.search(f"{CORPUS[1].pmid}[pmid]") == set()


def test_an_index_of_another_version_is_rebuilt(db_url: str) -> None:
    engine = fresh(db_url)
    replace_papers(engine, list(CORPUS))
    index = StoredIndex(engine)
    index.sync()
    with engine.begin() as conn:
        conn.execute(text("UPDATE paper_search_meta SET value = 'old' WHERE key = 'version'"))
    assert index.sync().indexed == len(CORPUS)


def test_two_syncs_at_once_build_one_index(db_url: str) -> None:
    # Two offline sources opened on one store at the same moment (two team members): one
    # builds the index, the other waits for it and finds nothing left to do.
    engine = fresh(db_url)
    replace_papers(engine, list(CORPUS))
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda _: StoredIndex(engine).sync(), range(2)))
    assert sorted(c.indexed for c in counts) == [0, len(CORPUS)]
    assert {c.total for c in counts} == {len(CORPUS)}
    assert StoredIndex(engine).search("ketamine[tiab]") == {
        r.pmid for r in CORPUS if matches(parse_query("ketamine[tiab]"), r)}

def test_tokens_are_spelled_prefix_preserving() -> None:
    words = ["ketamine", "ketamines", "zanos", "z", "zz", "müller", "mü", "α", "αβ",
             "l\x1fvan der berg", "l\x1fvan", "I\x1fautry\x1fae", "I\x1fau", "9z", ""]
    for a in words:
        assert set(encode(a)) <= set("abcdefghijklmnopqrstuvwxyz0123456789")
        for b in words:
            assert encode(a).startswith(encode(b)) == a.startswith(b), (a, b)


def test_a_query_is_one_match_expression_in_pubmed_order() -> None:
    # "a OR b AND c" is (a OR b) AND c, as PubMed evaluates it; FTS5 would bind AND first.
    assert compile_match(parse_query("a[ti] OR b[ti] AND c[ti]").root) == (
        '(({ti} : "a") OR ({ti} : "b")) AND ({ti} : "c")')


def test_a_query_is_one_tsquery_in_pubmed_order() -> None:
    def tsquery(query: str) -> str:
        return compile_tsquery(parse_query(query).root)

    assert tsquery("a[ti] OR b[ti] AND c[ti]") == "(('ti_a') | ('ti_b')) & ('ti_c')"
    # Columns are alternatives; a phrase is FOLLOWED BY; a truncation a prefix; keys encoded.
    assert tsquery('"nmda receptor"[tiab]') == (
        "(('ti_nmda' <-> 'ti_receptor') | ('ab_nmda' <-> 'ab_receptor'))")
    assert tsquery("depress*[ti] NOT Rats[mh]") == (
        "('ti_depress':*) & !('keys_mhz00001frats')")
    assert tsquery("21677641[pmid]") == "'keys_pmidz00001f21677641'"


def test_a_records_tsvector_spells_its_tokens_by_column() -> None:
    record = PaperRecord(pmid="7", title="Ketamine z-score", keywords=("NMDA", "rapid onset"))
    vector = tsvector(record)
    assert vector is not None
    lexemes = set(vector.split(" "))
    assert {"'ti_ketamine':1", "'ti_zz':2", "'ti_score':3", "'keys_pmidz00001f7'"} <= lexemes
    # One position left out between two values: "nmda rapid" is no phrase of the keywords.
    assert {"'ot_nmda':1", "'ot_rapid':3", "'ot_onset':4"} <= lexemes


def test_records_too_long_for_postgresql_still_match_exactly(db_url: str) -> None:
    # 3,000 authors with the initial J: PostgreSQL keeps 256 positions of a lexeme. 17,000
    # words of abstract: it keeps positions up to 16,383. Either would be cut silently.
    consortium = PaperRecord(pmid="90000001", title="A consortium study of ketamine",
                             authors=tuple(Author(last_name=f"Member{i}", initials="J")
                                           for i in range(3000)))
    long_abstract = PaperRecord(
        pmid="90000002", title="Esketamine at length", abstract_sections=(AbstractSection(
            " ".join(f"w{i}" for i in range(17_000)) + " ketamine esketamine"),))
    assert tsvector(consortium) is None and tsvector(long_abstract) is None
    assert all(tsvector(r) is not None for r in CORPUS)
    records = [*CORPUS, consortium, long_abstract]
    engine = fresh(db_url)
    replace_papers(engine, records)
    index = StoredIndex(engine)
    index.sync()
    for query, must in [('"member2999 j"', "90000001"), ("member2999 j[au]", "90000001"),
                        ('"ketamine esketamine"[ab]', "90000002"), ("w16999[tiab]", "90000002"),
                        ("ketamine[ti] NOT member1[au]", None), ("esketamine[tiab]", None),
                        ("ketamine[tiab] AND 2000:2030[dp]", None)]:
        expected = {r.pmid for r in records if matches(parse_query(query), r)}
        assert index.search(query) == expected, query
        assert must is None or must in expected


# ------------------------------------------------------------ the offline source on a store


@pytest.fixture(scope="module")
def stored(databases: DatabaseFactory) -> Engine:
    """Generated records whose reference lists point at one another, and one of the snapshot's
    papers stored with a changed title (the stored copy must win over the bundled one)."""
    records = list(generate_records(800, seed=9))
    linked = [PaperRecord(**{**r.__dict__, "references": r.references + tuple(
        type(r.references[0])(citation="x", pmid=records[(i * 7) % 800].pmid)
        for _ in range(1) if r.references)}) for i, r in enumerate(records)]
    snapshot = list(OfflineSource.from_files(snapshot_files()).fetch(["21677641"]))
    changed = [PaperRecord(**{**s.__dict__, "title": s.title + " (stored copy)"})
               for s in snapshot]
    engine = fresh(databases.create())
    with engine.begin() as conn:
        store_records(conn, [*linked, *changed], source="file", run_id=None)
        # A paper whose date says nothing but the year, for the date-limited searches.
        conn.execute(update(Paper).where(Paper.pmid == linked[0].pmid)
                     .values(pub_month=None, pub_day=None))
    return engine


@pytest.fixture(scope="module")
def both(stored: Engine) -> tuple[OfflineSource, OfflineSource]:
    with stored.connect() as conn:
        everything = list(load_records(conn))
    in_memory = OfflineSource.from_files(snapshot_files(), extra=everything)
    return in_memory, OfflineSource.for_store(stored, snapshot_files())


def test_the_store_backed_source_has_the_same_corpus(
        both: tuple[OfflineSource, OfflineSource]) -> None:
    in_memory, on_store = both
    assert len(on_store) == len(in_memory)
    assert on_store._store is not None  # it did not load the store


@pytest.mark.parametrize(("query", "window"), [
    ("ketamine[tiab] AND (depress*[tiab] OR antidepress*[tiab])", None),
    ("stored copy[ti]", None),
    ("Humans[mh] AND Review[pt]", None),
    ("ketamine[tiab] OR BDNF[tiab]", (date(2010, 1, 1), date(2016, 12, 31), "pdat")),
    ("ketamine[tiab] OR BDNF[tiab]", (date(2015, 6, 1), date(2015, 6, 30), "pdat")),
    ("Humans[mh]", (date(2020, 1, 1), date(2022, 12, 31), "mdat")),
])
def test_searches_agree(both: tuple[OfflineSource, OfflineSource], query: str,
                        window: tuple[date, date, str] | None) -> None:
    in_memory, on_store = both
    kw = {} if window is None else {"mindate": window[0], "maxdate": window[1],
                                    "datetype": window[2]}
    expected = in_memory.search(query, **kw)  # type: ignore[arg-type]
    assert on_store.search(query, **kw) == expected  # type: ignore[arg-type]
    assert expected.count > 0 or window is not None


def test_fetch_and_links_agree(both: tuple[OfflineSource, OfflineSource]) -> None:
    in_memory, on_store = both
    pmids = [r for r in in_memory.search("ketamine[tiab] OR Humans[mh]").pmids[:60]]
    pmids += ["21677641", "1"]  # the stored copy of a snapshot paper; an unknown PMID
    assert list(on_store.fetch(pmids)) == list(in_memory.fetch(pmids))
    for name in (LINK_REFS, LINK_CITEDIN):
        expected = in_memory.links(pmids, name)
        assert on_store.links(pmids, name) == expected
        assert any(expected.values())


def test_citations_agree(both: tuple[OfflineSource, OfflineSource]) -> None:
    in_memory, on_store = both
    citations = [CitationQuery(key=f"{c.id}-{r.key}", journal=r.journal, year=r.year,
                               volume=r.volume, first_page=r.first_page, author=r.author)
                 for c in load_claims([default_claims_dir()]).claims for r in c.cited]
    stored_papers = list(on_store.fetch(list(in_memory.search("ketamine[tiab]").pmids[:20])))
    citations += [CitationQuery(key=r.pmid, journal=r.journal_iso or "", year=r.year,
                                volume=r.volume, first_page=(r.pages or "").split("-")[0],
                                author=r.authors[0].last_name if r.authors else None)
                  for r in stored_papers]
    expected = in_memory.match_citations(citations)
    assert on_store.match_citations(citations) == expected
    assert sum(m.pmid is not None for m in expected) >= len(stored_papers) // 2
