"""PubMed EFetch XML (``PubmedArticleSet``) to :class:`~evtrack.records.PaperRecord` and back.

Reading streams: one ``PubmedArticle`` is built, turned into a record, yielded and cleared, so
memory stays flat however large the file. Parsing follows defusedxml's policy: a document that
declares entities (billion laughs, external entities) is refused, never expanded or fetched.
Anything that is not a usable record set (NCBI's HTML error page, an ``<ERROR>`` body, another
E-utility's answer, truncated XML) raises :class:`~evtrack.errors.RecordParseError`, never an
empty result.

Writing produces EFetch-shaped XML that reads back into equal records (the bundled snapshot and
the benchmark data are made this way).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NoReturn
from xml.etree.ElementTree import Element, SubElement, TreeBuilder, tostring
from xml.parsers import expat as pyexpat

from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

from evtrack.errors import RecordParseError
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

__all__ = ["iter_records", "parse_records", "write_records"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.lower(): i for i, name in enumerate(_MONTHS, 1)}
_YEAR_RE = re.compile(r"\d{4}")
_PMID_RE = re.compile(r"[1-9][0-9]{0,8}")
_ISO_DATE_RE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
_MATHML = "http://www.w3.org/1998/Math/MathML}"  # expat's "uri}local" form of MathML tags
_MATH_TOKENS = frozenset({"mi", "mn", "mo", "mtext", "ms"})
_MATH_SKIPPED = frozenset({"annotation", "annotation-xml"})  # alternative encodings (TeX, …)
_WATCHED = frozenset({"PubmedArticle", "PubmedBookArticle", "ERROR"})
_CHUNK = 64 * 1024
_INVALID_TOKEN = pyexpat.errors.codes[pyexpat.errors.XML_ERROR_INVALID_TOKEN]
_HEAD_BYTES = 2048  # how much of the input is kept to recognise an HTML page after a failure
_FOREIGN_SCAN_BYTES = 256 * 1024  # how far another root is read looking for NCBI's <ERROR>
_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)


# --------------------------------------------------------------------------- reading


def iter_records(source: str | os.PathLike[str] | BinaryIO) -> Iterator[PaperRecord]:
    """Stream the journal articles of a PubMed EFetch XML file, one record at a time.

    ``source`` is a path or a binary file-like object. ``PubmedBookArticle`` entries are
    skipped. Records before a corruption further on may already have been yielded, but the
    corruption is always raised as :class:`RecordParseError` (never a silent stop).

    >>> for record in iter_records("pubmed2.xml"):  # doctest: +SKIP
    ...     print(record.pmid, record.doi)
    """
    if isinstance(source, str | os.PathLike):
        return _iter_path(os.fspath(source))
    return _iter_stream(source, _stream_label(source))


def parse_records(data: bytes) -> list[PaperRecord]:
    """All records of an in-memory EFetch answer (see :func:`iter_records`)."""
    return list(_iter_stream(io.BytesIO(data), f"PubMed XML data ({len(data)} bytes)"))


def _iter_path(path: str) -> Iterator[PaperRecord]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below, also when abandoned early
    except OSError as exc:
        raise RecordParseError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        yield from _iter_stream(stream, path)


def _stream_label(stream: BinaryIO) -> str:
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) else "PubMed XML stream"


# defusedxml's own handlers, with its exception types (expat's callback signatures).
def _forbid_entity(name: str, _is_param: bool, value: str | None, base: str | None,
                   sysid: str | None, pubid: str | None, notation: str | None) -> NoReturn:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed_entity(name: str, base: str | None, sysid: str | None,
                            pubid: str | None, notation: str | None) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None,
                     pubid: str | None) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _iter_stream(stream: BinaryIO, label: str) -> Iterator[PaperRecord]:
    # defusedxml's policy (entity declarations and external references refused, DOCTYPE
    # allowed) on a bare expat parser feeding the C TreeBuilder. defusedxml.ElementTree's
    # iterparse applies the same policy through the pure-Python XMLParser, which measured
    # 1.8x slower on whole records.
    parser = pyexpat.ParserCreate(None, "}")  # namespaces on: tags are "uri}local"
    builder = TreeBuilder()
    build_start, build_end = builder.start, builder.end
    opened: list[Element] = []  # the root element, once it has started
    finished: list[Element] = []  # watched elements completed by the last chunk (other roots)

    def start_root(tag: str, attrs: dict[str, str]) -> Element:
        elem = build_start(tag, attrs)
        opened.append(elem)
        if tag == "PubmedArticleSet":
            # From here on expat calls the C TreeBuilder directly: no Python frame per
            # element, the main cost of parsing. Finished articles are found as the root's
            # children instead (every child but the last is complete).
            parser.StartElementHandler = build_start
            parser.EndElementHandler = build_end
        else:
            parser.StartElementHandler = build_start
            parser.EndElementHandler = end_watched
        return elem

    def end_watched(tag: str) -> None:
        elem = build_end(tag)
        if tag in _WATCHED:
            finished.append(elem)

    def skipped_entity(name: str, _is_param: bool) -> NoReturn:
        # Reached when a DOCTYPE names an external DTD: expat then leaves &name; to it.
        raise RecordParseError(
            f"{label}: undefined entity &{name}; at line {parser.CurrentLineNumber}; "
            "PubMed XML only uses numeric character references: this is not an EFetch answer"
        )

    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    parser.StartElementHandler = start_root
    parser.EndElementHandler = end_watched
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
    parser.ExternalEntityRefHandler = _forbid_external
    parser.SkippedEntityHandler = skipped_entity

    head = b""
    scanned = articles = 0
    fault: pyexpat.ExpatError | None = None
    try:
        while True:
            chunk = stream.read(_CHUNK)
            if not head and isinstance(chunk, bytes):
                head = chunk[:_HEAD_BYTES]
            try:
                parser.Parse(chunk, not chunk)  # an empty read is the end: expat checks closure
            except pyexpat.ExpatError as exc:
                fault = exc  # raised below, once the articles completed before it are out
            if opened:
                root = opened[0]
                if _local(root.tag).lower() == "html":
                    raise RecordParseError(_html_message(label))
                if root.tag == "PubmedArticleSet":
                    # The last child may still be growing, unless the document has ended.
                    done = len(root) - 1 if chunk else len(root)
                    if fault is not None:
                        done = len(root) - (not _last_child_closed(builder, root))
                    finished.extend(root[:done])
                    del root[:done]  # detach what is read: memory stays flat
                for elem in finished:
                    tag = elem.tag
                    if tag == "PubmedArticle":
                        articles += 1
                        yield _record(elem, label, articles)
                        elem.clear()
                    elif tag == "ERROR" and (message := _text(elem)):  # ESpell sends <ERROR/>
                        raise RecordParseError(
                            f"{label}: NCBI answered with an error instead of records: "
                            f"{message!r}; check the request (ids, db, WebEnv/query_key), retry"
                        )
                    # A PubmedBookArticle is a book chapter, not a journal article: dropped.
                finished.clear()
                if root.tag != "PubmedArticleSet":
                    root.clear()
                    # Read on a little: NCBI puts its <ERROR> inside other roots.
                    scanned += len(chunk)
                    if scanned > _FOREIGN_SCAN_BYTES:
                        break
            if fault is not None:
                raise fault
            if not chunk:
                break
    except pyexpat.ExpatError as exc:
        if not opened and _looks_like_html(head):
            raise RecordParseError(_html_message(label)) from None
        what = "is truncated or corrupted XML" if opened else "is empty or not XML"
        reason = pyexpat.ErrorString(exc.code)
        if exc.code == _INVALID_TOKEN:
            reason += ", e.g. bytes that are not UTF-8"
        raise RecordParseError(
            f"{label} {what} (line {exc.lineno}, column {exc.offset}: {reason}); "
            "the download was probably cut short or damaged: fetch it again"
        ) from None
    except DefusedXmlException as exc:
        raise RecordParseError(
            f"{label}: the document declares XML entities or external references ({exc}), "
            "which PubMed XML never does; refused to expand or fetch them. Do not use this file"
        ) from None
    root_tag = opened[0].tag if opened else ""
    if root_tag != "PubmedArticleSet":
        raise RecordParseError(
            f"{label}: expected PubMed EFetch XML (root <PubmedArticleSet>) but the root is "
            f"<{_local(root_tag)}>; fetch with db=pubmed and retmode=xml"
        )


def _last_child_closed(builder: TreeBuilder, root: Element) -> bool:
    """After a parse fault: was the root's last child complete? TreeBuilder.end() closes the
    innermost open element and returns it; that is the root only if nothing below is open."""
    try:
        return builder.end(root.tag) is root
    except IndexError:  # the root itself was closed already (junk after the document)
        return True


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:512].lower()
    return start.startswith(b"<!doctype html") or b"<html" in start


def _html_message(label: str) -> str:
    return (
        f"{label} is an HTML page, not PubMed XML (NCBI error page?); NCBI sometimes answers "
        "HTTP 200 with one when overloaded: retry later, and check the ids and parameters"
    )


def _norm(text: str | None) -> str | None:
    """Collapse whitespace runs; empty text is None (an absent value)."""
    if not text:
        return None
    return " ".join(text.split()) or None


def _text(elem: Element) -> str:
    """Element text with inline markup (<i>, <sup>, MathML, …) flattened, whitespace collapsed."""
    if not len(elem):  # the common case: plain text, no children
        return " ".join(elem.text.split()) if elem.text else ""
    parts: list[str] = []
    _collect(elem, parts)
    return " ".join("".join(parts).split())


def _collect(elem: Element, out: list[str]) -> None:
    # Inline HTML joins without spaces ("p<sub>trend</sub>" -> "ptrend"), as it is displayed.
    if elem.text:
        out.append(elem.text)
    for child in elem:
        if child.tag.startswith(_MATHML):
            _collect_math(child, out)
        else:
            _collect(child, out)
        if child.tail:
            out.append(child.tail)


def _collect_math(elem: Element, out: list[str]) -> None:
    # In MathML only token elements carry text; the whitespace between elements is layout
    # (NCBI pretty-prints it), so it is dropped: <mi>V</mi> <mi>O</mi> -> "VO".
    local = _local(elem.tag)
    if local in _MATH_TOKENS:
        raw = elem.text or ""
        out.append(raw.strip() or (" " if raw else ""))  # <mtext> </mtext> is a real space
        return
    if local in _MATH_SKIPPED:
        return
    children = list(elem)
    if local == "mmultiscripts":  # base, post-scripts, <mprescripts/>, pre-scripts: "3He"
        cut = next((i for i, c in enumerate(children) if _local(c.tag) == "mprescripts"), None)
        if cut is not None:
            children = children[cut + 1:] + children[:cut]
    for child in children:
        _collect_math(child, out)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _month(text: str | None) -> int | None:
    """``Jan``…``Dec`` (any case, full names too) or ``1``…``12``."""
    if not text:
        return None
    text = text.strip()
    number = _int(text) if text.isdigit() else _MONTH_NUMBER.get(text[:3].lower())
    return number if number is not None and 1 <= number <= 12 else None


def _day(text: str | None) -> int | None:
    day = _int(text)
    return day if day is not None and 1 <= day <= 31 else None


def _pub_date(elem: Element | None) -> PubDate:
    if elem is None:
        return PubDate()
    medline_date = _norm(elem.findtext("MedlineDate"))
    if medline_date is not None:  # free text such as "1998 Dec-1999 Jan": the year is its first
        found = _YEAR_RE.search(medline_date)
        return PubDate(year=int(found.group()) if found else None, medline_date=medline_date)
    year = _int(elem.findtext("Year"))
    if year is None:
        return PubDate()
    # Only the shapes the DTD allows (Year, Month?, Day?) | (Year, Season), so that every
    # record read can be written back.
    month = _month(elem.findtext("Month"))
    if month is None:
        return PubDate(year=year, season=_norm(elem.findtext("Season")))
    return PubDate(year=year, month=month, day=_day(elem.findtext("Day")))


def _iso_date(elem: Element | None) -> str | None:
    if elem is None:
        return None
    year = _int(elem.findtext("Year"))
    if year is None:
        return None
    month = _month(elem.findtext("Month"))
    day = _day(elem.findtext("Day")) if month else None
    return "-".join([f"{year:04d}", *(f"{v:02d}" for v in (month, day) if v)])


def _author(elem: Element) -> Author:
    last = fore = initials = collective = orcid = None
    affiliations: list[str] = []
    for child in elem:  # one pass over a handful of children
        tag = child.tag
        if tag == "LastName":
            last = _norm(child.text)
        elif tag == "ForeName":
            fore = _norm(child.text)
        elif tag == "Initials":
            initials = _norm(child.text)
        elif tag == "AffiliationInfo":
            for aff in child.iter("Affiliation"):
                if text := _text(aff):
                    affiliations.append(text)
        elif tag == "CollectiveName":
            collective = _text(child) or None
        elif tag == "Affiliation":  # DTDs of 2013 and before: directly under Author
            if text := _text(child):
                affiliations.append(text)
        elif tag == "Identifier" and child.get("Source") == "ORCID":
            orcid = _norm(child.text)
    return Author(last, fore, initials, collective, tuple(affiliations), orcid)


def _article_ids(id_list: Element | None) -> tuple[str | None, str | None, str | None,
                                                  list[tuple[str, str]]]:
    """(pmid, doi, pmcid, other ids) of an ArticleIdList.

    The first doi and pmc win and a repeated one goes to the others; pubmed ids beyond the
    first are dropped (the record's own PMID is already known).
    """
    pmid = doi = pmcid = None
    others: list[tuple[str, str]] = []
    if id_list is not None:
        for item in id_list.iter("ArticleId"):
            kind, value = item.get("IdType") or "", _norm(item.text)
            if value is None:
                continue
            if kind == "pubmed" and pmid is None:
                pmid = value
            elif kind == "doi" and doi is None:
                doi = value
            elif kind == "pmc" and pmcid is None:
                pmcid = value
            elif kind != "pubmed":
                others.append((kind, value))
    return pmid, doi, pmcid, others


def _reference(ref: Element) -> Reference:
    """A Reference: :func:`_article_ids` of its ArticleIdList without the other ids."""
    pmid = doi = pmcid = None
    id_list = ref.find("ArticleIdList")
    if id_list is not None:
        for item in id_list.iter("ArticleId"):
            kind = item.get("IdType")
            if kind == "pubmed":
                if pmid is None:
                    pmid = _norm(item.text)
            elif kind == "doi":
                if doi is None:
                    doi = _norm(item.text)
            elif kind == "pmc" and pmcid is None:
                pmcid = _norm(item.text)
    cite = ref.find("Citation")
    return Reference(_text(cite) if cite is not None else "", pmid, doi, pmcid)


def _mesh(heading: Element) -> MeshHeading | None:
    """A MeshHeading (its first DescriptorName, its QualifierNames in order), or None for a
    heading without a descriptor; one pass over the heading's children."""
    descriptor = None
    qualifiers = []
    for child in heading:
        tag = child.tag
        if tag == "DescriptorName":
            if descriptor is None:
                descriptor = child
        elif tag == "QualifierName":
            qualifiers.append(MeshQualifier(_text(child), _norm(child.get("UI")),
                                            child.get("MajorTopicYN") == "Y"))
    if descriptor is None:
        return None
    return MeshHeading(_text(descriptor), _norm(descriptor.get("UI")),
                       descriptor.get("MajorTopicYN") == "Y", tuple(qualifiers))


def _under(parent: Element, child: str, grandchild: str) -> list[Element]:
    """``parent.iterfind("child/grandchild")`` through findall's C fast path (iterfind always
    goes through the pure-Python ElementPath, a fifth of the time spent on a record)."""
    return [g for c in parent.findall(child) for g in c.findall(grandchild)]


def _record(article: Element, label: str, number: int) -> PaperRecord:
    citation = article.find("MedlineCitation")
    pmid = _norm(citation.findtext("PMID")) if citation is not None else None
    if citation is None or pmid is None:
        raise RecordParseError(
            f"{label}: PubmedArticle #{number} has no PMID; the file is damaged: fetch it again"
        )
    if not _PMID_RE.fullmatch(pmid):  # it becomes the paper's key: never store a non-PMID
        raise RecordParseError(f"{label}: PubmedArticle #{number} has PMID {pmid[:40]!r}, which "
                               "is not a PubMed id (digits, no leading zero): not PubMed XML")
    art = citation.find("Article")
    if art is None:
        art = Element("Article")  # an empty stand-in keeps the lookups below uniform
    journal = art.find("Journal")
    if journal is None:
        journal = Element("Journal")
    issue = journal.find("JournalIssue")
    if issue is None:
        issue = Element("JournalIssue")

    title_elem = art.find("ArticleTitle")
    sections = tuple(
        AbstractSection(_text(a), _norm(a.get("Label")), _norm(a.get("NlmCategory")))
        for a in _under(art, "Abstract", "AbstractText")
    )
    pagination = art.find("Pagination")
    pages = None
    if pagination is not None:
        pages = _norm(pagination.findtext("MedlinePgn"))
        if pages is None:
            start = _norm(pagination.findtext("StartPage"))
            end = _norm(pagination.findtext("EndPage"))
            pages = f"{start}-{end}" if start and end else start

    authors = [
        _author(a) for a in _under(art, "AuthorList", "Author")
        if a.get("ValidYN") != "N"  # an invalid (superseded) spelling, not an extra author
    ]
    old_affiliation = _norm(art.findtext("Affiliation"))
    if old_affiliation and authors and not authors[0].affiliations:
        # Before 2014 one Article/Affiliation held the first author's affiliation; NLM moved it
        # there when it introduced AffiliationInfo, and so do we.
        first = authors[0]
        authors[0] = Author(first.last_name, first.fore_name, first.initials,
                            first.collective_name, (old_affiliation,), first.orcid)

    pubmed_data = article.find("PubmedData")
    _, doi, pmcid, other_ids = _article_ids(
        pubmed_data.find("ArticleIdList") if pubmed_data is not None else None)
    if doi is None:
        for eloc in art.findall("ELocationID"):
            if eloc.get("EIdType") == "doi" and eloc.get("ValidYN") != "N":
                doi = _norm(eloc.text)
                break

    # iter() also reaches nested ReferenceLists and every one of several lists.
    references = (tuple(map(_reference, pubmed_data.iter("Reference")))
                  if pubmed_data is not None else ())
    mesh = tuple(m for m in map(_mesh, _under(citation, "MeshHeadingList", "MeshHeading"))
                 if m is not None)

    return PaperRecord(
        pmid=pmid,
        title=_text(title_elem) if title_elem is not None else "",
        abstract_sections=sections,
        journal=_norm(journal.findtext("Title")),
        journal_iso=_norm(journal.findtext("ISOAbbreviation")),
        volume=_norm(issue.findtext("Volume")),
        issue=_norm(issue.findtext("Issue")),
        pages=pages,
        pub_date=_pub_date(issue.find("PubDate")),
        authors=tuple(authors),
        doi=doi,
        pmcid=pmcid,
        other_ids=tuple(other_ids),
        language=_norm(art.findtext("Language")),
        mesh=mesh,
        publication_types=tuple(
            PublicationType(_text(p), _norm(p.get("UI")))
            for p in _under(art, "PublicationTypeList", "PublicationType")
        ),
        keywords=tuple(
            filter(None, map(_text, _under(citation, "KeywordList", "Keyword")))
        ),
        corrections=tuple(
            Correction(_norm(c.get("RefType")) or "", _norm(c.findtext("RefSource")),
                       _norm(c.findtext("PMID")))
            for c in _under(citation, "CommentsCorrectionsList", "CommentsCorrections")
        ),
        references=references,
        status=_norm(citation.get("Status")),
        date_revised=_iso_date(citation.find("DateRevised")),
    )


# --------------------------------------------------------------------------- writing


def write_records(records: Iterable[PaperRecord], stream: BinaryIO) -> int:
    """Write records as PubMed EFetch XML (2025 DTD) to a binary stream; return how many.

    Every :class:`PaperRecord` field is written, so :func:`iter_records` reads back equal
    records, for records shaped as the parser makes them: whitespace collapsed, absent values
    as None rather than "". Titles and abstracts are plain text (the parser flattens markup).
    Attributes a record does not keep (``Owner``, ``PubModel``, …) are left out rather than
    invented. A ``pub_date`` that PubMed XML cannot express (a month without a year, a season
    with a month, a ``medline_date`` together with other parts) raises ``ValueError``.
    """
    stream.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(_DOCTYPE.encode("ascii") + b"\n<PubmedArticleSet>\n")
    count = 0
    for record in records:  # one element tree per record: memory stays flat
        stream.write(tostring(_article_element(record), encoding="utf-8",
                              xml_declaration=False))
        stream.write(b"\n")
        count += 1
    stream.write(b"</PubmedArticleSet>\n")
    return count


def _sub(parent: Element, tag: str, text: str | None = None, **attrs: str | None) -> Element:
    elem = SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    elem.text = text
    return elem


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _check_pub_date(record: PaperRecord) -> None:
    d = record.pub_date
    if d.medline_date is not None:
        found = _YEAR_RE.search(d.medline_date)
        ok = (d.month, d.day, d.season) == (None, None, None) and d.year == (
            int(found.group()) if found else None)
    elif d.year is None:
        ok = (d.month, d.day, d.season) == (None, None, None)
    elif d.month is None:
        ok = d.day is None
    else:
        ok = d.season is None and 1 <= d.month <= 12 and (d.day is None or 1 <= d.day <= 31)
    if not ok:
        raise ValueError(f"PMID {record.pmid}: {d} cannot be written as a PubMed PubDate")


def _write_date(parent: Element, tag: str, iso: str) -> None:
    if not _ISO_DATE_RE.fullmatch(iso):
        raise ValueError(f"{tag} {iso!r} is not an ISO date (YYYY[-MM[-DD]])")
    date = _sub(parent, tag)
    for name, part in zip(("Year", "Month", "Day"), iso.split("-"), strict=False):
        _sub(date, name, part)


def _write_ids(parent: Element, pmid: str | None, doi: str | None, pmcid: str | None,
               others: Iterable[tuple[str, str]] = ()) -> None:
    pairs = [("pubmed", pmid), ("doi", doi), ("pmc", pmcid), *others]
    if any(value is not None for _, value in pairs):
        id_list = _sub(parent, "ArticleIdList")
        for kind, value in pairs:
            if value is not None:
                _sub(id_list, "ArticleId", value, IdType=kind)


def _article_element(r: PaperRecord) -> Element:
    if not r.pmid:
        raise ValueError("a record without a PMID cannot be written")
    _check_pub_date(r)
    article = Element("PubmedArticle")
    citation = _sub(article, "MedlineCitation", Status=r.status)
    _sub(citation, "PMID", r.pmid, Version="1")
    if r.date_revised is not None:
        _write_date(citation, "DateRevised", r.date_revised)

    art = _sub(citation, "Article")
    journal = _sub(art, "Journal")
    issue = _sub(journal, "JournalIssue")
    for tag, value in (("Volume", r.volume), ("Issue", r.issue)):
        if value is not None:
            _sub(issue, tag, value)
    d = r.pub_date
    pub_date = _sub(issue, "PubDate")
    if d.medline_date is not None:
        _sub(pub_date, "MedlineDate", d.medline_date)
    elif d.year is not None:
        _sub(pub_date, "Year", str(d.year))
        if d.month:
            _sub(pub_date, "Month", _MONTHS[d.month - 1])
            if d.day:
                _sub(pub_date, "Day", f"{d.day:02d}")
        elif d.season:
            _sub(pub_date, "Season", d.season)
    for tag, value in (("Title", r.journal), ("ISOAbbreviation", r.journal_iso)):
        if value is not None:
            _sub(journal, tag, value)
    _sub(art, "ArticleTitle", r.title)
    if r.pages is not None:
        _sub(_sub(art, "Pagination"), "MedlinePgn", r.pages)
    if r.abstract_sections:
        abstract = _sub(art, "Abstract")
        for s in r.abstract_sections:
            _sub(abstract, "AbstractText", s.text, Label=s.label, NlmCategory=s.category)
    if r.authors:
        author_list = _sub(art, "AuthorList", CompleteYN="Y")
        for a in r.authors:
            author = _sub(author_list, "Author", ValidYN="Y")
            for tag, value in (("LastName", a.last_name), ("ForeName", a.fore_name),
                               ("Initials", a.initials), ("CollectiveName", a.collective_name)):
                if value is not None:
                    _sub(author, tag, value)
            if a.orcid is not None:
                _sub(author, "Identifier", a.orcid, Source="ORCID")
            for affiliation in a.affiliations:
                _sub(_sub(author, "AffiliationInfo"), "Affiliation", affiliation)
    if r.language is not None:
        _sub(art, "Language", r.language)
    types = _sub(art, "PublicationTypeList")
    for p in r.publication_types:
        _sub(types, "PublicationType", p.name, UI=p.ui)

    if r.corrections:
        corrections = _sub(citation, "CommentsCorrectionsList")
        for c in r.corrections:
            entry = _sub(corrections, "CommentsCorrections", RefType=c.ref_type)
            if c.source is not None:
                _sub(entry, "RefSource", c.source)
            if c.pmid is not None:
                _sub(entry, "PMID", c.pmid, Version="1")
    if r.mesh:
        mesh = _sub(citation, "MeshHeadingList")
        for m in r.mesh:
            heading = _sub(mesh, "MeshHeading")
            _sub(heading, "DescriptorName", m.descriptor, UI=m.descriptor_ui,
                 MajorTopicYN=_yn(m.major))
            for q in m.qualifiers:
                _sub(heading, "QualifierName", q.name, UI=q.ui, MajorTopicYN=_yn(q.major))
    if r.keywords:
        keywords = _sub(citation, "KeywordList")
        for k in r.keywords:
            _sub(keywords, "Keyword", k, MajorTopicYN="N")

    pubmed_data = _sub(article, "PubmedData")
    _write_ids(pubmed_data, r.pmid, r.doi, r.pmcid, r.other_ids)
    if r.references:
        ref_list = _sub(pubmed_data, "ReferenceList")
        for ref in r.references:
            entry = _sub(ref_list, "Reference")
            _sub(entry, "Citation", ref.citation)
            _write_ids(entry, ref.pmid, ref.doi, ref.pmcid)
    return article
