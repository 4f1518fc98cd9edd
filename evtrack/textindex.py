"""How a :class:`~evtrack.records.PaperRecord` looks to a PubMed query, and indexes over that.

This is the text layer under :mod:`evtrack.querylang` and knows nothing of query syntax:

* :func:`tokenize` — the one tokeniser for both records and query terms: diacritics folded
  (NFKD, combining marks dropped), case folded, split on runs of letters/digits, so
  ``"NMDA-receptor"`` → ``nmda receptor`` and ``"(2R,6R)-HNK"`` → ``2r 6r hnk``.
* *views* of a record: the token sequences each searchable field offers (:func:`text_views`),
  the whole-value keys of the exact-match fields (:func:`key_values`), the author name parts
  (:func:`person_name`) and the span of days the publication date covers (:func:`date_span`).
* the reference predicates over those views (:func:`phrase_in`, :func:`person_matches`) and the
  index structures (:class:`PhraseIndex`, :class:`KeyIndex`, :class:`DateIndex`) that answer the
  same questions for a whole corpus with set algebra.
"""

from __future__ import annotations

import bisect
import calendar
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from evtrack.records import Author, PaperRecord, PubDate

_WORD = re.compile(r"[^\W_]+")

#: Text views: each is a tuple of values, each value a token sequence. A phrase never spans two
#: values (two MeSH headings, two authors, title and abstract).
TEXT_VIEWS = ("ti", "ab", "mh", "pt", "ot", "au", "ta")

#: Exact-match keys: MeSH descriptors (all / major only), publication types, PMID, DOI, language.
KEY_FIELDS = ("mh", "majr", "pt", "pmid", "doi", "la")

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
        "pmid": {record.pmid},
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
    return any(
        token_prefix(value[i:], term, truncated)
        for value in values
        for i in range(len(value) - len(term) + 1)
    )


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


class PhraseIndex:
    """Positional inverted index of one text view: token → {pmid: positions}.

    Positions run through all values of a record with a gap between values, so a phrase can
    only match inside one value. Truncated tokens expand over a sorted vocabulary (bisect).
    """

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, list[int]]] = {}
        self._vocab = _Vocabulary()

    def add(self, pmid: str, values: Iterable[Sequence[str]]) -> None:
        pos = 0
        for value in values:
            for token in value:
                by_pmid = self._postings.get(token)
                if by_pmid is None:
                    by_pmid = self._postings[token] = {}
                    self._vocab.add(token)
                by_pmid.setdefault(pmid, []).append(pos)
                pos += 1
            pos += 1  # the gap between values

    def search(self, term: Sequence[str], truncated: bool) -> set[str]:
        """PMIDs whose view holds ``term`` as consecutive tokens."""
        lasts = self._vocab.starting_with(term[-1]) if truncated else [term[-1]]
        last_postings = [self._postings[t] for t in lasts if t in self._postings]
        last_pmids = set().union(*last_postings)
        if len(term) == 1:
            return last_pmids
        heads = [self._postings.get(t, {}) for t in term[:-1]]
        candidates = last_pmids.intersection(*heads)
        hits = set()
        for pmid in candidates:
            later = [set(p[pmid]) for p in heads[1:]]
            ends = {pos for p in last_postings for pos in p.get(pmid, ())}
            if any(all(s + i + 1 in later[i] for i in range(len(later))) and s + len(heads) in ends
                   for s in heads[0][pmid]):
                hits.add(pmid)
        return hits


class KeyIndex:
    """Whole-value keys → PMIDs, with a sorted vocabulary for prefix lookups."""

    def __init__(self) -> None:
        self._pmids: dict[str, set[str]] = {}
        self._vocab = _Vocabulary()

    def add(self, pmid: str, keys: Iterable[str]) -> None:
        for k in keys:
            if k not in self._pmids:
                self._pmids[k] = set()
                self._vocab.add(k)
            self._pmids[k].add(pmid)

    def exact(self, k: str) -> set[str]:
        return set(self._pmids.get(k, ()))

    def prefix(self, p: str) -> set[str]:
        return set().union(*(self._pmids[k] for k in self._vocab.starting_with(p)))


class DateIndex:
    """Publication-date spans sorted by first day. A range query bisects to the records whose
    span can overlap it (first day no earlier than the range start minus the longest span
    indexed, a year or so) and checks their last day."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int, str]] = []
        self._sorted = True
        self._longest = 0

    def add(self, pmid: str, span: tuple[date, date] | None) -> None:
        if span is not None:
            first, last = span[0].toordinal(), span[1].toordinal()
            self._spans.append((first, last, pmid))
            self._longest = max(self._longest, last - first)
            self._sorted = False

    def overlapping(self, first: date, last: date) -> set[str]:
        if not self._sorted:
            self._spans.sort()  # timsort: cheap when only a few spans were appended
            self._sorted = True
        lo = bisect.bisect_left(self._spans, (first.toordinal() - self._longest,))
        hi = bisect.bisect_right(self._spans, (last.toordinal() + 1,))
        return {pmid for _, end, pmid in self._spans[lo:hi] if end >= first.toordinal()}


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
