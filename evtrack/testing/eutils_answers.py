"""The bodies the E-utilities stand-in answers with, as NCBI shapes them.

Pure functions of a request's parameters and a record corpus (an
:class:`~evtrack.offline.OfflineSource`, which already evaluates PubMed queries with
:mod:`evtrack.querylang` and answers links and citation matches from the records' own fields).
A request NCBI would refuse becomes an :class:`AnswerError`, which the server sends the way
NCBI does: HTTP 200 with ``<ERROR>`` inside the utility's root element.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

from evtrack.errors import EvtrackError
from evtrack.offline import OfflineSource
from evtrack.pubmed_xml import write_records
from evtrack.records import CitationQuery
from evtrack.sources import LINK_CITEDIN, LINK_REFS

Params = dict[str, list[str]]

#: ESearch lists at most the first 10,000 ids of a result (``retstart`` + ``retmax``).
ESEARCH_LIMIT = 10_000

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" ?>\n'
DOCTYPES = {
    "eSearchResult": '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
                     '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">',
    "eLinkResult": '<!DOCTYPE eLinkResult PUBLIC "-//NLM//DTD elink 20101123//EN" '
                   '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20101123/elink.dtd">',
    "eInfoResult": '<!DOCTYPE eInfoResult PUBLIC "-//NLM//DTD einfo 20190110//EN" '
                   '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20190110/einfo.dtd">',
}
#: The root element an ``<ERROR>`` answer comes wrapped in, per utility.
ERROR_ROOTS = {"esearch": "eSearchResult", "efetch": "eFetchResult", "elink": "eLinkResult",
               "einfo": "eInfoResult", "ecitmatch": "eCitMatchResult"}
_DATE = re.compile(r"(\d{4})(?:/(\d{1,2})(?:/(\d{1,2}))?)?")
_LINK_NAMES = (LINK_REFS, LINK_CITEDIN)


class AnswerError(Exception):
    """A request NCBI answers with an ``<ERROR>`` message (bad db, empty id list, …)."""


def one(params: Params, name: str, default: str | None = None) -> str | None:
    """The last value of a parameter (NCBI, like most CGI code, takes the last one)."""
    values = params.get(name)
    return values[-1] if values else default


def number(params: Params, name: str, default: int) -> int:
    value = one(params, name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise AnswerError(f"Invalid {name}: {value!r}")
    return int(value)


def check_db(params: Params, name: str = "db") -> None:
    db = one(params, name, "pubmed")
    if db != "pubmed":
        raise AnswerError(f"Invalid db name specified: {db}")


def error_body(utility: str, message: str) -> bytes:
    root = ERROR_ROOTS.get(utility, "eResult")
    return (f"{XML_DECLARATION}<{root}><ERROR>{escape(message)}</ERROR></{root}>\n").encode()


def _doc(root: str, inner: str) -> bytes:
    return f"{XML_DECLARATION}{DOCTYPES[root]}\n<{root}>{inner}</{root}>\n".encode()


def _parse_date(value: str | None, *, last: bool) -> date | None:
    if not value:
        return None
    found = _DATE.fullmatch(value.strip())
    if not found:
        raise AnswerError(f"Invalid date: {value!r} (expected YYYY, YYYY/MM or YYYY/MM/DD)")
    year, month, day = (int(g) if g else None for g in found.groups())
    assert year is not None
    if month is None:
        month = 12 if last else 1
    if day is None:
        day = 1
        if last:  # the last day of that month
            day = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, day)


# -- ESearch ------------------------------------------------------------------------------------


def search_pmids(corpus: OfflineSource, params: Params) -> tuple[str, ...]:
    """Every PMID matching the request's term and date range, newest first, as PubMed lists."""
    check_db(params)
    term = one(params, "term", "") or ""
    if not term.strip():
        raise AnswerError("Empty term and query_key - nothing todo")
    lo = _parse_date(one(params, "mindate"), last=False)
    hi = _parse_date(one(params, "maxdate"), last=True)
    datetype = one(params, "datetype", "pdat") or "pdat"
    try:
        return corpus.search(term, mindate=lo, maxdate=hi, datetype=datetype).pmids
    except EvtrackError as exc:  # a query the local evaluator cannot (or will not) answer
        raise AnswerError(f"Search Backend failed: {exc}") from None


def esearch_body(term: str, pmids: Sequence[str], retstart: int, retmax: int,
                 history: tuple[str, int] | None) -> bytes:
    if retstart >= ESEARCH_LIMIT:
        raise AnswerError(f"Search Backend failed: Exception:\n'retstart' cannot be larger than "
                          f"{ESEARCH_LIMIT - 2}. For PubMed, ESearch can only retrieve the first "
                          f"{ESEARCH_LIMIT - 1} records matching the query.")
    shown = pmids[retstart:retstart + min(retmax, ESEARCH_LIMIT - retstart)]
    parts = [f"<Count>{len(pmids)}</Count><RetMax>{len(shown)}</RetMax>"
             f"<RetStart>{retstart}</RetStart>"]
    if history is not None:
        parts.append(f"<QueryKey>{history[1]}</QueryKey><WebEnv>{escape(history[0])}</WebEnv>")
    parts.append("<IdList>\n" + "".join(f"<Id>{p}</Id>\n" for p in shown) + "</IdList>")
    parts.append(f"<TranslationSet/><QueryTranslation>{escape(term)}</QueryTranslation>")
    if not pmids:
        parts.append("<WarningList><OutputMessage>No items found.</OutputMessage></WarningList>")
    return _doc("eSearchResult", "".join(parts))


def empty_answer(utility: str) -> bytes:
    """A well-formed answer that lists nothing (the ``empty_set`` fault)."""
    if utility == "esearch":
        return esearch_body("", (), 0, 0, None)
    if utility == "efetch":
        return efetch_body(OfflineSource(()), ())
    if utility == "elink":
        return _doc("eLinkResult", "")
    return b""


# -- EFetch -------------------------------------------------------------------------------------


def requested_ids(params: Params) -> list[str]:
    """The ``id`` values of a request: repeated parameters and comma-joined lists alike."""
    ids = [p.strip() for value in params.get("id", []) for p in value.split(",") if p.strip()]
    bad = [p for p in ids if not p.isdigit()]
    if bad:
        raise AnswerError(f"Invalid uid {bad[0]} at position {ids.index(bad[0])}")
    return list(dict.fromkeys(ids))


def efetch_body(corpus: OfflineSource, pmids: Sequence[str]) -> bytes:
    """PubMed XML for the known ``pmids``, in request order; unknown ids are left out."""
    records = [r for r in corpus.fetch(list(pmids))]
    out = io.BytesIO()
    write_records(records, out)
    return out.getvalue()


def check_efetch_format(params: Params) -> None:
    check_db(params)
    retmode = one(params, "retmode", "xml")
    rettype = one(params, "rettype", "") or ""
    if retmode != "xml" or rettype not in ("", "xml", "abstract", "full", "medline_xml"):
        raise AnswerError(f"the evtrack stand-in answers EFetch with retmode=xml only, not "
                          f"retmode={retmode} rettype={rettype}")


# -- ELink --------------------------------------------------------------------------------------


def elink_body(corpus: OfflineSource, params: Params) -> bytes:
    """One LinkSet per ``id=`` parameter; a comma-joined parameter merges its ids' links."""
    check_db(params, "dbfrom")
    check_db(params, "db")
    cmd = one(params, "cmd", "neighbor")
    if cmd != "neighbor":
        raise AnswerError(f"the evtrack stand-in answers ELink cmd=neighbor only, not {cmd}")
    linkname = one(params, "linkname")
    names = _LINK_NAMES if not linkname else (linkname,)
    if not params.get("id"):
        raise AnswerError("Empty id list - nothing todo")
    sets = []
    for value in params["id"]:
        sources = requested_ids({"id": [value]})
        dbs = []
        for name in names:
            if name not in _LINK_NAMES:
                continue  # e.g. pubmed_pubmed (similar articles): not computed here
            linked: dict[str, None] = {}
            for ids in corpus.links(sources, name).values():
                linked.update(dict.fromkeys(ids))
            if linked:
                links = "".join(f"<Link><Id>{p}</Id></Link>"
                                for p in sorted(linked, key=int, reverse=True))
                dbs.append(f"<LinkSetDb><DbTo>pubmed</DbTo><LinkName>{escape(name)}</LinkName>"
                           f"{links}</LinkSetDb>")
        id_list = "".join(f"<Id>{p}</Id>" for p in sources)
        sets.append(f"\n<LinkSet><DbFrom>pubmed</DbFrom><IdList>{id_list}</IdList>"
                    f"{''.join(dbs)}</LinkSet>")
    return _doc("eLinkResult", "".join(sets) + "\n")


# -- ECitMatch ----------------------------------------------------------------------------------


def ecitmatch_body(corpus: OfflineSource, params: Params) -> bytes:
    """One answer line per ``bdata`` citation: the fields echoed, then a PMID or NOT_FOUND."""
    check_db(params)
    bdata = one(params, "bdata", "") or ""
    lines = [line for line in re.split(r"[\r\n]+", bdata) if line.strip()]
    queries: list[CitationQuery] = []
    echoed: list[tuple[str, str | None]] = []  # the line's fields as sent, and our query key
    for n, line in enumerate(lines):
        fields = line.split("|")
        if len(fields) < 6:
            echoed.append((line, None))
            continue
        journal, year, volume, page, author, _key = (f.strip() for f in fields[:6])
        echoed.append(("|".join(fields[:6]), f"q{n}"))
        queries.append(CitationQuery(key=f"q{n}", journal=journal,
                                     year=int(year) if year.isdigit() else None,
                                     volume=volume or None, first_page=page or None,
                                     author=author or None))
    answers = {m.key: m for m in corpus.match_citations(queries)} if queries else {}
    out = []
    for text, qkey in echoed:
        if qkey is None:
            out.append(f"{text}|NOT_FOUND;INVALID_FORMAT")
            continue
        match = answers[qkey]
        out.append(f"{text}|{match.pmid if match.pmid else match.status}")
    return ("\n".join(out) + "\n").encode()


# -- EInfo --------------------------------------------------------------------------------------


def einfo_body(corpus: OfflineSource, params: Params, build: str) -> bytes:
    db = one(params, "db")
    if not db:
        return _doc("eInfoResult", "\n<DbList>\n\t<DbName>pubmed</DbName>\n</DbList>\n")
    check_db(params)
    return _doc("eInfoResult", (
        "\n<DbInfo><DbName>pubmed</DbName><MenuName>PubMed</MenuName>"
        "<Description>PubMed bibliographic record (evtrack stand-in)</Description>"
        f"<DbBuild>{escape(build)}</DbBuild><Count>{len(corpus)}</Count>"
        f"<LastUpdate>{date.today():%Y/%m/%d} 00:00</LastUpdate></DbInfo>\n"))
