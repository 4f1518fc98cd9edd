"""PubMed query syntax evaluated offline: parser, canonical rendering, and the two evaluators.

The corpus below is invented for these tests; each record exists to pin one behaviour (a phrase
split across title and abstract, a major topic only through a qualifier, a date with no year …).
"""

from __future__ import annotations

import re
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evtrack.errors import QuerySyntaxError, UnsupportedQueryError
from evtrack.querylang import (
    And,
    DateRange,
    Node,
    Not,
    Or,
    Query,
    QueryIndex,
    Term,
    matches,
    parse_query,
    render,
)
from evtrack.records import (
    AbstractSection,
    Author,
    MeshHeading,
    MeshQualifier,
    PaperRecord,
    PubDate,
    PublicationType,
)
from evtrack.textindex import _holds, tokenize


def person(last: str, initials: str, fore: str) -> Author:
    return Author(last_name=last, initials=initials, fore_name=fore)


def pts(*names: str) -> tuple[PublicationType, ...]:
    return tuple(PublicationType(n) for n in names)


NEURO, NEURO_ISO = "Journal of Invented Neuroscience", "J Invent Neurosci"

CORPUS = (
    PaperRecord(
        pmid="101",
        title="Ketamine rapidly relieves depressive behaviour in stressed mice",
        abstract_sections=(
            AbstractSection("Ketamine is an NMDA-receptor antagonist.", label="BACKGROUND"),
            AbstractSection("One dose reduced immobility within hours.", label="RESULTS"),
        ),
        pub_date=PubDate(2011, 6, 15),
        authors=(person("Autry", "AE", "Anna E"), person("Monteggia", "LM", "Lisa M")),
        doi="10.1000/KET.2011.1",
        language="eng",
        mesh=(MeshHeading("Ketamine", major=True), MeshHeading("Depression"), MeshHeading("Mice")),
        publication_types=pts("Journal Article"),
        keywords=("rapid antidepressant", "NMDAR"),
        journal=NEURO,
        journal_iso=NEURO_ISO,
    ),
    PaperRecord(
        pmid="102",
        title="Hydroxynorketamine acts without N-methyl-D-aspartate receptor block",
        abstract_sections=(
            AbstractSection("(2R,6R)-HNK sustained antidepressant effects in rodents."),),
        journal="Invented Pharmacology Letters",
        journal_iso="Invent Pharmacol Lett",
        pub_date=PubDate(2016),
        authors=(person("Zanos", "P", "Panos"), Author(collective_name="Rodent Mood Study Group")),
        language="eng",
        mesh=(MeshHeading("Ketamine"), MeshHeading("Receptors, N-Methyl-D-Aspartate", major=True)),
        publication_types=pts("Journal Article", "Research Support, Non-U.S. Gov't"),
    ),
    PaperRecord(
        pmid="103",
        title="Brain-derived neurotrophic factor release after esketamine",
        abstract_sections=(
            AbstractSection("BDNF rose in cortical neurons exposed to esketamine."),),
        pub_date=PubDate(2013, 3),
        authors=(person("Müller", "K", "Katrin"), person("van der Berg", "J", "Jan")),
        language="ger",
        # a major topic only through its starred qualifier
        mesh=(MeshHeading("Brain-Derived Neurotrophic Factor",
                          qualifiers=(MeshQualifier("metabolism", major=True),)),),
        publication_types=pts("Review"),
        journal=NEURO,
        journal_iso=NEURO_ISO,
    ),
    PaperRecord(
        pmid="104",
        title="Aerobic exercise and depression in older adults",
        abstract_sections=(
            AbstractSection("Depression scores fell after twelve weeks of exercise."),),
        journal="Geriatric Invented Review",
        pub_date=PubDate(2010, 12, 31),
        authors=(person("Autry", "B", "Ben"),),
        language="fre",
        mesh=(MeshHeading("Depressive Disorder, Major", major=True), MeshHeading("Exercise")),
        publication_types=pts("Randomized Controlled Trial"),
        keywords=("physical activity",),
    ),
    PaperRecord(
        pmid="105",
        title="Retraction notice: ketamine and working memory",
        pub_date=PubDate(2015, 1, 1),
        language="eng",
        publication_types=pts("Retraction of Publication"),
    ),
    PaperRecord(  # no publication date at all: never matches [dp]
        pmid="106",
        title="Anaesthesia with ketamine in children",
        abstract_sections=(AbstractSection("Children received ketamine before minor surgery."),),
        mesh=(MeshHeading("Anesthesia"),),
        publication_types=pts("Journal Article"),
    ),
    PaperRecord(
        pmid="107",
        title="Depression, inflammation and the immune system: an overview",
        journal="Neuroimmunology Invented Reports",
        # year only, and a MedlineDate running into the next year: covers 2009-01-01..2010-12-31
        pub_date=PubDate(2009, medline_date="2009 Dec-2010 Jan"),
        mesh=(MeshHeading("Depression", major=True), MeshHeading("Inflammation")),
        publication_types=pts("Review"),
    ),
    PaperRecord(
        pmid="108",
        title="Sjögren syndrome and low mood",
        abstract_sections=(
            AbstractSection("Patients with Sjögren's syndrome reported low mood and fatigue."),),
        journal="Invented Rheumatology",
        pub_date=PubDate(2012, 2),
        authors=(person("Pérez", "MJ", "María José"),),
        language="spa",
        mesh=(MeshHeading("Sjogren's Syndrome"),),
    ),
)
ALL = {r.pmid for r in CORPUS}


@pytest.fixture(scope="module")
def index() -> QueryIndex:
    return QueryIndex(CORPUS)


def ids(*pmids: int) -> set[str]:
    return {str(p) for p in pmids}


SEARCHES = [
    # fields and their long forms
    ("ketamine[tiab]", ids(101, 105, 106)),
    ("ketamine[Title/Abstract]", ids(101, 105, 106)),
    ("ketamine[ti]", ids(101, 105, 106)),
    ("ketamine[ab]", ids(101, 106)),
    ("ketamine[Abstract]", ids(101, 106)),
    ("ketamine", ids(101, 102, 105, 106)),  # untagged = [all]: the MeSH of 102 too
    ("ketamine[mh]", ids(101, 102)),
    ("ketamine[MeSH Major Topic]", ids(101)),
    ("Receptors, N-Methyl-D-Aspartate[mh]", ids(102)),
    ('"receptors, n-methyl-d-aspartate"[MeSH Terms]', ids(102)),
    ("depression[mh]", ids(101, 107)),  # exact descriptor: not "Depressive Disorder, Major"
    ("depression[mh:noexp]", ids(101, 107)),
    ("depress*[mh]", ids(101, 104, 107)),
    ("depression[majr]", ids(107)),
    ("Brain-Derived Neurotrophic Factor[majr]", ids(103)),  # starred qualifier
    ("review[pt]", ids(103, 107)),
    ('"Randomized Controlled Trial"[Publication Type]', ids(104)),
    ("journal article[pt]", ids(101, 102, 106)),
    ("journal[pt]", set()),  # the whole type name, not a word of it
    ("retraction of publication[pt]", ids(105)),
    ("nmdar[ot]", ids(101)),
    ("antidepressant[ot]", ids(101)),
    ('"physical activity"[Other Term]', ids(104)),
    ("antidepressant[tw]", ids(101, 102)),
    ("review[tw]", ids(103, 107)),  # [tw] has no journal …
    ("review", ids(103, 104, 107)),  # … [all] has: "Geriatric Invented Review"
    ("reports[all]", ids(107)),
    ("reports[All Fields]", ids(107)),
    ('"J Invent Neurosci"[ta]', ids(101, 103)),
    ("journal of invented neuroscience[ta]", ids(101, 103)),
    ("invented[ta]", ids(101, 102, 103, 104, 107, 108)),
    ("pharmacology[Journal]", ids(102)),
    ("101[pmid]", ids(101)),
    ("102[uid]", ids(102)),
    ("999[pmid]", set()),
    ("10.1000/ket.2011.1[doi]", ids(101)),
    ("english[la]", ids(101, 102, 105)),
    ("ger[la]", ids(103)),
    ("French[Language]", ids(104)),
    # authors
    ("autry[au]", ids(101, 104)),
    ("autry ae[au]", ids(101)),
    ("Autry A[Author]", ids(101)),  # initials start with A
    ("autry b[au]", ids(104)),
    ("autry c[au]", set()),
    ("autry anna[au]", ids(101)),
    ("autr*[au]", ids(101, 104)),
    ("monteggia[au]", ids(101)),
    ("van der berg j[au]", ids(103)),
    ("van der berg[au]", ids(103)),
    ("van der[au]", set()),  # not the whole last name
    ("muller k[au]", ids(103)),  # diacritics folded
    ("Pérez MJ[au]", ids(108)),
    ("perez m[au]", ids(108)),
    ("zanos panos[au]", ids(102)),
    ("rodent mood study group[au]", ids(102)),
    ('"mood study"[au]', ids(102)),  # collective names match by phrase
    ("autry", ids(101, 104)),
    # phrases, tokens, truncation, diacritics
    ("NMDA-receptor[tiab]", ids(101)),
    ('"NMDA receptor"[tiab]', ids(101)),
    ('"receptor NMDA"[tiab]', set()),
    ('"N-methyl-D-aspartate"[tiab]', ids(102)),
    ('"(2R,6R)-HNK"[tiab]', ids(102)),
    ("brain derived neurotrophic factor[tiab]", ids(103)),
    ('"brain deriv*"[tiab]', ids(103)),
    ('"neurotrophic brain"[tiab]', set()),
    ('"mice ketamine"[tiab]', set()),  # title end + abstract start is no phrase
    ('"antagonist one"[ab]', set()),  # nor are two abstract sections
    ('"background ketamine"[ab]', set()),  # section labels are not abstract text
    ("ketamin*[tiab]", ids(101, 105, 106)),
    ("esket*[tiab]", ids(103)),
    ("sjögren[tiab]", ids(108)),
    ("SJOGREN[ti]", ids(108)),
    ("Sjögren's Syndrome[mh]", ids(108)),
    # operators, implicit AND, case of operators, strict left-to-right evaluation
    ("ketamine[tiab] AND depress*[tiab]", ids(101)),
    ("ketamine[tiab] OR exercise[tiab]", ids(101, 104, 105, 106)),
    ("ketamine[tiab] NOT mice[mh]", ids(105, 106)),
    ("ketamine[tiab] children[tiab]", ids(106)),
    ("ketamine AND children", ids(106)),
    ("ketamine and children", set()),  # "and" is a word, and 106 does not contain it
    ("exercise[tiab] OR ketamine[tiab] AND children[tiab]", ids(106)),
    ("exercise[tiab] OR (ketamine[tiab] AND children[tiab])", ids(104, 106)),
    ("children[tiab] AND ketamine[tiab] OR exercise[tiab]", ids(104, 106)),
    ("ketamine[tiab] NOT children[tiab] OR exercise[tiab]", ids(101, 104, 105)),
    ("ketamine[tiab] NOT (children[tiab] OR exercise[tiab])", ids(101, 105)),
    # dates: a record's date is the span it covers; it matches when the span overlaps
    ("2011[dp]", ids(101)),
    ("2010[dp]", ids(104, 107)),
    ("2010:2011[dp]", ids(101, 104, 107)),
    ("2009/06[dp]", ids(107)),
    ("2013/03[dp]", ids(103)),
    ("2013/03/15[dp]", ids(103)),  # month-only date covers the 15th
    ("2013/04:2014[dp]", set()),
    ("2016/06/01[dp]", ids(102)),  # year-only date
    ("2010/12/31[dp]", ids(104, 107)),
    ("2011/01:2011/06/14[dp]", set()),
    ("2011/01:2011/06/15[dp]", ids(101)),  # the end is inclusive
    ('"2015/01/01"[dp] : "2016/12/31"[dp]', ids(102, 105)),
    ("2015[Date - Publication]", ids(105)),
    ("2012/02/29[dp]", ids(108)),
    ("1000:3000[dp]", ALL - ids(106)),
    ("ketamine[tiab] AND 2000:2012[dp]", ids(101)),
    # realistic claim queries
    ('ketamine[tiab] AND (NMDA[tiab] OR "N-methyl-D-aspartate"[tiab] OR NMDAR[tiab]) '
     "AND (depress*[tiab] OR antidepress*[tiab])", ids(101)),
    ("(ketamine[tiab] OR esketamine[tiab] OR hydroxynorketamine[tiab]) "
     "AND (antidepress*[tiab] OR depress*[tiab])", ids(101, 102)),
    ('(BDNF[tiab] OR "brain-derived neurotrophic factor"[tiab]) AND esketamine[tiab] '
     "AND 2013[dp]", ids(103)),
    ("depression[mh] AND review[pt] NOT 2011:2020[dp]", ids(107)),
    ("depression[mh] AND review[pt] NOT 2010:2020[dp]", set()),  # 107 covers 2010 too
]


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search(index: QueryIndex, query: str, expected: set[str]) -> None:
    assert {r.pmid for r in CORPUS if matches(query, r)} == expected
    assert index.search(query) == expected


@pytest.mark.parametrize(("query", "canonical"), [
    ("ketamine[Title/Abstract]", "ketamine[tiab]"),
    ("ketamine  depression", "ketamine AND depression"),
    ("a OR b AND c", "a OR b AND c"),
    ("a OR (b AND c)", "a OR (b AND c)"),
    ("((a))", "a"),
    ("brain derived neurotrophic factor[TIAB]", '"brain derived neurotrophic factor"[tiab]'),
    ('"brain   deriv*"[ tiab ]', '"brain deriv*"[tiab]'),
    ('"2010/1/1"[dp] : "2015/12/31"[pdat]', "2010/01/01:2015/12/31[dp]"),
    ("2010:2010[dp]", "2010[dp]"),
    ("x[MeSH Terms:noexp]", "x[mh:noexp]"),
    ("x[MeSH Major Topic:noexp]", "x[majr:noexp]"),
    ("x[mesh]", "x[mh]"),
    ("x[Text Word]", "x[tw]"),
    ("x[All Fields]", "x[all]"),
    ("x[Publication Type]", "x[pt]"),
    ("x[Author]", "x[au]"),
    ("x[Title]", "x[ti]"),
    ("x[keyword]", "x[ot]"),
    ("eng[lang]", "eng[la]"),
    ("123[UID]", "123[pmid]"),
])
def test_canonical_form(query: str, canonical: str) -> None:
    parsed = parse_query(query)
    assert str(parsed) == canonical
    assert parse_query(canonical) == parsed


def test_ast_is_left_to_right() -> None:
    a, b, c = (Term(w) for w in "abc")
    assert parse_query("a OR b AND c").root == And(Or(a, b), c)
    assert parse_query("a NOT b OR c").root == Or(Not(a, b), c)
    assert parse_query("a b c").root == And(And(a, b), c)
    assert parse_query("a OR (b AND c)").root == Or(a, And(b, c))


def test_ast_of_terms() -> None:
    assert parse_query("ketamin*[tiab]").root == Term("ketamin", "tiab", False, True)
    assert parse_query('"NMDA receptor"').root == Term("NMDA receptor", None, True, False)
    assert parse_query("autry ae[au]").root == Term("autry ae", "au", True, False)
    assert parse_query("2010/06:2012/03/15[dp]").root == DateRange("2010/06", "2012/03/15")
    assert parse_query("2010[dp]").root == DateRange("2010", "2010")


@pytest.mark.parametrize(("query", "part"), [
    ("humans[filter]", "unsupported field tag [filter]"),
    ("ketamine[sb]", "[sb]"),
    ("ketamine[ad]", "[ad]"),
    ("2020[edat]", "[edat]"),
    ('"ketamine depression"[tiab:~3]', "proximity search [tiab:~3]"),
    ("#1 AND ketamine[tiab]", "history reference #1"),
    ("ket*mine[tiab]", "ket*mine"),
    ('"colo* cancer*"[tiab]', "colo* cancer*"),
    ("depression/drug therapy[mh]", "subheading '/drug therapy'"),
    ("ketamine[sh]", "[sh]"),
    ("ketamine[MeSH Subheading]", "[MeSH Subheading]"),
    ("ketamine[mesh:subheading]", "[mesh:subheading]"),
    ("(ketamine OR esketamine)[tiab]", "[tiab] after a parenthesised group"),
    ("2010 Jun[dp]", "2010 Jun"),
    ("klingon[la]", "klingon"),
    ("1010*[pmid]", "truncation in [pmid]"),
    ("hasabstract", "hasabstract"),
])
def test_unsupported_names_the_part(query: str, part: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=re.escape(part)):
        parse_query(query)


@pytest.mark.parametrize(("query", "part"), [
    ("", "empty query"),
    ("   ", "empty query"),
    ("(ketamine[tiab]", "'(' is never closed at position 0"),
    ("ketamine[tiab])", "')' without '(' at position 14"),
    ("ketamine[tiab] AND", "AND has no term after it at position 15"),
    ("ketamine[tiab] AND ()", "empty parentheses at position 19"),
    ("OR ketamine", "OR has no term before it at position 0"),
    ("ketamine AND OR mice", "OR follows operator AND at position 13"),
    ('"ketamine', "quote: '\"' is never closed at position 0"),
    ("ketamine[tiab", "'[' is never closed at position 8"),
    ("ketamine]", "']' without '[' at position 8"),
    ("[tiab]", "[tiab] has no term before it at position 0"),
    ("ket*[tiab]", "at least 4 characters"),
    ("2010/13[dp]", "no such date '2010/13'"),
    ("2010/02/30[dp]", "no such date '2010/02/30'"),
    ("2012:2010[dp]", "ends before it starts"),
    ("abc[pmid]", "digits only"),
    ('"--"[tiab]', "no letters or digits"),
    ("ketamine : mice", "':' outside a [dp] date range at position 9"),
    ('"2010"[dp] :', "needs an end date"),
    ('"2010"[dp] : "2012"[tiab]', "needs a [dp] tag"),
    ("ketamine(x)", "add a space"),
])
def test_malformed_gives_the_position(query: str, part: str) -> None:
    with pytest.raises(QuerySyntaxError, match=re.escape(part)) as caught:
        parse_query(query)
    assert not isinstance(caught.value, UnsupportedQueryError)


@pytest.mark.parametrize(("query", "expected"), [
    ("ketamine[tiab] AND depression[mh:noexp] AND 2010[dp]", []),
    ("ketamine AND mice[tiab]", ["automatic term mapping to MeSH and synonyms: ketamine"]),
    ("depression[mh] OR mania[majr]", ["not exploded to narrower descriptors: "
                                       "depression[mh], mania[majr]"]),
    ("x[all]", ["[all] is searched offline in title, abstract"]),
    ("x[tw]", ["[tw] is searched offline"]),
    ("ketamine OR depression[mh]", ["automatic term mapping", "not exploded"]),
])
def test_warnings(query: str, expected: list[str]) -> None:
    warnings = parse_query(query).warnings
    assert len(warnings) == len(expected)
    for warning, fragment in zip(warnings, expected, strict=True):
        assert fragment in warning


@pytest.mark.parametrize(("text", "tokens"), [
    ("NMDA-receptor", ("nmda", "receptor")),
    ("(2R,6R)-HNK", ("2r", "6r", "hnk")),
    ("Sjögren's Ångström", ("sjogren", "s", "angstrom")),
    ("snake_case", ("snake", "case")),
])
def test_tokenize(text: str, tokens: tuple[str, ...]) -> None:
    assert tokenize(text) == tokens


def test_evaluators_take_query_node_or_string(index: QueryIndex) -> None:
    query = parse_query("ketamine[majr]")
    record = CORPUS[0]
    assert matches(query, record) and matches(query.root, record)
    assert index.search(query) == index.search(query.root) == index.search("ketamine[majr]")


def test_index_grows_and_hands_out_its_own_sets() -> None:
    index = QueryIndex(CORPUS[:2])
    assert len(index) == 2
    found = index.search("ketamin*[mh]")
    assert found == ids(101, 102)
    found.clear()  # the caller's set: the index is not touched
    assert index.search("ketamin*[mh]") == ids(101, 102)
    index.add(CORPUS[2])  # the sorted vocabulary picks up new tokens after a lookup
    assert index.search("esketam*[tiab]") == ids(103)
    with pytest.raises(ValueError, match="101"):
        index.add(CORPUS[0])


def test_long_queries_stay_clear_of_the_recursion_limit(index: QueryIndex) -> None:
    query = " OR ".join(f"word{i}[tiab]" for i in range(3000)) + " OR ketamine[mh]"
    assert index.search(query) == ids(101, 102)
    assert matches(query, CORPUS[0]) and not matches(query, CORPUS[2])
    assert str(parse_query(query)) == query


def test_author_without_last_name_is_harmless() -> None:
    odd = PaperRecord(pmid="1", title="t", authors=(Author(fore_name="Anna", initials="A"),))
    for query in ("anna[au]", '"none anna"'):  # not a person to [au]; no "None Anna" to [all]
        assert QueryIndex([odd]).search(query) == set()
        assert not matches(query, odd)


def test_phrase_check_skips_matches_that_straddle_two_ids() -> None:
    # Phrases are confirmed by a byte search over 4-byte token ids; the bytes of an id can also
    # occur across two neighbouring ids, which must not count. (Private helper: the corpora of
    # the other tests are too small to have ids large enough to produce such bytes.)
    pattern = array("I", [5]).tobytes()
    sequence = array("I")
    sequence.frombytes(b"\0" + pattern + b"\0" * 3 + array("I", [9]).tobytes())
    assert not _holds(sequence, pattern, 1, set(sequence))
    assert _holds(array("I", [7, 5, 9]), pattern, 1, {9})


# --------------------------------------------------------------------- property tests

WORDS = ["ketamine", "ketamines", "depression", "depressive", "receptor", "mouse", "stress"]
MESH = ["Depression", "Depressive Disorder", "Ketamine", "Receptors, N-Methyl-D-Aspartate"]
PTS = ["Journal Article", "Review", "Randomized Controlled Trial"]
LASTS = ["Autry", "van der Berg", "Müller", "Mueller"]
COLLECTIVES = ["Depression Study Group", "Ketamine Consortium"]
AUTHOR_TERMS = ["autry", "autry a", "autry ae", "autry anna", "autry anna e", "van der berg",
                "van der", "van der berg j", "muller", "mueller k", "study group",
                "ketamine consortium", "berg"]

# Strategies are built once: constructing them inside a composite costs more than drawing.
words = st.sampled_from(WORDS)
text = st.lists(words, max_size=6).map(" ".join)
persons = st.builds(Author, last_name=st.sampled_from(LASTS),
                    initials=st.sampled_from(["A", "AE", "J", "K", None]),
                    fore_name=st.sampled_from(["Anna", "Anna E", "Jan", None]))
collectives = st.builds(Author, collective_name=st.sampled_from(COLLECTIVES))
pub_dates = st.builds(
    lambda year, month, day, medline: PubDate(year, month, day if month else None, None, medline),
    st.none() | st.integers(2008, 2012), st.none() | st.integers(1, 12),
    st.none() | st.integers(1, 28), st.sampled_from([None, "2012 Dec-2013 Jan"]))
headings = st.lists(st.builds(MeshHeading, st.sampled_from(MESH), major=st.booleans()),
                    max_size=3, unique_by=lambda h: h.descriptor)


def records(pmid: str) -> st.SearchStrategy[PaperRecord]:
    return st.builds(
        PaperRecord,
        pmid=st.just(pmid),
        title=text,
        abstract_sections=st.lists(text.map(AbstractSection), max_size=2).map(tuple),
        journal=st.sampled_from([None, "Stress Reports", "Mouse Receptor Letters"]),
        journal_iso=st.sampled_from([None, "Stress Rep"]),
        pub_date=pub_dates,
        authors=st.lists(persons | collectives, max_size=4).map(tuple),
        doi=st.sampled_from([None, f"10.1/X{pmid}"]),
        language=st.sampled_from([None, "eng", "fre"]),
        mesh=headings.map(tuple),
        publication_types=st.lists(st.sampled_from(PTS), max_size=2, unique=True)
        .map(lambda names: pts(*names)),
        keywords=st.lists(text, max_size=2).map(tuple),
    )


RECORDS = [records(str(1000 + i)) for i in range(8)]


@st.composite
def corpora(draw: st.DrawFn) -> list[PaperRecord]:
    return [draw(r) for r in RECORDS[: draw(st.integers(1, len(RECORDS)))]]


FIELDS = [None, "tiab", "ti", "ab", "tw", "all", "ot", "ta", "mh", "mh:noexp", "majr",
          "majr:noexp", "pt", "au", "pmid", "doi", "la"]


@st.composite
def terms(draw: st.DrawFn, fields: list[str | None] = FIELDS) -> Term:
    fld = draw(st.sampled_from(fields))
    if fld == "pmid":
        return Term(str(draw(st.integers(999, 1008))), fld)
    if fld == "doi":
        return Term(f"10.1/x{draw(st.integers(1000, 1003))}", fld)
    if fld == "la":
        return Term(draw(st.sampled_from(["eng", "english", "fre", "ger"])), fld)
    if fld in ("mh", "mh:noexp", "majr", "majr:noexp", "pt"):
        words_ = draw(st.sampled_from(MESH + PTS + WORDS)).split(" ")
    elif fld == "au":
        words_ = draw(st.sampled_from(AUTHOR_TERMS)).split(" ")
    else:
        words_ = draw(st.lists(words, min_size=1, max_size=2))
    truncated = draw(st.booleans())
    if truncated:
        # Cut the last word, keeping the 4 characters PubMed wants before the '*'.
        cut = draw(st.integers(1, len(words_[-1])))
        words_[-1] = words_[-1][:cut]
        if len(" ".join(words_)) < 4 or not words_[-1][-1].isalnum():
            truncated, words_[-1] = False, words_[-1] + "x"
    phrase = len(words_) > 1 or draw(st.booleans())
    return Term(" ".join(words_), fld, phrase, truncated)


@st.composite
def date_ranges(draw: st.DrawFn) -> DateRange:
    def one() -> str:
        parts = [f"{draw(st.integers(2007, 2013)):04d}"]
        if draw(st.booleans()):
            parts.append(f"{draw(st.integers(1, 12)):02d}")
            if draw(st.booleans()):
                parts.append(f"{draw(st.integers(1, 28)):02d}")
        return "/".join(parts)

    a, b = one(), one()
    first = DateRange(a, a)
    return DateRange(a, b) if first.first_day <= DateRange(b, b).last_day else DateRange(b, a)


queries: st.SearchStrategy[Node] = st.recursive(
    st.one_of(terms(), date_ranges()),
    lambda inner: st.one_of(
        st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner, inner)),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(queries)
def test_render_parses_back_to_the_same_ast(node: Node) -> None:
    assert parse_query(render(node)).root == node


@settings(max_examples=200, deadline=None)
@given(corpora(), queries)
def test_index_agrees_with_reference(corpus: list[PaperRecord], node: Node) -> None:
    expected = {r.pmid for r in corpus if matches(node, r)}
    assert QueryIndex(corpus).search(Query(node)) == expected


@settings(max_examples=200, deadline=None)
@given(corpora(), st.lists(terms(), min_size=1, max_size=4),
       st.lists(terms(["au"]), min_size=1, max_size=4))
def test_index_agrees_on_single_terms(corpus: list[PaperRecord], leaves: list[Term],
                                      author_leaves: list[Term]) -> None:
    # Leaves alone, so that hits are frequent and the term-level semantics get exercised;
    # author terms twice over, their rules being the most intricate.
    index = QueryIndex(corpus)
    for leaf in leaves + author_leaves:
        assert index.search(leaf) == {r.pmid for r in corpus if matches(leaf, r)}
