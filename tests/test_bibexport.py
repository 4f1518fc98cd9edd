"""RIS and BibTeX exports, read back by independent parsers (rispy, bibtexparser)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bibtexparser
import pytest
import rispy

from evtrack.bibexport import EvidenceEntry, bib_escape, to_bibtex, to_ris
from evtrack.pubmed_xml import iter_records
from evtrack.records import Author, PaperRecord, PubDate
from evtrack.report import LinkRow


def link(record: PaperRecord, claim: str, stance: str, tier: str, retracted: bool = False,
         rationale: str | None = "Mice without BDNF did not respond.") -> LinkRow:
    return LinkRow(claim_id=claim, pmid=record.pmid, title=record.title, year=record.year,
                   journal=record.journal_iso, doi=record.doi, tier=tier, tier_source="curator",
                   stance=stance, decider="curator", decided_by="curator (ketamine.toml)",
                   rationale=rationale, confidence=0.9, retracted=retracted, found_by=())


@pytest.fixture(scope="module")
def records(entrez_fixtures: Path) -> list[PaperRecord]:
    return [r for name in ("pubmed1.xml", "pubmed2.xml") for r in iter_records(
        entrez_fixtures / name)]


@pytest.fixture
def entries(records: list[PaperRecord]) -> list[EvidenceEntry]:
    first, second = records[0], records[1]
    tricky = dataclasses.replace(
        second, title="Ketamine & BDNF: 100% {curly} under_score #1 ~ ^ \\ back",
        authors=(Author(last_name="Müller", fore_name="Anna-Lena"),
                 Author(collective_name="Ketamine Study Group & Co")),
        pages="1199-205")
    return [EvidenceEntry(first, (link(first, "C6", "supports", "animal-in-vivo"),
                                  link(first, "C7", "mixed", "animal-in-vivo", rationale=None))),
            EvidenceEntry(tricky, (link(tricky, "C9", "contradicts", "rct", retracted=True),))]


def test_ris_reads_back_with_stance_and_tier_in_the_notes(entries: list[EvidenceEntry]) -> None:
    parsed = rispy.loads(to_ris(entries))
    assert len(parsed) == 2
    first, tricky = parsed
    record = entries[0].record
    assert first["type_of_reference"] == "JOUR"
    assert first["title"] == " ".join(record.title.split())
    assert first["accession_number"] == f"PMID:{record.pmid}"
    assert first["urls"] == [f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"]
    assert len(first["authors"]) == len(record.authors)
    assert first["year"] == str(record.year)
    assert first["notes"] == [
        "evtrack C6: supports; design tier animal-in-vivo; decided by curator (ketamine.toml): "
        "Mice without BDNF did not respond.",
        "evtrack C7: mixed; design tier animal-in-vivo; decided by curator (ketamine.toml)"]
    assert first["keywords"] == ["evtrack:C6:supports", "evtrack:C7:mixed",
                                 "evtrack:tier:animal-in-vivo"]
    assert tricky["authors"] == ["Müller, Anna-Lena", "Ketamine Study Group & Co"]
    assert (tricky["start_page"], tricky["end_page"]) == ("1199", "1205")
    assert "RETRACTED" in tricky["notes"][0] and "design tier rct" in tricky["notes"][0]


def test_bibtex_reads_back_with_stance_and_tier_in_the_note(entries: list[EvidenceEntry]) -> None:
    library = bibtexparser.parse_string(to_bibtex(entries))
    assert library.failed_blocks == []
    first, tricky = library.entries
    record = entries[0].record
    fields = {k: f.value for k, f in first.fields_dict.items()}
    assert first.entry_type == "article" and first.key == f"pmid{record.pmid}"
    assert fields["pmid"] == record.pmid and fields["year"] == str(record.year)
    assert fields["author"].count(" and ") == len(record.authors) - 1
    assert "evtrack C6: supports; design tier animal-in-vivo" in fields["note"]
    assert "evtrack C7: mixed" in fields["note"]
    assert fields["keywords"].split(", ")[0] == "evtrack:C6:supports"
    tf = {k: f.value for k, f in tricky.fields_dict.items()}
    # Special characters are escaped so LaTeX prints them as written.
    assert tf["title"] == ("{Ketamine \\& BDNF: 100\\% \\{curly\\} under\\_score \\#1 "
                           "\\textasciitilde{} \\textasciicircum{} \\textbackslash{} back}")
    assert tf["author"] == "Müller, Anna-Lena and {Ketamine Study Group \\& Co}"
    assert tf["pages"] == "1199--1205"


@pytest.mark.parametrize(("text", "escaped"), [("a & b", "a \\& b"), ("50%", "50\\%"),
                                               ("x_1", "x\\_1"), ("{y}", "\\{y\\}"),
                                               ("two\n  lines", "two lines")])
def test_bib_escape(text: str, escaped: str) -> None:
    assert bib_escape(text) == escaped


def test_a_record_without_date_or_authors_still_exports() -> None:
    bare = PaperRecord(pmid="1", title="Untitled", pub_date=PubDate())
    entry = EvidenceEntry(bare, (link(bare, "C1", "unjudged", "other", rationale=None),))
    assert rispy.loads(to_ris([entry]))[0]["title"] == "Untitled"
    assert bibtexparser.parse_string(to_bibtex([entry])).entries[0].key == "pmid1"
