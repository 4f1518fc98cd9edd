"""PubMed EFetch XML reading and writing, against NCBI's recorded answers in ../shared."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evtrack.errors import RecordParseError
from evtrack.pubmed_xml import iter_records, parse_records, write_records
from evtrack.records import (
    AbstractSection,
    Author,
    Correction,
    MeshHeading,
    MeshQualifier,
    PaperRecord,
    PubDate,
    PublicationType,
    Reference,
)

HISTORICAL = "historical_2008-2024"

#: Every PubMed EFetch recording in the fixtures, with the PMIDs it holds, in order.
PUBMED_FILES = {
    "pubmed1.xml": ["12091962", "9997"],
    "pubmed2.xml": ["11748933", "11700088"],
    "pubmed4.xml": ["27797938"],
    "pubmed5.xml": ["28775130"],
    "pubmed6.xml": ["30108519"],
    "pubmed7.xml": ["29963580"],
    f"{HISTORICAL}/pubmed1.xml": ["12091962", "9997"],
    f"{HISTORICAL}/pubmed2.xml": ["11748933", "11700088"],
}

DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)


def read(fixtures: Path, name: str) -> list[PaperRecord]:
    return list(iter_records(fixtures / name))


def one(fixtures: Path, name: str) -> PaperRecord:
    (record,) = read(fixtures, name)
    return record


def document(*articles: str, doctype: str = DOCTYPE) -> bytes:
    body = "".join(articles)
    return f'<?xml version="1.0"?>\n{doctype}\n<PubmedArticleSet>{body}</PubmedArticleSet>'.encode()


def article(pmid: str = "1", inside: str = "", after: str = "", data: str = "") -> str:
    """A PubmedArticle: ``inside`` goes into Article, ``after`` after it, ``data`` in PubmedData."""
    return (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>'
        f"<Article>{inside}</Article>{after}</MedlineCitation>"
        f"<PubmedData>{data}</PubmedData></PubmedArticle>"
    )


def roundtrip(records: list[PaperRecord]) -> list[PaperRecord]:
    out = io.BytesIO()
    assert write_records(records, out) == len(records)
    return parse_records(out.getvalue())


# --------------------------------------------------------------------------- every recording


def test_the_table_covers_every_pubmed_recording(entrez_fixtures: Path) -> None:
    on_disk = {
        p.relative_to(entrez_fixtures).as_posix()
        for p in entrez_fixtures.rglob("*.xml")
        if b"<PubmedArticleSet" in p.read_bytes()[:1000]
    }
    assert on_disk == set(PUBMED_FILES)


@pytest.mark.parametrize("name", sorted(PUBMED_FILES))
def test_each_recording_parses_to_its_pmids(entrez_fixtures: Path, name: str) -> None:
    records = read(entrez_fixtures, name)
    assert [r.pmid for r in records] == PUBMED_FILES[name]
    for r in records:
        assert r.title and r.journal and r.pub_date.year and r.authors
        assert r.language == "eng"
        for text in (r.title, r.abstract, *(a.display for a in r.authors)):
            assert not re.search(r"</?[a-z:]+>", text)  # markup flattened ("P < 0.001" stays)
            assert "  " not in text and text == text.strip()


@pytest.mark.parametrize("name", sorted(PUBMED_FILES))
def test_each_recording_survives_write_and_read(entrez_fixtures: Path, name: str) -> None:
    records = read(entrez_fixtures, name)
    assert roundtrip(records) == records


# --------------------------------------------------------------------------- concrete values


def test_pubmed1_record_without_abstract_and_season_date(entrez_fixtures: Path) -> None:
    aids, flavo = read(entrez_fixtures, "pubmed1.xml")
    assert aids.abstract_sections == () and aids.abstract == ""
    assert aids.title.startswith("The treatment of AIDS behind the walls")
    assert aids.journal == "Social justice (San Francisco, Calif.)"
    assert (aids.journal_iso, aids.volume, aids.issue, aids.pages) == ("Soc Justice", "17", "1",
                                                                        "113-25")
    assert aids.pub_date == PubDate(year=1990, season="Spring")
    assert aids.authors == (Author(last_name="Olivero", fore_name="J Michael", initials="JM"),)
    assert aids.keywords == ("Health Care and Public Health", "Legal Approach")
    assert aids.publication_types == (PublicationType("Journal Article", "D016428"),
                                      PublicationType("Review", "D016454"))
    assert len(aids.mesh) == 19
    assert MeshHeading("Prisoners", "D011329", major=True) in aids.mesh
    assert aids.doi is None and aids.other_ids == ()
    assert (aids.status, aids.date_revised) == ("MEDLINE", "2007-11-15")

    assert len(flavo.abstract_sections) == 1 and flavo.abstract_sections[0].label is None
    assert flavo.pub_date == PubDate(year=1976, month=9, day=28)
    assert flavo.pub_date.iso() == "1976-09-28"
    assert flavo.doi == "10.1016/0005-2795(76)90109-4"
    assert flavo.other_ids == (("pii", "0005-2795(76)90109-4"),)
    assert MeshHeading("Chromatium", "D002844", False,
                       (MeshQualifier("enzymology", "Q000201", True),)) in flavo.mesh
    assert flavo.date_revised == "2019-06-09"


def test_pubmed2_dois_affiliations_and_qualifiers(entrez_fixtures: Path) -> None:
    cryo, mri = read(entrez_fixtures, "pubmed2.xml")
    assert cryo.doi == "10.1006/cryo.2001.2328"
    assert mri.doi == "10.1006/jmre.2001.2429"
    assert cryo.pmcid is None and mri.pmcid is None
    assert [a.display for a in cryo.authors][:3] == ["Taddei AR", "Barbato F", "Abelli L"]
    assert len(cryo.authors) == 8 and len(mri.authors) == 6
    assert cryo.authors[0].affiliations == (
        "Dipartimento di Scienze Ambientali, Università degli Studi della Tuscia, "
        "01100 Viterbo, Italy.",
    )
    assert cryo.pub_date == PubDate(year=2001, month=6)
    assert (cryo.volume, cryo.issue, cryo.pages) == ("42", "4", "244-55")
    sea_bream = next(m for m in cryo.mesh if m.descriptor == "Sea Bream")
    assert sea_bream == MeshHeading("Sea Bream", "D021541", False, (
        MeshQualifier("anatomy & histology", "Q000033", True),
        MeshQualifier("physiology", "Q000502", False),
    ))
    assert sea_bream.is_major_topic
    assert MeshHeading("Sperm Motility", "D013081", major=True) in cryo.mesh
    assert PublicationType("Research Support, Non-U.S. Gov't", "D013485") in cryo.publication_types
    assert mri.status == "PubMed-not-MEDLINE" and mri.mesh == ()
    assert mri.journal_iso == "J Magn Reson"


def test_pubmed4_structured_abstract_markup_and_mesh(entrez_fixtures: Path) -> None:
    r = one(entrez_fixtures, "pubmed4.xml")
    assert r.title == ("Leucocyte telomere length, genetic variants at the TERT gene region and "
                       "risk of pancreatic cancer.")
    assert [s.label for s in r.abstract_sections] == ["OBJECTIVE", "DESIGN", "RESULTS",
                                                       "CONCLUSIONS"]
    assert all(s.category is None for s in r.abstract_sections)  # this recording has no NlmCategory
    assert "ptrend=0.048" in r.abstract_sections[2].text  # <sub> joined without a space
    assert r.abstract.startswith("OBJECTIVE: Telomere shortening")
    assert (r.journal, r.volume, r.issue, r.pages) == ("Gut", "66", "6", "1116-1122")
    assert r.pub_date == PubDate(year=2017, month=6)
    assert len(r.authors) == 22 and r.authors[-1].display == "Wolpin BM"
    assert len(r.authors[2].affiliations) == 2
    assert (r.doi, r.pmcid) == ("10.1136/gutjnl-2016-312510", "PMC5442267")
    assert r.other_ids == (("pii", "gutjnl-2016-312510"), ("mid", "NIHMS857349"))
    assert len(r.mesh) == 21
    assert MeshHeading("Pancreatic Neoplasms", "D010190", False, (
        MeshQualifier("epidemiology", "Q000453", True),
        MeshQualifier("genetics", "Q000235", True),
    )) in r.mesh
    assert MeshHeading("Telomere Shortening", "D059506", major=True) in r.mesh
    assert PublicationType("Observational Study", "D064888") in r.publication_types
    assert r.keywords == ("PANCREATIC CANCER",)
    assert len(r.corrections) == 49
    assert r.corrections[0] == Correction("CommentIn", "Gut. 2017 Jun;66(6):1", "27920200")
    assert {c.ref_type for c in r.corrections[1:]} == {"Cites"}
    assert not r.is_retracted and (r.status, r.date_revised) == ("MEDLINE", "2018-04-17")


def test_pubmed5_labels_with_nlm_categories(entrez_fixtures: Path) -> None:
    r = one(entrez_fixtures, "pubmed5.xml")
    assert [(s.label, s.category) for s in r.abstract_sections] == [
        ("OBJECTIVES", "OBJECTIVE"), ("METHODS", "METHODS"), ("RESULTS", "RESULTS"),
        ("CONCLUSIONS", "CONCLUSIONS"),
    ]
    assert "ORQ3=4.15" in r.abstract_sections[2].text
    assert r.title.startswith("Occupational pesticide exposure and subclinical hypothyroidism")
    assert (r.journal_iso, r.volume, r.issue, r.pages) == ("Occup Environ Med", "75", "2", "79-89")
    assert r.pub_date == PubDate(year=2018, month=2)
    assert len(r.authors) == 12
    assert r.authors[1] == Author("Beane Freeman", "Laura E", "LE", affiliations=(
        "Division of Cancer Epidemiology and Genetics, National Cancer Institute, Rockville, "
        "Maryland, USA.",))
    assert (r.doi, r.pmcid) == ("10.1136/oemed-2017-104431", "PMC5771820")
    assert r.mesh == () and r.status == "In-Data-Review"
    assert len(r.corrections) == 40
    assert len(r.keywords) == 5 and "pesticides" in r.keywords


def test_pubmed6_mathml_flattened(entrez_fixtures: Path) -> None:
    r = one(entrez_fixtures, "pubmed6.xml")
    assert r.title.startswith('A "Blood Relationship" Between the Overlooked Minimum Lactate')
    assert "<" not in r.title
    assert "mml" not in r.abstract and "\n" not in r.abstract
    # The only "<" left are the abstract's own comparisons ("P < 0.001"), not markup.
    assert re.findall(r"<.", r.abstract) == ["< "] * r.abstract.count("<") != []
    # Token elements joined without the pretty-printing whitespace between them.
    assert "( V.O2max )" in r.abstract
    assert "LEmin" in r.abstract
    assert (r.journal_iso, r.volume, r.issue, r.pages) == ("Front Physiol", "9", None, "1034")
    assert r.pub_date == PubDate(year=2018)
    assert [a.display for a in r.authors] == ["Garcia-Tabar I", "Gorostiaga EM"]
    assert (r.doi, r.pmcid) == ("10.3389/fphys.2018.01034", "PMC6079548")
    assert len(r.corrections) == 53 and len(r.keywords) == 8


def test_pubmed7_references_orcid_and_collective_author(entrez_fixtures: Path) -> None:
    r = one(entrez_fixtures, "pubmed7.xml")
    assert len(r.references) == 49
    assert r.references[0] == Reference("Radiology. 2015 Jan;274(1):250-9", pmid="25144646")
    assert r.references[-1] == Reference("Eur Respir J. 2008 Apr;31(4):869-73", pmid="18216052")
    assert all(ref.pmid and ref.pmid.isdigit() for ref in r.references)
    assert "inhaled 3He/129Xe MRI ventilation" in r.abstract  # mmultiscripts: prescript first
    assert "mml" not in r.abstract and "<" not in r.abstract
    assert len(r.authors) == 9
    assert r.authors[1].orcid == "https://orcid.org/0000-0002-4590-7461"
    assert r.authors[-1] == Author(collective_name="Canadian Respiratory Research Network")
    assert r.authors[-1].display == "Canadian Respiratory Research Network"
    assert (r.doi, r.pmcid, r.other_ids) == ("10.1117/1.JMI.5.2.026002", "PMC6022861",
                                             (("pii", "17360RR"),))
    assert (r.pages, r.pub_date) == ("026002", PubDate(year=2018, month=4))
    assert r.corrections == () and r.status == "PubMed-not-MEDLINE"


def mesh_terms(r: PaperRecord) -> list[tuple[str, bool, tuple[tuple[str, bool], ...]]]:
    return [(m.descriptor, m.major, tuple((q.name, q.major) for q in m.qualifiers))
            for m in r.mesh]


@pytest.mark.parametrize("name", ["pubmed1.xml", "pubmed2.xml"])
def test_historical_and_current_recordings_agree(entrez_fixtures: Path, name: str) -> None:
    old_records = read(entrez_fixtures, f"{HISTORICAL}/{name}")
    for old, new in zip(old_records, read(entrez_fixtures, name), strict=True):
        assert old.pmid == new.pmid
        for field in ("title", "abstract_sections", "journal", "volume", "issue", "pages",
                      "pub_date", "language", "status", "keywords"):
            assert getattr(old, field) == getattr(new, field), (new.pmid, field)
        # The 2008 DTD put the first author's affiliation on Article: it moves to the author.
        assert old.authors == new.authors
        assert mesh_terms(old) == mesh_terms(new)
        assert [p.name for p in old.publication_types] == [p.name for p in new.publication_types]
        assert all(m.descriptor_ui is None for m in old.mesh)  # no UIs in 2008


def test_what_changed_between_recordings(entrez_fixtures: Path) -> None:
    old_aids, old_flavo = read(entrez_fixtures, f"{HISTORICAL}/pubmed1.xml")
    old_cryo, old_mri = read(entrez_fixtures, f"{HISTORICAL}/pubmed2.xml")
    assert old_aids.journal_iso is None  # absent in 2008, "Soc Justice" now
    assert (old_flavo.doi, old_flavo.date_revised) == (None, "2003-11-14")  # DOI added by 2019
    assert (old_cryo.doi, old_mri.doi) == ("10.1006/cryo.2001.2328", "10.1006/jmre.2001.2429")
    assert old_mri.journal_iso == "J. Magn. Reson."  # NLM has dropped the dots since


# --------------------------------------------------------------------------- crafted records


def test_medline_date_collective_author_and_retraction() -> None:
    xml = document(article(
        "10000001",
        inside=(
            "<Journal><JournalIssue><Volume>3</Volume><PubDate><MedlineDate>1998 Dec-1999 Jan"
            "</MedlineDate></PubDate></JournalIssue><Title>J Test</Title></Journal>"
            "<ArticleTitle>A retracted <b>paper</b></ArticleTitle>"
            '<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Doe</LastName>'
            "<ForeName>Jane</ForeName><Initials>J</Initials></Author>"
            '<Author ValidYN="Y"><CollectiveName>The  Test\n Consortium</CollectiveName></Author>'
            "</AuthorList><Language>eng</Language><PublicationTypeList>"
            '<PublicationType UI="D016428">Journal Article</PublicationType>'
            '<PublicationType UI="D016441">Retracted Publication</PublicationType>'
            "</PublicationTypeList>"
        ),
        after=(
            '<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn">'
            "<RefSource>J Test. 2000;4:1</RefSource><PMID Version=\"1\">10000002</PMID>"
            "</CommentsCorrections></CommentsCorrectionsList>"
        ),
    ))
    (r,) = parse_records(xml)
    assert r.pub_date == PubDate(year=1998, medline_date="1998 Dec-1999 Jan")
    assert r.year == 1998 and r.pub_date.iso() == "1998"
    assert r.title == "A retracted paper"
    assert [a.display for a in r.authors] == ["Doe J", "The Test Consortium"]
    assert r.authors[1] == Author(collective_name="The Test Consortium")
    assert r.corrections == (Correction("RetractionIn", "J Test. 2000;4:1", "10000002"),)
    assert r.is_retracted and not r.is_retraction_notice
    assert roundtrip([r]) == [r]


def test_fallbacks_and_old_layouts() -> None:
    xml = document(article(
        "5",
        inside=(
            "<Journal><JournalIssue><PubDate><Year>2020</Year><Month>September</Month>"
            "<Day>7</Day></PubDate></JournalIssue></Journal><ArticleTitle>T</ArticleTitle>"
            "<Pagination><StartPage>12</StartPage><EndPage>19</EndPage></Pagination>"
            '<ELocationID EIdType="pii">x1</ELocationID>'
            '<ELocationID EIdType="doi" ValidYN="Y">10.1/elocation</ELocationID>'
            '<AuthorList><Author ValidYN="N"><LastName>Wrongly</LastName></Author>'
            '<Author ValidYN="Y"><LastName>Right</LastName><Initials>R</Initials>'
            "<Affiliation>Old place.</Affiliation></Author></AuthorList>"
        ),
        data=(
            '<ArticleIdList><ArticleId IdType="pubmed">5</ArticleId></ArticleIdList>'
            "<ReferenceList><Reference><Citation>First.</Citation><ArticleIdList>"
            '<ArticleId IdType="doi">10.1/a</ArticleId><ArticleId IdType="pmc">PMC1</ArticleId>'
            "</ArticleIdList></Reference><ReferenceList><Title>Nested</Title><Reference>"
            "<Citation>Second.</Citation></Reference></ReferenceList></ReferenceList>"
            "<ReferenceList><Reference><Citation>Third.</Citation><ArticleIdList>"
            '<ArticleId IdType="pubmed">7</ArticleId></ArticleIdList></Reference></ReferenceList>'
        ),
    ))
    (r,) = parse_records(xml)
    assert r.pages == "12-19"
    assert r.doi == "10.1/elocation"
    assert r.pub_date == PubDate(year=2020, month=9, day=7)
    assert r.authors == (Author(last_name="Right", initials="R", affiliations=("Old place.",)),)
    assert r.references == (
        Reference("First.", doi="10.1/a", pmcid="PMC1"),
        Reference("Second."),
        Reference("Third.", pmid="7"),
    )


def test_repeated_and_empty_ids_authors_and_headings() -> None:
    # The edge cases of the single-pass loops: the first non-empty id of a kind wins, a
    # repeated doi or pmc goes to the other ids (a repeated pubmed id is dropped), empty
    # affiliations are dropped, a heading without a descriptor is skipped.
    ids = ('<ArticleIdList><ArticleId IdType="doi"> </ArticleId>'
           '<ArticleId IdType="pubmed">8</ArticleId><ArticleId IdType="pubmed">9</ArticleId>'
           '<ArticleId IdType="doi">10.1/a</ArticleId><ArticleId IdType="doi">10.1/b</ArticleId>'
           '<ArticleId IdType="pmc">PMC1</ArticleId><ArticleId IdType="pmc">PMC2</ArticleId>'
           '<ArticleId>no kind</ArticleId><ArticleId IdType="pii"> S1 \n x </ArticleId>'
           "</ArticleIdList>")
    reference = ("<ReferenceList><Reference><Citation> A  cited\n paper. </Citation>"
                 '<ArticleIdList><ArticleId IdType="pubmed"></ArticleId>'
                 '<ArticleId IdType="pubmed">11</ArticleId><ArticleId IdType="pubmed">12'
                 '</ArticleId><ArticleId IdType="doi">10.2/x</ArticleId>'
                 '<ArticleId IdType="pii">P</ArticleId></ArticleIdList></Reference>'
                 "</ReferenceList>")
    xml = document(article(
        "8",
        inside=("<ArticleTitle>T</ArticleTitle><AuthorList><Author><LastName> Two  Words "
                "</LastName><ForeName> </ForeName><AffiliationInfo><Affiliation> </Affiliation>"
                "</AffiliationInfo><AffiliationInfo><Affiliation>Lab  A.</Affiliation>"
                "<Affiliation>Lab B.</Affiliation></AffiliationInfo><Affiliation>Old.</Affiliation>"
                '<Identifier Source="ORCID"> 0000-1 </Identifier></Author></AuthorList>'),
        after=('<MeshHeadingList><MeshHeading><QualifierName UI="Q1">lost</QualifierName>'
               '</MeshHeading><MeshHeading><QualifierName UI=" Q2 " MajorTopicYN="Y">first'
               '</QualifierName><DescriptorName UI="D1" MajorTopicYN="Y">Rats</DescriptorName>'
               '<DescriptorName UI="D2">Mice</DescriptorName><QualifierName>second'
               "</QualifierName></MeshHeading></MeshHeadingList>"),
        data=ids + reference,
    ))
    (r,) = parse_records(xml)
    assert (r.doi, r.pmcid) == ("10.1/a", "PMC1")
    assert r.other_ids == (("doi", "10.1/b"), ("pmc", "PMC2"), ("", "no kind"), ("pii", "S1 x"))
    assert r.authors == (Author(last_name="Two Words", affiliations=("Lab A.", "Lab B.", "Old."),
                                orcid="0000-1"),)
    assert r.mesh == (MeshHeading("Rats", "D1", True, (
        MeshQualifier("first", "Q2", True), MeshQualifier("second", None, False))),)
    assert r.references == (Reference("A cited paper.", pmid="11", doi="10.2/x"),)


def test_book_articles_are_skipped() -> None:
    book = ("<PubmedBookArticle><BookDocument><PMID>20301295</PMID><ArticleTitle>A chapter"
            "</ArticleTitle></BookDocument></PubmedBookArticle>")
    xml = document(book, article("42", "<ArticleTitle>Journal paper</ArticleTitle>"), book)
    assert [r.pmid for r in parse_records(xml)] == ["42"]


def test_article_without_pmid_is_an_error() -> None:
    xml = document(article("1"), article("").replace('<PMID Version="1"></PMID>', ""))
    with pytest.raises(RecordParseError, match=r"PubmedArticle #2 has no PMID"):
        parse_records(xml)


def test_empty_set_is_no_records_not_an_error() -> None:
    assert parse_records(document()) == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("name", "message"), [
    ("pubmed3.html", r"pubmed3\.html is an HTML page, not PubMed XML \(NCBI error page\?\)"),
    ("einfo4.xml", r"einfo4\.xml is truncated or corrupted XML \(line 40, column 0: "),
    (f"{HISTORICAL}/einfo4.xml", r"einfo4\.xml is truncated or corrupted XML \(line \d+, column"),
    ("efetch_pmc.xml", r"efetch_pmc\.xml: expected PubMed EFetch XML .* root is <pmc-articleset>"),
    ("einfo1.xml", r"root is <eInfoResult>; fetch with db=pubmed and retmode=xml"),
    ("esearch1.xml", r"root is <eSearchResult>"),
    ("espell.xml", r"root is <eSpellResult>"),  # its empty <ERROR/> is not an error message
    ("epost2.xml", r"epost2\.xml: NCBI answered with an error .*'Invalid db name specified"),
    ("esummary8.xml", r"NCBI answered with an error .*'Neither query_key nor id specified'"),
])
def test_not_a_record_set(entrez_fixtures: Path, name: str, message: str) -> None:
    with pytest.raises(RecordParseError, match=message):
        read(entrez_fixtures, name)


@pytest.mark.parametrize(("data", "message"), [
    (b"", r"is empty or not XML \(line 1, column 0: no element found\)"),
    (b"Service unavailable", r"is empty or not XML \(line 1, column 0: syntax error\)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", r"is empty or not XML"),
    (b"<!DOCTYPE html>\n<html lang=en><body>Too many requests", r"is an HTML page"),
    (b"<ERROR>Unable to obtain query #1</ERROR>", r"error .*'Unable to obtain query #1'"),
    (b"<eFetchResult><ERROR>UID=1: cannot get document summary</ERROR></eFetchResult>",
     r"'UID=1: cannot get document summary'"),
    (document(article("1", "<ArticleTitle>&nbsp;</ArticleTitle>")), r"undefined entity &nbsp;"),
    (document(article("1")) + b"<junk/>", r"truncated or corrupted XML \(line 3, .*junk after"),
])
def test_bad_bytes(data: bytes, message: str) -> None:
    with pytest.raises(RecordParseError, match=message):
        parse_records(data)


def test_truncated_file_yields_what_it_has_then_raises(entrez_fixtures: Path,
                                                       tmp_path: Path) -> None:
    data = (entrez_fixtures / "pubmed2.xml").read_bytes()
    cut = tmp_path / "pubmed2-cut.xml"
    cut.write_bytes(data[: data.index(b"<PMID", data.index(b"</PubmedArticle>")) + 20])
    records = iter_records(cut)
    assert next(records).pmid == "11748933"
    with pytest.raises(RecordParseError, match=rf"{re.escape(str(cut))} is truncated or "
                                               r"corrupted XML \(line \d+, column \d+"):
        next(records)


class _Trickle(io.BytesIO):
    """Hands out at most ``size`` bytes per read, as a slow network stream would."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data)
        self.size = size

    def read(self, n: int | None = -1) -> bytes:
        return super().read(self.size)


@pytest.mark.parametrize("size", [1, 7, 64, 4096])
@pytest.mark.parametrize("tail", [b"", b"\n", b"\n<PubmedArticle><MedlineCitation>"])
def test_articles_complete_before_a_cut_are_all_read(size: int, tail: bytes) -> None:
    # Whether the stream breaks just after an article, or inside the next one, and wherever
    # the reads happen to end, every complete article comes out before the error.
    data = document(article("1"), article("2"), article("3"))
    cut = data[: data.rindex(b"</PubmedArticle>") + len(b"</PubmedArticle>")] + tail
    records = []
    with pytest.raises(RecordParseError, match="truncated or corrupted"):
        for r in iter_records(_Trickle(cut, size)):
            records.append(r.pmid)
    assert records == ["1", "2", "3"]


def test_latin1_bytes_are_an_error(entrez_fixtures: Path) -> None:
    # The 2008 pubmed2 re-saved as Latin-1 (no encoding declared): "Università" is not UTF-8.
    path = entrez_fixtures / HISTORICAL / "pubmed2.xml"
    data = path.read_text(encoding="utf-8").encode("latin-1")
    with pytest.raises(RecordParseError, match=r"not well-formed \(invalid token\), e\.g\. "
                                               r"bytes that are not UTF-8"):
        parse_records(data)


def test_foreign_root_is_not_read_to_the_end() -> None:
    huge = b"<eSearchResult><IdList>" + b"<Id>1</Id>" * 200_000  # never closed
    with pytest.raises(RecordParseError, match=r"root is <eSearchResult>"):
        parse_records(huge)


def test_missing_file_is_a_domain_error(tmp_path: Path) -> None:
    with pytest.raises(RecordParseError, match=r"cannot read .*nope\.xml"):
        list(iter_records(tmp_path / "nope.xml"))


def test_stream_errors_name_the_stream(entrez_fixtures: Path) -> None:
    with pytest.raises(RecordParseError, match=r"^PubMed XML stream: .*'Invalid db name"):
        list(iter_records(io.BytesIO((entrez_fixtures / "epost2.xml").read_bytes())))
    with (entrez_fixtures / "einfo4.xml").open("rb") as f, \
            pytest.raises(RecordParseError, match=r"einfo4\.xml is truncated"):
        list(iter_records(f))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(RecordParseError, match=r"declares XML entities .*refused to expand"):
        parse_records(BILLION_LAUGHS)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT", encoding="ascii")
    return path


@pytest.mark.parametrize("declaration", [
    '<!ENTITY xxe SYSTEM "{uri}">',
    '<!ENTITY % xxe SYSTEM "{uri}"> %xxe;',
])
@pytest.mark.parametrize("target", ["file:///etc/passwd", "secret"])
def test_external_entities_are_not_fetched(secret: Path, declaration: str, target: str) -> None:
    uri = secret.as_uri() if target == "secret" else target
    xml = document(article("1", "<ArticleTitle>&xxe;</ArticleTitle>"),
                   doctype=f"<!DOCTYPE PubmedArticleSet [{declaration.format(uri=uri)}]>")
    with pytest.raises(RecordParseError, match=r"refused to expand or fetch") as caught:
        parse_records(xml)
    assert "TOP-SECRET" not in str(caught.value) and "root:" not in str(caught.value)


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "TOP-SECRET-CONTENT">', encoding="ascii")
    xml = document(article("1", "<ArticleTitle>&leak;</ArticleTitle>"),
                   doctype=f'<!DOCTYPE PubmedArticleSet SYSTEM "{dtd.as_uri()}">')
    with pytest.raises(RecordParseError, match=r"undefined entity &leak;") as caught:
        parse_records(xml)
    assert "TOP-SECRET" not in str(caught.value)


# --------------------------------------------------------------------------- streaming


class ReadTooFar(Exception):
    pass


class Tripwire:
    """A binary stream that fails if read past ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self._pos = data, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._limit:
            raise ReadTooFar(self._pos)
        end = len(self._data) if size < 0 else self._pos + size
        chunk, self._pos = self._data[self._pos:end], min(end, len(self._data))
        return chunk


def test_iter_records_is_lazy(entrez_fixtures: Path) -> None:
    text = (entrez_fixtures / "pubmed2.xml").read_text(encoding="utf-8")
    articles = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, flags=re.S)
    data = document(*articles * 500)  # about 5 MB
    with pytest.raises(ReadTooFar):  # the stream really does trip when read to the end
        list(iter_records(Tripwire(data, limit=256 * 1024)))  # type: ignore[arg-type]
    records = iter_records(Tripwire(data, limit=256 * 1024))  # type: ignore[arg-type]
    assert [next(records).pmid for _ in range(4)] == ["11748933", "11700088"] * 2


# --------------------------------------------------------------------------- writing


def test_written_document_shape(entrez_fixtures: Path) -> None:
    records = read(entrez_fixtures, "pubmed4.xml") + read(entrez_fixtures, "pubmed7.xml")
    out = io.BytesIO()

    def lazily() -> Iterator[PaperRecord]:
        yield from records

    assert write_records(lazily(), out) == 2
    text = out.getvalue().decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n' + DOCTYPE)
    assert text.count("<PubmedArticle>") == 2 and text.rstrip().endswith("</PubmedArticleSet>")
    assert '<ArticleId IdType="pmc">PMC5442267</ArticleId>' in text


def test_written_document_is_valid_for_biopython(entrez_fixtures: Path) -> None:
    # An independent reader: Bio.Entrez checks every element against NCBI's 2025 DTD.
    entrez = pytest.importorskip("Bio.Entrez")
    if not (Path(entrez.__file__).parent / "DTDs" / "pubmed_250101.dtd").exists():
        pytest.skip("this Biopython does not bundle the 2025 PubMed DTD")
    records = [r for name in PUBMED_FILES for r in read(entrez_fixtures, name)]
    out = io.BytesIO()
    write_records(records, out)
    out.seek(0)
    parsed = entrez.read(out)
    assert [str(a["MedlineCitation"]["PMID"]) for a in parsed["PubmedArticle"]] == [
        r.pmid for r in records]


@pytest.mark.parametrize("pub_date", [
    PubDate(month=3),
    PubDate(year=2000, day=3),
    PubDate(year=2000, month=3, season="Spring"),
    PubDate(year=2000, month=13),
    PubDate(year=1999, medline_date="1998 Dec-1999 Jan"),
    PubDate(year=1998, month=12, medline_date="1998 Dec-1999 Jan"),
])
def test_unwritable_pub_dates_are_refused(pub_date: PubDate) -> None:
    with pytest.raises(ValueError, match=r"PMID 1: .*cannot be written"):
        write_records([PaperRecord("1", "T", pub_date=pub_date)], io.BytesIO())


def test_bad_date_revised_is_refused() -> None:
    with pytest.raises(ValueError, match=r"DateRevised '2020-1-5' is not an ISO date"):
        write_records([PaperRecord("1", "T", date_revised="2020-1-5")], io.BytesIO())


# --------------------------------------------------------------------------- property


def normalized(text: str) -> str:
    return " ".join(text.split())


# Characters XML 1.0 can carry, control characters aside; whitespace collapsed like the parser.
TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs"),
                             exclude_characters="\ufffe\uffff"), max_size=30).map(normalized)
WORD = TEXT.filter(bool)
OPTIONAL = st.none() | WORD
T = TypeVar("T")


def tuples(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, max_size=3).map(tuple)


YEARS = st.integers(1000, 9999)
PUB_DATES = st.one_of(
    st.just(PubDate()),
    st.builds(PubDate, year=YEARS),
    st.builds(PubDate, year=YEARS, month=st.integers(1, 12),
              day=st.none() | st.integers(1, 31)),
    st.builds(PubDate, year=YEARS, season=WORD),
    st.builds(lambda y, rest: PubDate(year=y, medline_date=normalized(f"{y} {rest}")),
              YEARS, TEXT),
)
ISO_DATES = st.none() | st.dates(min_value=date(1000, 1, 1)).flatmap(
    lambda d: st.sampled_from([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4]]))
AUTHORS = st.one_of(
    st.builds(Author, last_name=OPTIONAL, fore_name=OPTIONAL, initials=OPTIONAL,
              affiliations=tuples(WORD), orcid=OPTIONAL),
    st.builds(Author, collective_name=WORD, affiliations=tuples(WORD), orcid=OPTIONAL),
)
ID_TYPES = WORD.filter(lambda kind: kind not in ("pubmed", "doi", "pmc"))
RECORDS = st.builds(
    PaperRecord,
    pmid=st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
    title=TEXT,
    abstract_sections=tuples(st.builds(AbstractSection, text=TEXT, label=OPTIONAL,
                                       category=OPTIONAL)),
    journal=OPTIONAL, journal_iso=OPTIONAL, volume=OPTIONAL, issue=OPTIONAL, pages=OPTIONAL,
    pub_date=PUB_DATES,
    authors=tuples(AUTHORS),
    doi=OPTIONAL, pmcid=OPTIONAL,
    other_ids=tuples(st.tuples(ID_TYPES, WORD)),
    language=OPTIONAL,
    mesh=tuples(st.builds(
        MeshHeading, descriptor=TEXT, descriptor_ui=OPTIONAL, major=st.booleans(),
        qualifiers=tuples(st.builds(MeshQualifier, name=TEXT, ui=OPTIONAL, major=st.booleans())),
    )),
    publication_types=tuples(st.builds(PublicationType, name=TEXT, ui=OPTIONAL)),
    keywords=tuples(WORD),
    corrections=tuples(st.builds(Correction, ref_type=TEXT, source=OPTIONAL, pmid=OPTIONAL)),
    references=tuples(st.builds(Reference, citation=TEXT, pmid=OPTIONAL, doi=OPTIONAL,
                                pmcid=OPTIONAL)),
    status=OPTIONAL,
    date_revised=ISO_DATES,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(RECORDS, min_size=0, max_size=3))
def test_write_then_read_gives_the_same_records(records: list[PaperRecord]) -> None:
    assert roundtrip(records) == records
