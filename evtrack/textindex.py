"""How a :class:`~evtrack.records.PaperRecord` looks to a PubMed query, and indexes over that.

This is the text layer under :mod:`evtrack.querylang` and knows nothing of query syntax:

* :func:`tokenize` — the one tokeniser for both records and query terms: diacritics folded
  (NFKD, combining marks dropped), case folded, split on runs of letters/digits, so
  ``"NMDA-receptor"`` → ``nmda receptor`` and ``"(2R,6R)-HNK"`` → ``2r 6r hnk``.
* *views* of a record: the token sequences each searchable field offers (:func:`text_views`),
  the whole-value keys of the exact-match fields (:func:`key_values`), the author name parts
  (:func:`person_name`) and the span of days the publication date covers (:func:`date_span`).
* what a term in a field matches, twice: :func:`term_matches` straight from one record (the
  reference), and :class:`CorpusIndex` over a whole corpus, as sets of record numbers, from
  :class:`TextIndex`, :class:`KeyIndex` and :class:`DateIndex`.
"""

from __future__ import annotations

import bisect
import calendar
import re
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date

from evtrack.records import Author, PaperRecord, PubDate

_WORD = re.compile(r"[^\W_]+")

#: Text views: each is a tuple of values, each value a token sequence. A phrase never spans two
#: values (two MeSH headings, two authors, title and abstract).
TEXT_VIEWS = ("ti", "ab", "mh", "pt", "ot", "au", "ta")

#: Exact-match keys: MeSH descriptors (all / major only), publication types, DOI, language.
KEY_FIELDS = ("mh", "majr", "pt", "doi", "la")

#: Which text views each text-matched field searches.
FIELD_VIEWS = {
    "ti": ("ti",), "ab": ("ab",), "tiab": ("ti", "ab"), "ot": ("ot",), "ta": ("ta",),
    "tw": ("ti", "ab", "mh", "pt", "ot"), "all": TEXT_VIEWS,
}
#: MeSH fields and the key each is matched against. Without the MeSH tree offline there is no
#: explosion, so a field and its ``:noexp`` form are the same search.
MESH_FIELDS = {"mh": "mh", "mh:noexp": "mh", "majr": "majr", "majr:noexp": "majr"}
#: Every field :func:`term_matches` and :meth:`CorpusIndex.term` know.
FIELDS = (*FIELD_VIEWS, *MESH_FIELDS, "pt", "au", "pmid", "doi", "la")

# Collective author names as one more text view, for [au] alone ([all] has them in "au").
_COLLECTIVES = "au:collective"

#: MEDLINE language codes for the language names people type into [la].
LANGUAGE_CODES = {
    "english": "eng", "french": "fre", "german": "ger", "spanish": "spa", "italian": "ita",
    "portuguese": "por", "dutch": "dut", "russian": "rus", "chinese": "chi", "japanese": "jpn",
    "korean": "kor", "polish": "pol", "swedish": "swe", "danish": "dan", "norwegian": "nor",
    "finnish": "fin", "czech": "cze", "hungarian": "hun", "turkish": "tur", "greek": "gre",
    "hebrew": "heb", "arabic": "ara", "persian": "per", "croatian": "hrv", "ukrainian": "ukr",
}


def fold(text: str) -> str:
    """Case- and diacritic-folded text: ``"Sjögren"`` → ``"sjogren"``."""
    if text.isascii():  # most of PubMed, and NFKD is the slow part of indexing
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokenize(text: str | None) -> tuple[str, ...]:
    """Folded runs of letters and digits; everything else separates tokens."""
    return tuple(_WORD.findall(fold(text))) if text else ()


def key(text: str | None) -> str:
    """A whole value as one comparable key: its tokens joined by single spaces."""
    return " ".join(tokenize(text))


def person_name(author: Author) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """``(last-name tokens, initials, fore-name tokens)`` of a person; None for a collective
    or an author without a last name. Initials are joined (``"A.E."`` → ``"ae"``)."""
    if author.collective_name or not tokenize(author.last_name):
        return None
    return (tokenize(author.last_name), "".join(tokenize(author.initials)),
            tokenize(author.fore_name))


def text_views(record: PaperRecord) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Token sequences of every text view of ``record`` (see :data:`TEXT_VIEWS`)."""

    def values(*texts: str | None) -> tuple[tuple[str, ...], ...]:
        return tuple(t for t in map(tokenize, texts) if t)

    authors: list[str | None] = []
    for a in record.authors:
        authors.append(a.display)
        if not a.collective_name and a.last_name and a.fore_name:
            authors.append(f"{a.last_name} {a.fore_name}")  # full names, like PubMed's [fau]
    return {
        "ti": values(record.title),
        # Section texts only: labels such as "METHODS:" are layout, not words of the abstract.
        "ab": values(*(s.text for s in record.abstract_sections)),
        "mh": values(*(h.descriptor for h in record.mesh)),
        "pt": values(*(p.name for p in record.publication_types)),
        "ot": values(*record.keywords),
        "au": values(*authors),
        "ta": values(record.journal, record.journal_iso),
    }


def key_values(record: PaperRecord) -> dict[str, set[str]]:
    """Whole-value keys of the exact-match fields (see :data:`KEY_FIELDS`)."""
    return {
        "mh": {k for k in (key(h.descriptor) for h in record.mesh) if k},
        "majr": {k for k in (key(h.descriptor) for h in record.mesh if h.is_major_topic) if k},
        "pt": {k for k in (key(p.name) for p in record.publication_types) if k},
        "doi": {record.doi.strip().casefold()} if record.doi else set(),
        "la": {record.language.strip().casefold()} if record.language else set(),
    }


def language_code(term: str) -> str | None:
    """The MEDLINE code a [la] term stands for (``english`` or ``eng`` → ``eng``), or None."""
    t = term.strip().casefold()
    if t in LANGUAGE_CODES:
        return LANGUAGE_CODES[t]
    return t if re.fullmatch(r"[a-z]{3}", t) else None


def token_prefix(words: Sequence[str], term: Sequence[str], truncated: bool) -> bool:
    """True if ``term`` is the start of ``words``: all tokens equal, except that a truncated
    term's last token need only begin the corresponding word."""
    n = len(term)
    if n == 0 or len(words) < n or tuple(words[: n - 1]) != tuple(term[: n - 1]):
        return False
    return words[n - 1].startswith(term[-1]) if truncated else words[n - 1] == term[-1]


def phrase_in(values: Iterable[Sequence[str]], term: Sequence[str], truncated: bool) -> bool:
    """Reference phrase match: ``term`` occurs as consecutive tokens inside one of ``values``."""
    n = len(term)
    if n == 0:
        return False
    for value in values:
        if n == 1 and truncated:
            if any(word.startswith(term[0]) for word in value):
                return True
            continue
        # Otherwise a match starts where the first token occurs exactly: jump from one
        # occurrence to the next (a C-level scan) instead of trying every position.
        tokens = tuple(value)
        i = -1
        while True:
            try:
                i = tokens.index(term[0], i + 1)
            except ValueError:
                break
            if token_prefix(tokens[i:i + n], term, truncated):
                return True
    return False


def key_match(keys: Iterable[str], term: Sequence[str], truncated: bool) -> bool:
    """Reference whole-value match: a key's tokens equal the term's (truncated: begin with)."""
    for k in keys:
        words = k.split(" ")
        if token_prefix(words, term, truncated) and (truncated or len(words) == len(term)):
            return True
    return False


def person_matches(name: tuple[tuple[str, ...], str, tuple[str, ...]],
                   term: Sequence[str], truncated: bool) -> bool:
    """Reference [au] match of one person: the term is the last name (``autry``), or the last
    name followed by the start of the initials (``autry a``, ``autry ae``) or by the first
    words of the fore name (``autry anna``). Truncation applies to the term's last word."""
    last, initials, fore = name
    if token_prefix(last, term, truncated) and (truncated or len(term) == len(last)):
        return True
    for k in range(1, len(term)):
        if tuple(term[:k]) != last:
            continue
        rest = term[k:]
        if initials and initials.startswith("".join(rest)):
            return True
        if token_prefix(fore, rest, truncated):
            return True
    return False


def author_keys(author: Author) -> set[str]:
    """Keys :class:`KeyIndex` holds for one person (see :func:`author_key_lookups`)."""
    name = person_name(author)
    if name is None:
        return set()
    last, initials, fore = name
    keys = {"L\x1f" + " ".join(last)}
    if initials:
        keys.add(f"I\x1f{' '.join(last)}\x1f{initials}")
    if fore:
        keys.add(f"F\x1f{' '.join(last)}\x1f{' '.join(fore)}")
    return keys


def author_key_lookups(term: Sequence[str], truncated: bool) -> Iterator[tuple[str, bool]]:
    """``(key, is_prefix)`` lookups in the author :class:`KeyIndex` that together answer
    :func:`person_matches`. Tokens hold no spaces nor ``\\x1f``, so a string prefix of a joined
    key is exactly a token prefix with the last token truncated."""
    whole = " ".join(term)
    yield "L\x1f" + whole, truncated
    for k in range(1, len(term)):
        last, rest = " ".join(term[:k]), term[k:]
        yield f"I\x1f{last}\x1f{''.join(rest)}", True
        fore = f"F\x1f{last}\x1f{' '.join(rest)}"
        yield fore, truncated
        if not truncated:
            yield fore + " ", True  # more fore-name words may follow


def term_matches(record: PaperRecord, fld: str, text: str, truncated: bool) -> bool:
    """Reference match of one term in one field (see :data:`FIELDS`), straight from the record:
    the brute-force answer :class:`CorpusIndex` is tested against."""
    text = text.strip()
    if fld == "pmid":
        return record.pmid == text
    if fld == "doi":
        return (record.doi or "").strip().casefold() == text.casefold()
    if fld == "la":
        return (record.language or "").strip().casefold() == language_code(text)
    tokens = tokenize(text)
    if fld in MESH_FIELDS:
        major_only = MESH_FIELDS[fld] == "majr"
        descriptors = [key(h.descriptor) for h in record.mesh if h.is_major_topic or not major_only]
        return key_match(descriptors, tokens, truncated)
    if fld == "pt":
        return key_match([key(p.name) for p in record.publication_types], tokens, truncated)
    if fld == "au":
        for author in record.authors:
            name = person_name(author)
            if name is not None and person_matches(name, tokens, truncated):
                return True
            if author.collective_name and phrase_in([tokenize(author.collective_name)],
                                                    tokens, truncated):
                return True
        return False
    views = text_views(record)
    return any(phrase_in(views[v], tokens, truncated) for v in FIELD_VIEWS[fld])


def date_span(pub: PubDate) -> tuple[date, date] | None:
    """First and last day the publication date covers: a year-only date covers its year, a
    year-month date its month. A MedlineDate reaching into a later year (``"1998 Dec-1999
    Jan"``) runs to the end of that year. None when no year is known."""
    years = [int(y) for y in re.findall(r"\b(\d{4})\b", pub.medline_date or "")]
    year = pub.year if pub.year is not None else min(years, default=None)
    if year is None or not 1 <= year <= 9999:
        return None
    month = pub.month if pub.month and 1 <= pub.month <= 12 else None
    if month is None:
        start, end = date(year, 1, 1), date(year, 12, 31)
    else:
        last_day = calendar.monthrange(year, month)[1]
        day = pub.day if pub.day and 1 <= pub.day <= last_day else None
        start, end = date(year, month, day or 1), date(year, month, day or last_day)
    later = max((y for y in years if year < y <= 9999), default=None)
    if later is not None:
        end = date(later, 12, 31)
    return start, end


class CorpusIndex:
    """Every field of a corpus indexed; records are numbered 0, 1, 2 … as they are added and
    lookups answer with sets of those numbers, for the caller's set algebra."""

    def __init__(self) -> None:
        self._pmids: list[str] = []
        self._docs: dict[str, int] = {}
        self._text = TextIndex()
        self._keys = {f: KeyIndex() for f in KEY_FIELDS}
        self._authors = KeyIndex()
        self._dates = DateIndex()

    def __len__(self) -> int:
        return len(self._pmids)

    def add(self, record: PaperRecord) -> None:
        """Index one more record; a PMID already indexed raises ValueError."""
        if record.pmid in self._docs:
            raise ValueError(f"PMID {record.pmid} is already indexed")
        doc = self._docs[record.pmid] = len(self._pmids)
        self._pmids.append(record.pmid)
        collectives = [tokenize(a.collective_name) for a in record.authors if a.collective_name]
        self._text.add(doc, {**text_views(record), _COLLECTIVES: collectives})
        for fld, keys in key_values(record).items():
            self._keys[fld].add(doc, keys)
        self._authors.add(doc, (k for a in record.authors for k in author_keys(a)))
        self._dates.add(doc, date_span(record.pub_date))

    def pmids(self, docs: Iterable[int]) -> set[str]:
        return {self._pmids[d] for d in docs}

    def dated(self, first: date, last: date) -> set[int]:
        """Records whose publication date span overlaps ``first``..``last``."""
        return self._dates.overlapping(first, last)

    def term(self, fld: str, text: str, truncated: bool) -> set[int]:
        """Records matching one term in one field; same answer as :func:`term_matches`."""
        text = text.strip()
        if fld == "pmid":
            return {self._docs[text]} if text in self._docs else set()
        if fld in ("doi", "la"):
            k = language_code(text) if fld == "la" else text.casefold()
            return self._keys[fld].exact(k or "")
        tokens = tokenize(text)
        if fld in MESH_FIELDS or fld == "pt":
            index, joined = self._keys[MESH_FIELDS.get(fld, "pt")], " ".join(tokens)
            return index.prefix(joined) if truncated else index.exact(joined)
        if fld == "au":
            hits = self._text.search(_COLLECTIVES, tokens, truncated)
            for k, is_prefix in author_key_lookups(tokens, truncated):
                hits |= self._authors.prefix(k) if is_prefix else self._authors.exact(k)
            return hits
        return set().union(*(self._text.search(v, tokens, truncated) for v in FIELD_VIEWS[fld]))


class TextIndex:
    """Inverted index over the text views of a corpus; documents are numbered 0, 1, 2 … in the
    order they are added.

    Each (view, token) pair gets an id; its postings are the ascending document numbers that hold
    it. Each document also keeps its token ids, all views in a row, with a gap (id 0) after
    every value. A phrase is looked up by intersecting postings, then confirmed in each candidate
    by a byte search of its id sequence: ids are per view and never 0, so a match can neither
    leave its view nor span two values. Arrays of 4-byte ids keep this compact enough for a
    corpus of a few hundred thousand abstracts.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._postings: list[array[int]] = [array("I")]  # id 0 is the gap, never looked up
        self._sequences: list[array[int]] = []
        self._vocab: dict[str, _Vocabulary] = {}

    def add(self, doc: int, views: Mapping[str, Iterable[Sequence[str]]]) -> None:
        """Add document ``doc``, which must be the next number."""
        if doc != len(self._sequences):
            raise ValueError(f"document {doc} added out of order")
        sequence: array[int] = array("I")
        for view, values in views.items():
            for value in values:
                for token in value:
                    tid = self._ids.get((view, token))
                    if tid is None:
                        tid = self._ids[view, token] = len(self._postings)
                        self._postings.append(array("I"))
                        if view not in self._vocab:
                            self._vocab[view] = _Vocabulary()
                        self._vocab[view].add(token)
                    postings = self._postings[tid]
                    if not postings or postings[-1] != doc:  # once per document
                        postings.append(doc)
                    sequence.append(tid)
                sequence.append(0)
        self._sequences.append(sequence)

    def search(self, view: str, term: Sequence[str], truncated: bool) -> set[int]:
        """Documents whose ``view`` holds ``term`` as consecutive tokens of one value."""
        heads: list[int] = []
        for token in term[:-1]:
            head = self._ids.get((view, token))
            if head is None:
                return set()
            heads.append(head)
        if truncated:
            vocab = self._vocab.get(view)
            words = vocab.starting_with(term[-1]) if vocab else []
            lasts = {self._ids[view, w] for w in words}
        else:
            lasts = {t for t in [self._ids.get((view, term[-1]))] if t is not None}
        if not lasts:
            return set()
        found = set().union(*(self._postings[t] for t in lasts))
        if not heads:
            return found
        for postings in sorted((self._postings[h] for h in heads), key=len):
            found.intersection_update(postings)
        pattern = array("I", heads).tobytes()
        return {d for d in found if _holds(self._sequences[d], pattern, len(heads), lasts)}


def _holds(sequence: array[int], pattern: bytes, width: int, lasts: set[int]) -> bool:
    """Whether ``pattern`` (the ids of a phrase but its last word) occurs in ``sequence`` at an
    item boundary and is followed by one of the ids ``lasts``."""
    data = sequence.tobytes()
    i = data.find(pattern)
    while i >= 0:
        at, misaligned = divmod(i, sequence.itemsize)
        if not misaligned and at + width < len(sequence) and sequence[at + width] in lasts:
            return True
        i = data.find(pattern, i + 1)
    return False


class KeyIndex:
    """Whole-value keys → document numbers, with a sorted vocabulary for prefix lookups."""

    def __init__(self) -> None:
        self._docs: dict[str, array[int]] = {}
        self._vocab = _Vocabulary()

    def add(self, doc: int, keys: Iterable[str]) -> None:
        for k in set(keys):
            if k not in self._docs:
                self._docs[k] = array("I")
                self._vocab.add(k)
            self._docs[k].append(doc)

    def exact(self, k: str) -> set[int]:
        return set(self._docs.get(k, ()))

    def prefix(self, p: str) -> set[int]:
        return set().union(*(self._docs[k] for k in self._vocab.starting_with(p)))


class DateIndex:
    """Publication-date spans sorted by first day. A range query bisects to the documents whose
    span can overlap it (first day no earlier than the range start minus the longest span
    indexed, a year or so) and checks their last day."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int, int]] = []
        self._sorted = True
        self._longest = 0

    def add(self, doc: int, span: tuple[date, date] | None) -> None:
        if span is not None:
            first, last = span[0].toordinal(), span[1].toordinal()
            self._spans.append((first, last, doc))
            self._longest = max(self._longest, last - first)
            self._sorted = False

    def overlapping(self, first: date, last: date) -> set[int]:
        if not self._sorted:
            self._spans.sort()  # timsort: cheap when only a few spans were appended
            self._sorted = True
        lo = bisect.bisect_left(self._spans, (first.toordinal() - self._longest,))
        hi = bisect.bisect_right(self._spans, (last.toordinal() + 1,))
        return {doc for _, end, doc in self._spans[lo:hi] if end >= first.toordinal()}


class _Vocabulary:
    """Sorted strings for prefix lookup. New entries are sorted in lazily, at the next lookup,
    so building an index stays O(n log n) instead of paying an insort per new token."""

    def __init__(self) -> None:
        self._words: list[str] = []
        self._pending: list[str] = []

    def add(self, word: str) -> None:
        self._pending.append(word)

    def starting_with(self, prefix: str) -> list[str]:
        if self._pending:
            self._words.extend(self._pending)
            self._words.sort()
            self._pending.clear()
        i = bisect.bisect_left(self._words, prefix)
        out = []
        while i < len(self._words) and self._words[i].startswith(prefix):
            out.append(self._words[i])
            i += 1
        return out
