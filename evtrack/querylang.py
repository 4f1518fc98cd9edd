"""PubMed query syntax, evaluated offline over stored :class:`~evtrack.records.PaperRecord`\\ s.

:func:`parse_query` turns a query into a :class:`Query` (an AST of :class:`Term`,
:class:`DateRange`, :class:`And`, :class:`Or`, :class:`Not`); :func:`matches` evaluates it against
one record (the brute-force reference) and :class:`QueryIndex` against a corpus (inverted
indexes and set algebra). Both give the same answer; the tests hold them to it.

Syntax
------
=============================  ==============================================================
``a AND b``, ``a OR b``,       Boolean operators, uppercase only (``and``/``or``/``not`` are
``a NOT b``                    ordinary words). ``a b`` is ``a AND b``. ``NOT`` is binary:
                               ``a NOT b`` = a and not b.
``( … )``                      grouping
``"a b"``                      phrase: the words consecutive, in this order
``ketamin*``, ``"a deriv*"``   truncation of the last word (at least 4 characters before ``*``)
``a b c[tiab]``                an unquoted multi-word term with a tag is a phrase
``[tiab]`` ``[ti]`` ``[ab]``   Title/Abstract, Title, Abstract
``[tw]``                       text word: title, abstract, MeSH, publication types, keywords
``[mh]`` ``[mh:noexp]``        MeSH Terms: the whole descriptor, case-insensitive
``[majr]`` ``[majr:noexp]``    MeSH Major Topic: a descriptor with ``is_major_topic``
``[pt]``                       Publication Type: the whole type name, case-insensitive
``[au]``                       Author: ``autry``, ``autry ae``, ``autry a``, ``autry anna``;
                               collective names by phrase
``[ot]``                       Other Term (author keywords), phrase match
``[ta]``                       Journal: title or ISO abbreviation, phrase match
``[pmid]`` ``[uid]``           PMID, exact
``[doi]``                      DOI, exact, case-insensitive
``[la]``                       Language: MEDLINE code (``eng``) or name (``english``)
``[all]`` / untagged           title, abstract, MeSH, publication types, keywords, authors,
                               journal
``2010[dp]``,                  Date - Publication, ``YYYY[/MM[/DD]]``; a range is inclusive,
``2010/06:2012/03/15[dp]``,    also in PubMed's quoted form
``"2010"[dp] : "2015"[dp]``
=============================  ==============================================================

Tags are case-insensitive and take PubMed's long forms (``[Title/Abstract]``, ``[MeSH Terms]``,
``[MeSH Major Topic]``, ``[Publication Type]``, ``[Author]``, ``[Date - Publication]``, …).

Semantics
---------
* **Strictly left to right.** PubMed gives its Boolean operators no precedence, so
  ``a OR b AND c`` is ``(a OR b) AND c`` and ``a NOT b OR c`` is ``(a NOT b) OR c``; so do we.
* **Text** matches on tokens (:func:`evtrack.textindex.tokenize`): a term matches when its
  tokens occur consecutively inside one value of a field (title, one abstract section, one
  keyword …); a truncated term's last token is a prefix. ``NMDA-receptor`` is therefore the
  phrase ``nmda receptor``.
* **Dates**: a record's publication date stands for the span it covers (``2012`` is the whole
  year, ``2012 Mar`` the whole month) and matches when that span overlaps the range; a record
  without a year never matches ``[dp]``.
* **No MeSH tree, no automatic term mapping** offline: ``[mh]`` is not exploded and untagged
  terms are not mapped; :attr:`Query.warnings` says so whenever it matters.
* Anything else PubMed understands — other tags, proximity (``[tiab:~3]``), history (``#1``),
  wildcards inside a word, MeSH subheadings (``/drug effects``) — raises
  :class:`~evtrack.errors.UnsupportedQueryError` naming the part, never a silent wrong answer.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from evtrack.errors import QuerySyntaxError, UnsupportedQueryError
from evtrack.records import PaperRecord
from evtrack.textindex import (
    MESH_FIELDS,
    CorpusIndex,
    date_span,
    language_code,
    term_matches,
    tokenize,
)

# ---------------------------------------------------------------------------------- the AST


@dataclass(frozen=True)
class Term:
    """A search term. ``field`` is the canonical tag (``"tiab"``, ``"mh:noexp"`` …) or None when
    untagged; ``text`` is the term without quotes and without the truncation ``*``."""

    text: str
    field: str | None = None
    phrase: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class DateRange:
    """``[dp]`` range, ends inclusive, each ``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD``."""

    start: str
    end: str

    @property
    def first_day(self) -> date:
        return _bound(self.start, last=False)

    @property
    def last_day(self) -> date:
        return _bound(self.end, last=True)


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """PubMed's binary NOT: records matching ``left`` but not ``right``."""

    left: Node
    right: Node


Node = Term | DateRange | And | Or | Not


@dataclass(frozen=True)
class Query:
    """A parsed query. ``str(query)`` is its canonical form, which parses to the same AST;
    ``warnings`` says where the offline answer may differ from PubMed's."""

    root: Node
    warnings: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "warnings", _warnings(self.root))

    def __str__(self) -> str:
        return render(self.root)


def _bound(value: str, *, last: bool) -> date:
    parts = [int(p) for p in value.split("/")]
    year, month = parts[0], parts[1] if len(parts) > 1 else (12 if last else 1)
    if len(parts) > 2:
        return date(year, month, parts[2])
    return date(year, month, calendar.monthrange(year, month)[1] if last else 1)


# ------------------------------------------------------------------------- tags and fields

_TAGS = {
    "tiab": "tiab", "title/abstract": "tiab",
    "ti": "ti", "title": "ti",
    "ab": "ab", "abstract": "ab",
    "tw": "tw", "text word": "tw", "text words": "tw",
    "mh": "mh", "mesh": "mh", "mesh terms": "mh", "mesh term": "mh",
    "mh:noexp": "mh:noexp", "mesh:noexp": "mh:noexp", "mesh terms:noexp": "mh:noexp",
    "majr": "majr", "mesh major topic": "majr",
    "majr:noexp": "majr:noexp", "mesh major topic:noexp": "majr:noexp",
    "pt": "pt", "publication type": "pt",
    "au": "au", "author": "au",
    "ot": "ot", "other term": "ot", "other terms": "ot", "keyword": "ot", "keywords": "ot",
    "ta": "ta", "journal": "ta", "jour": "ta",
    "pmid": "pmid", "uid": "pmid",
    "doi": "doi",
    "la": "la", "lang": "la", "language": "la",
    "all": "all", "all fields": "all",
    "dp": "dp", "pdat": "dp", "date-publication": "dp", "publication date": "dp",
}

_ALL_DESC = "title, abstract, MeSH descriptors, publication types, keywords, authors and journal"
# PubMed keywords that look like words but are filters; searching them as text would be wrong.
_SPECIAL_WORDS = {"hasabstract"}
_DATE = re.compile(r"(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?")

# ------------------------------------------------------------------------------ the lexer


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, op, phrase, tag, "(", ")", ":"
    value: str
    start: int
    end: int


def _error(problem: str, text: str, pos: int,
           cls: type[QuerySyntaxError] = QuerySyntaxError) -> QuerySyntaxError:
    lo, hi = max(0, pos - 30), min(len(text), pos + 30)
    excerpt = ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")
    return cls(f'{problem} at position {pos} in "{excerpt}"')


def _lex(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "():":
            # "word(" is ambiguous (a DOI such as 10.1016/S0140-6736(20)30183-5, or a typo);
            # PubMed would split it silently, we ask for quotes or a space instead.
            if c == "(" and out and out[-1].kind == "word" and out[-1].end == i:
                raise _error(f"'(' directly after {out[-1].value!r}: add a space, or quote a "
                             "term that contains parentheses", text, i)
            out.append(_Tok(c, c, i, i + 1))
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise _error("unbalanced quote: '\"' is never closed", text, i)
            out.append(_Tok("phrase", text[i + 1 : j], i, j + 1))
            i = j + 1
        elif c == "[":
            j = text.find("]", i + 1)
            if j < 0 or "[" in text[i + 1 : j]:
                raise _error("unbalanced bracket: '[' is never closed", text, i)
            out.append(_Tok("tag", text[i + 1 : j], i, j + 1))
            i = j + 1
        elif c == "]":
            raise _error("unbalanced bracket: ']' without '['", text, i)
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in '()"[]':
                j += 1
            word = text[i:j]
            out.append(_Tok("op" if word in ("AND", "OR", "NOT") else "word", word, i, j))
            i = j
    return out


# ----------------------------------------------------------------------------- the parser


def parse_query(text: str) -> Query:
    """Parse PubMed query syntax (see the module docstring).

    Raises :class:`~evtrack.errors.QuerySyntaxError` for malformed input (with the position)
    and :class:`~evtrack.errors.UnsupportedQueryError` for syntax evaluated only by PubMed.

    >>> str(parse_query('ketamine[Title/Abstract] AND depress* OR "NMDA receptor"'))
    'ketamine[tiab] AND depress* OR "NMDA receptor"'
    """
    return Query(_Parser(text).parse())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, problem: str, at: _Tok | int, *,
             unsupported: bool = False) -> QuerySyntaxError:
        cls = UnsupportedQueryError if unsupported else QuerySyntaxError
        return _error(problem, self.text, at if isinstance(at, int) else at.start, cls)

    def parse(self) -> Node:
        if not self.toks:
            raise QuerySyntaxError("empty query")
        node = self.expr()
        if (tok := self.peek()) is not None:  # expr() stops only at a ')'
            raise self.fail("unbalanced parentheses: ')' without '('", tok)
        return node

    def expr(self) -> Node:
        # No precedence: each operator combines everything to its left with the next operand.
        node = self.operand(None)
        while (tok := self.peek()) is not None and tok.kind != ")":
            op = self.take() if tok.kind == "op" else None
            right = self.operand(op)
            if op is None or op.value == "AND":
                node = And(node, right)
            else:
                node = Or(node, right) if op.value == "OR" else Not(node, right)
        return node

    def operand(self, op: _Tok | None) -> Node:
        tok = self.peek()
        if tok is None or tok.kind == ")":
            if op is not None:
                raise self.fail(f"operator {op.value} has no term after it", op)
            assert tok is not None  # parse() and "(" make sure a token follows
            raise self.fail("unbalanced parentheses: ')' without '('", tok)
        if tok.kind == "op":
            if op is not None:
                raise self.fail(f"operator {tok.value} follows operator {op.value}", tok)
            raise self.fail(f"operator {tok.value} has no term before it", tok)
        if tok.kind == "tag":
            raise self.fail(f"field tag [{tok.value}] has no term before it", tok)
        if tok.kind == ":":
            raise self.fail("':' outside a [dp] date range", tok)
        if tok.kind == "(":
            self.take()
            if (nxt := self.peek()) is not None and nxt.kind == ")":
                raise self.fail("empty parentheses", tok)
            node = self.expr()
            if self.peek() is None:
                raise self.fail("unbalanced parentheses: '(' is never closed", tok)
            self.take()
            if (tag := self.peek()) is not None and tag.kind == "tag":
                raise self.fail(f"unsupported field tag [{tag.value}] after a parenthesised "
                                "group (tag each term instead)", tag, unsupported=True)
            return node
        if tok.kind == "phrase":
            return self.term([self.take()], quoted=True)
        # Consecutive bare words: one phrase if a tag follows the last, else only the first.
        j = self.i
        while j < len(self.toks) and self.toks[j].kind == "word":
            j += 1
        tagged = j < len(self.toks) and self.toks[j].kind == "tag"
        words = self.toks[self.i : j] if tagged else [tok]
        self.i += len(words)
        return self.term(words, quoted=False)

    def tag(self) -> tuple[_Tok, str] | None:
        """The field tag after a term, if any, as (token, canonical field)."""
        tok = self.peek()
        if tok is None or tok.kind != "tag":
            return None
        self.take()
        norm = re.sub(r"\s*([:/-])\s*", r"\1", " ".join(tok.value.split()).casefold())
        if norm in _TAGS:
            return tok, _TAGS[norm]
        if ":~" in norm:
            raise self.fail(f"unsupported proximity search [{tok.value}]", tok, unsupported=True)
        if norm in ("sh", "subheading", "mesh subheading") or norm.endswith(":subheading"):
            raise self.fail(f"unsupported MeSH subheading tag [{tok.value}]", tok,
                            unsupported=True)
        raise self.fail(f"unsupported field tag [{tok.value}]", tok, unsupported=True)

    def term(self, words: list[_Tok], *, quoted: bool) -> Node:
        first = words[0]
        raw = " ".join(" ".join(w.value for w in words).split())
        tagged = self.tag()
        fld = tagged[1] if tagged else None
        if fld == "dp":
            return self.date_range(raw, first)
        for w in words:
            if not quoted and re.fullmatch(r"#\d+", w.value):
                raise self.fail(f"unsupported history reference {w.value}", w, unsupported=True)
        if not quoted and fld is None and raw.casefold() in _SPECIAL_WORDS:
            raise self.fail(f"unsupported PubMed filter {raw!r}", first, unsupported=True)
        truncated = raw.endswith("*")
        text = raw[:-1] if truncated else raw
        for w in words:
            body = w.value.rstrip() if w is words[-1] else w.value
            body = body[:-1] if w is words[-1] and body.endswith("*") else body
            if "*" in body:
                raise self.fail(f"unsupported wildcard before the end of {raw!r} (only a "
                                "trailing '*' on the last word is supported)",
                                w.start + int(quoted) + body.index("*"), unsupported=True)
        if not raw.strip():
            raise self.fail("empty phrase", first)
        if truncated and (len(text) < 4 or not text[-1].isalnum()):
            raise self.fail(f"truncation needs at least 4 characters, ending in a letter or "
                            f"digit, before '*': {raw!r}", first)
        if truncated and fld in ("pmid", "doi", "la"):
            raise self.fail(f"unsupported truncation in [{fld}]: {raw!r}", first,
                            unsupported=True)
        if fld == "pmid" and not (text.isascii() and text.isdigit()):
            raise self.fail(f"a PMID is digits only: {raw!r}", first)
        if fld == "la" and language_code(text) is None:
            raise self.fail(f"unsupported language {raw!r} (use a MEDLINE code such as eng)",
                            first, unsupported=True)
        if fld in MESH_FIELDS and "/" in text:
            sub = text[text.index("/"):]
            raise self.fail(f"unsupported MeSH subheading {sub!r}", first, unsupported=True)
        if fld not in ("pmid", "doi", "la") and not tokenize(text):
            raise self.fail(f"term {raw!r} has no letters or digits", first)
        return Term(text, fld, quoted or len(words) > 1, truncated)

    def date_range(self, raw: str, first: _Tok) -> DateRange:
        parts = raw.split(":")
        if len(parts) > 2:
            raise self.fail(f"malformed date range {raw!r}", first)
        start = self.date(parts[0], first)
        end = self.date(parts[1], first) if len(parts) == 2 else start
        colon = self.peek()
        if len(parts) == 1 and colon is not None and colon.kind == ":":
            # PubMed's own quoted form: "2010/01/01"[dp] : "2015/12/31"[dp]
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("word", "phrase"):
                raise self.fail("a date range needs an end date after ':'", colon)
            self.take()
            tagged = self.tag()
            if tagged is None or tagged[1] != "dp":
                raise self.fail("the end of a date range needs a [dp] tag", nxt)
            end = self.date(nxt.value, nxt)
        found = DateRange(start, end)
        if found.first_day > found.last_day:
            raise self.fail(f"date range {start}:{end} ends before it starts", first)
        return found

    def date(self, value: str, tok: _Tok) -> str:
        m = _DATE.fullmatch(value.strip())
        if m is None:
            raise self.fail(f"unsupported date {value.strip()!r} in [dp] (use YYYY, YYYY/MM or "
                            "YYYY/MM/DD)", tok, unsupported=True)
        y, mo, d = (int(g) if g else None for g in m.groups())
        try:
            date(y or 0, mo or 1, d or 1)  # year 0000 fails here too
        except ValueError:
            raise self.fail(f"no such date {value.strip()!r}", tok) from None
        return "/".join([f"{y:04d}"] + [f"{p:02d}" for p in (mo, d) if p is not None])


# ------------------------------------------------------------------ rendering and warnings


_OPERATORS: dict[type, str] = {And: "AND", Or: "OR", Not: "NOT"}


def render(node: Node | Query) -> str:
    """Canonical query string: short tags, explicit ``AND``, parentheses only where a right
    operand is itself a Boolean expression (left-to-right evaluation needs no others)."""
    if isinstance(node, Query):
        return render(node.root)
    first, ops = _spine(node)
    if isinstance(first, Term):
        body = first.text + ("*" if first.truncated else "")
        out = (f'"{body}"' if first.phrase else body) + (f"[{first.field}]" if first.field else "")
    else:
        out = (first.start if first.start == first.end else f"{first.start}:{first.end}") + "[dp]"
    for op in ops:
        right = render(op.right)
        if isinstance(op.right, And | Or | Not):
            right = f"({right})"
        out += f" {_OPERATORS[type(op)]} {right}"
    return out


def _spine(node: Node) -> tuple[Term | DateRange, list[And | Or | Not]]:
    """The leftmost operand and the operators applied to it in turn. A long ``a OR b OR …``
    nests to the left; walking that spine in a loop keeps clear of the recursion limit."""
    ops: list[And | Or | Not] = []
    while isinstance(node, And | Or | Not):
        ops.append(node)
        node = node.left
    return node, ops[::-1]


def _terms(node: Node) -> Iterator[Term]:
    first, ops = _spine(node)
    for operand in [first, *(op.right for op in ops)]:
        if isinstance(operand, Term):
            yield operand
        elif not isinstance(operand, DateRange):
            yield from _terms(operand)


def _warnings(root: Node) -> tuple[str, ...]:
    def listed(pred: set[str | None]) -> str:
        return ", ".join(dict.fromkeys(render(t) for t in _terms(root) if t.field in pred))

    out = []
    if untagged := listed({None}):
        out.append(f"untagged terms are searched offline in {_ALL_DESC}, without PubMed's "
                   f"automatic term mapping to MeSH and synonyms: {untagged}")
    if exploded := listed({"mh", "majr"}):
        out.append("MeSH terms are matched offline as the exact descriptor, without the MeSH "
                   f"tree, so they are not exploded to narrower descriptors: {exploded}")
    if all_fields := listed({"all"}):
        out.append(f"[all] is searched offline in {_ALL_DESC} only (PubMed also searches "
                   f"affiliations, substances, grants and more): {all_fields}")
    if text_word := listed({"tw"}):
        out.append("[tw] is searched offline in title, abstract, MeSH descriptors, publication "
                   f"types and keywords (PubMed also includes substance names): {text_word}")
    return tuple(out)


# ---------------------------------------------------------------------------- evaluation


def _root(query: Query | Node | str) -> Node:
    if isinstance(query, str):
        return parse_query(query).root
    return query.root if isinstance(query, Query) else query


def matches(query: Query | Node | str, record: PaperRecord) -> bool:
    """Whether ``record`` matches — the reference evaluator, one record at a time."""
    first, ops = _spine(_root(query))
    found = _leaf_matches(first, record)
    for op in ops:  # left to right, as PubMed does
        if isinstance(op, And):
            found = found and matches(op.right, record)
        elif isinstance(op, Or):
            found = found or matches(op.right, record)
        else:
            found = found and not matches(op.right, record)
    return found


def _leaf_matches(node: Term | DateRange, record: PaperRecord) -> bool:
    if isinstance(node, DateRange):
        span = date_span(record.pub_date)
        return span is not None and span[0] <= node.last_day and span[1] >= node.first_day
    return term_matches(record, node.field or "all", node.text, node.truncated)


class QueryIndex:
    """A corpus indexed for queries, answering them with set algebra.

    >>> index = QueryIndex(records)          # doctest: +SKIP
    >>> index.search("ketamine[tiab] AND 2015:2020[dp]")  # doctest: +SKIP
    {'12345678', ...}

    The indexes themselves (:class:`evtrack.textindex.CorpusIndex`) hold records by number in
    compact arrays; building them is linear in the size of the corpus.
    """

    def __init__(self, records: Iterable[PaperRecord] = ()) -> None:
        self._corpus = CorpusIndex()
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._corpus)

    def add(self, record: PaperRecord) -> None:
        """Index one more record. A PMID already indexed raises ValueError: postings cannot be
        taken back, so an updated record needs a fresh index."""
        self._corpus.add(record)

    def search(self, query: Query | Node | str) -> set[str]:
        """PMIDs of the indexed records that match (a new set, the caller's to keep)."""
        return self._corpus.pmids(self._eval(_root(query)))

    def _eval(self, node: Node) -> set[int]:
        first, ops = _spine(node)
        if isinstance(first, DateRange):
            hits = self._corpus.dated(first.first_day, first.last_day)
        else:
            hits = self._corpus.term(first.field or "all", first.text, first.truncated)
        for op in ops:
            if isinstance(op, Or):
                hits |= self._eval(op.right)
            elif hits:  # nothing left to narrow down otherwise
                # PubMed's NOT is binary, so no universe is needed: left minus right.
                hits = hits & self._eval(op.right) if isinstance(op, And) else (
                    hits - self._eval(op.right))
        return hits
