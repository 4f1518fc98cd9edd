"""PubMed queries over the stored papers, answered inside SQLite by a full-text (FTS5) index.

:class:`~evtrack.querylang.QueryIndex` answers a query in memory, but it needs every record
loaded and indexed first: for a store of 200,000 papers that is minutes of start-up and
gigabytes of memory for each offline refresh. :class:`StoredIndex` keeps an equivalent index
in the database itself, as a derived cache: two tables created here at run time (never by a
migration), brought up to date with ``papers`` by :meth:`StoredIndex.sync` — only papers whose
content hash changed are re-indexed — and droppable at any time (:meth:`StoredIndex.drop`).

It gives the same answers as :func:`evtrack.querylang.matches` (the tests hold it to that):

* every searchable view of a record (:func:`evtrack.textindex.text_views`) is an FTS5 column
  holding the record's own tokens (:func:`evtrack.textindex.tokenize`), so FTS5 never
  tokenises text itself; values are separated by a token no term can be, so that a phrase
  never spans two MeSH headings, two authors or title and abstract;
* whole-value keys (MeSH descriptors, major topics, publication types, author name keys,
  PMID, DOI, language: :func:`evtrack.textindex.key_values`) are single tokens of a ``keys``
  column, so an exact key is a token and a truncated one (``depress*[mh]``) a prefix query;
* tokens are spelled in ``[a-y0-9]`` with a prefix-free escape for everything else (``z``
  becomes ``zz``, another character ``z`` and six hex digits), which keeps them single FTS5
  tokens and keeps "starts with" meaning the same before and after encoding;
* a query without dates is one FTS5 ``MATCH`` expression (PubMed's left-to-right Boolean
  order made explicit with parentheses); ``[dp]`` ranges are answered from a table of date
  spans and combined with the rest by set algebra.

SQLite only (with FTS5, which Python's sqlite3 has had for years); :func:`available` says
whether a database can have one. Elsewhere the offline source falls back to the in-memory
index (:mod:`evtrack.offline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from evtrack.querylang import (
    And,
    DateRange,
    Node,
    Not,
    Or,
    Query,
    Term,
    _root,
    _spine,
)
from evtrack.records import PaperRecord
from evtrack.textindex import (
    FIELD_VIEWS,
    MESH_FIELDS,
    TEXT_VIEWS,
    author_key_lookups,
    author_keys,
    date_span,
    key_values,
    language_code,
    tokenize,
)

#: Every table this module creates starts with this (FTS5 adds its own ``…_data`` and
#: friends); schema comparisons against the models leave them out.
DERIVED_TABLE_PREFIX = "paper_search"

_FTS = "paper_search"
_DOCS = "paper_search_docs"
_META = "paper_search_meta"
#: Bumped when what is indexed or how it is spelled changes: the cache is then rebuilt.
INDEX_VERSION = "1"
_COLUMNS = (*TEXT_VIEWS, "co", "keys")  # text views, collective names, whole-value keys
_SEPARATOR = " zq "  # between values: never an encoded token, never the start of one
_NEVER = '"zr"'  # a phrase no document holds
_SIMPLE = re.compile(r"[a-zA-Z0-9 \x1f]*")
_ESCAPES = str.maketrans({"z": "zz", " ": "z000020", "\x1f": "z00001f",
                          **{c: f"z{ord(c):06x}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}})
_SIMPLE_TEXT = re.compile(r"[a-z0-9 ]*")
_BATCH = 1000


def available(engine: Engine) -> bool:
    """Whether ``engine``'s database can hold the index (SQLite compiled with FTS5)."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        options = {row[0] for row in conn.exec_driver_sql("PRAGMA compile_options")}
    return "ENABLE_FTS5" in options


def encode(token: str) -> str:
    """A token (or a whole key) spelled in ``[a-z0-9]``, prefix-preserving:
    ``encode(a).startswith(encode(b))`` exactly when ``a.startswith(b)``."""
    if _SIMPLE.fullmatch(token):  # nearly always: ASCII letters and digits, key separators
        return token.translate(_ESCAPES)
    return "".join(c if c.isascii() and (c.isdigit() or "a" <= c <= "y")
                   else "zz" if c == "z" else f"z{ord(c):06x}" for c in token)


def _encode_value(tokens: Sequence[str]) -> str:
    """The tokens of one value, encoded, separated by spaces (FTS5's token boundaries)."""
    joined = " ".join(tokens)
    if _SIMPLE_TEXT.fullmatch(joined):
        return joined.replace("z", "zz")
    return " ".join(map(encode, tokens))


@dataclass(frozen=True)
class SyncCounts:
    indexed: int  # papers (re)indexed
    removed: int  # index entries of papers that changed or no longer exist
    total: int  # papers in the index afterwards


class StoredIndex:
    """The FTS5 index over one database's ``papers``.

    >>> index = StoredIndex(engine)   # doctest: +SKIP
    >>> index.sync()                  # doctest: +SKIP
    SyncCounts(indexed=200000, removed=0, total=200000)
    >>> index.search('ketamine[tiab] AND depress*[tiab]')  # doctest: +SKIP
    {'23456789', ...}
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------------ the cache

    def drop(self) -> None:
        """Remove the index; the next :meth:`sync` rebuilds it."""
        with self.engine.begin() as conn:
            for table in (_FTS, _DOCS, _META):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

    def sync(self) -> SyncCounts:
        """Create the index if needed and bring it up to date with ``papers``."""
        with self.engine.begin() as conn:
            version = None
            if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                                    (_META,)).first():
                version = conn.exec_driver_sql(
                    f"SELECT value FROM {_META} WHERE key = 'version'").scalar()
            if version != INDEX_VERSION:
                for table in (_FTS, _DOCS, _META):
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
                _create(conn)
            stale = conn.exec_driver_sql(
                f"SELECT p.id FROM papers p LEFT JOIN {_DOCS} d ON d.paper_id = p.id "
                "WHERE d.paper_id IS NULL OR d.content_hash <> p.content_hash").scalars().all()
            gone = conn.exec_driver_sql(
                f"SELECT d.paper_id FROM {_DOCS} d LEFT JOIN papers p ON p.id = d.paper_id "
                "WHERE p.id IS NULL").scalars().all()
            removed = 0
            for chunk in _chunks([*stale, *gone], _BATCH):
                marks = ", ".join("?" * len(chunk))
                removed += conn.exec_driver_sql(
                    f"DELETE FROM {_DOCS} WHERE paper_id IN ({marks})", tuple(chunk)).rowcount
                conn.exec_driver_sql(f"DELETE FROM {_FTS} WHERE rowid IN ({marks})",
                                     tuple(chunk))
            for chunk in _chunks(stale, _BATCH):
                _index(conn, chunk)
            if stale or gone or version != INDEX_VERSION:
                longest = conn.exec_driver_sql(
                    f"SELECT coalesce(max(last_day - first_day), 0) FROM {_DOCS}").scalar()
                conn.exec_driver_sql(f"INSERT OR REPLACE INTO {_META} VALUES ('longest', ?)",
                                     (str(longest),))
            total = conn.exec_driver_sql(f"SELECT count(*) FROM {_DOCS}").scalar() or 0
        return SyncCounts(indexed=len(stale), removed=removed, total=total)

    # ------------------------------------------------------------------------- queries

    def search(self, query: Query | Node | str) -> set[str]:
        """PMIDs of the stored papers that match, as of the last :meth:`sync`."""
        with self.engine.connect() as conn:
            return _Evaluator(conn).eval(_root(query))


def _create(conn: Connection) -> None:
    # columnsize=0: no per-document column sizes, which only ranking (bm25) would read.
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_FTS} USING fts5({', '.join(_COLUMNS)}, "
        "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)")
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {_DOCS} (paper_id INTEGER PRIMARY KEY, pmid TEXT NOT NULL, "
        "content_hash TEXT NOT NULL, first_day INTEGER, last_day INTEGER)")
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {_DOCS}_first_day ON {_DOCS} (first_day, last_day)")
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.exec_driver_sql(f"INSERT OR REPLACE INTO {_META} VALUES ('version', ?)",
                         (INDEX_VERSION,))


def _index(conn: Connection, paper_ids: Sequence[int]) -> None:
    from evtrack.store.papers import load_records

    marks = ", ".join("?" * len(paper_ids))
    meta = {pmid: (pid, digest) for pid, pmid, digest in conn.exec_driver_sql(
        f"SELECT id, pmid, content_hash FROM papers WHERE id IN ({marks})", tuple(paper_ids))}
    docs, texts = [], []
    for record in load_records(conn, list(meta), batch=len(meta), references=False):
        pid, digest = meta[record.pmid]
        span = date_span(record.pub_date)
        docs.append((pid, record.pmid, digest, *(
            (span[0].toordinal(), span[1].toordinal()) if span else (None, None))))
        texts.append((pid, *document(record)))
    conn.exec_driver_sql(f"INSERT INTO {_DOCS} VALUES (?, ?, ?, ?, ?)", docs)
    conn.exec_driver_sql(
        f"INSERT INTO {_FTS} (rowid, {', '.join(_COLUMNS)}) "
        f"VALUES (?, {', '.join('?' * len(_COLUMNS))})", texts)


def document(record: PaperRecord) -> tuple[str, ...]:
    """The index columns of ``record`` (see :data:`_COLUMNS`), encoded."""
    from evtrack.textindex import text_views

    def values(tokenised: Iterable[Sequence[str]]) -> str:
        return _SEPARATOR.join(map(_encode_value, tokenised))

    views = text_views(record)
    collectives = values(tokenize(a.collective_name) for a in record.authors
                         if a.collective_name)
    keys = [f"pmid\x1f{record.pmid}"]
    keys += [f"{fld}\x1f{k}" for fld, ks in key_values(record).items() for k in ks]
    keys += [f"au\x1f{k}" for a in record.authors for k in author_keys(a)]
    return (*(values(views[v]) for v in TEXT_VIEWS), collectives,
            " ".join(encode(k) for k in keys))


# ------------------------------------------------------------------------ query evaluation


def _phrase(tokens: Sequence[str], truncated: bool) -> str:
    return '"' + _encode_value(tokens) + '"' + (" *" if truncated else "")


def _key(key: str, prefix: bool) -> str:
    return f'keys : "{encode(key)}"' + (" *" if prefix else "")


def _term(term: Term) -> str:
    """One term as an FTS5 expression, mirroring CorpusIndex.term field by field."""
    fld, value, trunc = term.field or "all", term.text.strip(), term.truncated
    if fld in ("pmid", "doi", "la"):
        k = language_code(value) if fld == "la" else value.casefold() if fld == "doi" else value
        return _key(f"{fld}\x1f{k}", False) if k else _NEVER
    tokens = tokenize(value)
    if not tokens:
        return _NEVER
    if fld in MESH_FIELDS or fld == "pt":
        return _key(f"{MESH_FIELDS.get(fld, 'pt')}\x1f{' '.join(tokens)}", trunc)
    if fld == "au":
        parts = [f"co : {_phrase(tokens, trunc)}"]
        parts += [_key(f"au\x1f{k}", is_prefix) for k, is_prefix in
                  author_key_lookups(tokens, trunc)]
        return "(" + " OR ".join(parts) + ")"
    return "{" + " ".join(FIELD_VIEWS[fld]) + "} : " + _phrase(tokens, trunc)


_FTS_OPERATORS: dict[type, str] = {And: "AND", Or: "OR", Not: "NOT"}


def compile_match(node: Node) -> str:
    """A date-free query as one FTS5 MATCH expression, evaluated left to right like PubMed."""
    first, ops = _spine(node)
    if isinstance(first, DateRange):
        raise ValueError("a [dp] range cannot be part of an FTS5 expression")
    out = _term(first)
    for op in ops:
        out = f"({out}) {_FTS_OPERATORS[type(op)]} ({compile_match(op.right)})"
    return out


def _has_dates(node: Node) -> bool:
    first, ops = _spine(node)
    return isinstance(first, DateRange) or any(_has_dates(op.right) for op in ops)


class _Evaluator:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def eval(self, node: Node) -> set[str]:
        if not _has_dates(node):
            return self.match(compile_match(node))
        first, ops = _spine(node)
        hits = self.dates(first) if isinstance(first, DateRange) else self.match(_term(first))
        for op in ops:  # the same set algebra as QueryIndex._eval
            if isinstance(op, Or):
                hits |= self.eval(op.right)
            elif hits:
                hits = hits & self.eval(op.right) if isinstance(op, And) else (
                    hits - self.eval(op.right))
        return hits

    def match(self, expression: str) -> set[str]:
        rows = self.conn.execute(text(
            f"SELECT d.pmid FROM {_FTS} JOIN {_DOCS} d ON d.paper_id = {_FTS}.rowid "
            f"WHERE {_FTS} MATCH :q"), {"q": expression})
        return set(rows.scalars())

    def dates(self, rng: DateRange) -> set[str]:
        longest = int(self.conn.exec_driver_sql(
            f"SELECT value FROM {_META} WHERE key = 'longest'").scalar() or 0)
        first, last = rng.first_day.toordinal(), rng.last_day.toordinal()
        # Spans sorted by first day: only those starting at most `longest` days before the
        # range can reach into it (the DateIndex bisect, in SQL).
        rows = self.conn.exec_driver_sql(
            f"SELECT pmid FROM {_DOCS} WHERE first_day BETWEEN ? AND ? AND last_day >= ?",
            (first - longest, last, first))
        return set(rows.scalars())


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
