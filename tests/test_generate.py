"""The benchmark record generator: deterministic, streamed, PubMed-shaped, and written through
(and read back by) evtrack's own XML writer and parser."""

from __future__ import annotations

import io
import itertools
import statistics
from collections import Counter

import pytest

from evtrack.design import classify_design
from evtrack.pubmed_xml import iter_records
from evtrack.records import PaperRecord
from evtrack.testing.generate import generate_records, write_corpus

N = 400


@pytest.fixture(scope="module")
def records() -> list[PaperRecord]:
    return list(generate_records(N, seed=11))


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    def xml(seed: int) -> bytes:
        out = io.BytesIO()
        write_corpus(out, 30, seed=seed)
        return out.getvalue()

    assert xml(5) == xml(5)
    assert xml(5) != xml(6)


def test_records_read_back_equal_through_our_writer_and_parser(records: list[PaperRecord]) -> None:
    out = io.BytesIO()
    assert write_corpus(out, N, seed=11) == N
    assert list(iter_records(io.BytesIO(out.getvalue()))) == records


def test_records_are_made_one_at_a_time() -> None:
    # A billion records are never held: the first ones come at once.
    first = list(itertools.islice(generate_records(10**9, seed=1), 3))
    assert [int(r.pmid) for r in first] == sorted(int(r.pmid) for r in first)


def test_pmids_are_unique_and_increasing(records: list[PaperRecord]) -> None:
    pmids = [int(r.pmid) for r in records]
    assert pmids == sorted(set(pmids))


def test_the_shape_is_pubmed_like(records: list[PaperRecord]) -> None:
    authors = [len(r.authors) for r in records]
    assert 3 <= statistics.median(authors) <= 7 and max(authors) >= 15
    indexed = [r for r in records if r.status == "MEDLINE"]
    assert 0.7 < len(indexed) / N < 0.95
    assert all(r.mesh for r in indexed) and not any(r.mesh for r in records if r not in indexed)
    headings = [h for r in indexed for h in r.mesh]
    assert 6 <= len(headings) / len(indexed) <= 14
    assert any(h.qualifiers for h in headings) and any(h.is_major_topic for h in headings)
    assert sum(len(r.abstract_sections) > 1 for r in records) > N / 5  # structured abstracts
    assert sum(not r.abstract_sections for r in records) > N / 20  # letters, old records
    with_refs = [r for r in records if r.references]
    assert 0.15 < len(with_refs) / N < 0.5
    assert statistics.median(len(r.references) for r in with_refs) >= 15
    years = [r.pub_date.year for r in records if r.pub_date.year]
    assert min(years) < 1990 and statistics.median(years) >= 2005  # weighted to recent years
    assert any(r.pub_date.season for r in records) and any(r.pub_date.medline_date
                                                           for r in records)
    assert all(r.date_revised is None or r.date_revised[:4] >= str(r.pub_date.year)
               for r in records)


def test_retractions_are_marked_both_ways() -> None:
    many = list(generate_records(3000, seed=2))
    retracted = [r for r in many if r.is_retracted]
    notices = [r for r in many if r.is_retraction_notice]
    assert retracted and notices
    assert all(any(c.ref_type == "RetractionIn" for c in r.corrections) for r in retracted)
    assert all(any(c.ref_type == "RetractionOf" for c in r.corrections) for r in notices)


def test_the_claims_subject_is_a_minority_and_design_tiers_vary(
        records: list[PaperRecord]) -> None:
    on_topic = sum("ketamine" in (r.title + r.abstract).lower() for r in records)
    assert 0.01 < on_topic / N < 0.2
    tiers = Counter(classify_design(r).tier for r in records)
    assert len(tiers) >= 6
