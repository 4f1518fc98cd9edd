"""PubMed queries over the stored papers, answered inside the database by a full-text index:
FTS5 on SQLite, ``tsvector`` and GIN on PostgreSQL.

:class:`~evtrack.querylang.QueryIndex` answers a query in memory, but it needs every record
loaded and indexed first: for a store of 200,000 papers that is minutes of start-up and
gigabytes of memory for each offline refresh. :class:`StoredIndex` keeps an equivalent index
in the database itself, as a derived cache: tables created here at run time (never by a
migration), brought up to date with ``papers`` by :meth:`StoredIndex.sync` — only papers whose
content hash changed are re-indexed — and droppable at any time (:meth:`StoredIndex.drop`).

It gives the same answers as :func:`evtrack.querylang.matches` (the tests hold it to that, on
both databases):

* every searchable view of a record (:func:`evtrack.textindex.text_views`) is indexed as the
  record's own tokens (:func:`evtrack.textindex.tokenize`), so the database never tokenises
  text itself, and a phrase never spans two values (two MeSH headings, two authors, title and
  abstract);
* whole-value keys (MeSH descriptors, major topics, publication types, author name keys,
  PMID, DOI, language: :func:`evtrack.textindex.key_values`) are single tokens, so an exact
  key is a token and a truncated one (``depress*[mh]``) a prefix query;
* tokens are spelled in ``[a-y0-9]`` with a prefix-free escape for everything else (``z``
  becomes ``zz``, another character ``z`` and six hex digits), which keeps them single tokens
  and keeps "starts with" meaning the same before and after encoding;
* a query without dates is one full-text expression (PubMed's left-to-right Boolean order
  made explicit with parentheses); ``[dp]`` ranges are answered from a table of date spans and
  combined with the rest by set algebra.

SQLite (:class:`_Fts5`): each text view is an FTS5 column, with a separator token no term can
be between values; ``{ti ab} : "a b" *`` is a phrase in two columns, truncated.

PostgreSQL (:class:`_Postgres`): each paper is one ``tsvector`` whose lexemes carry their
column (``ti_ketamine``: ``_`` is never part of an encoded token), a value's tokens at
consecutive positions and one position left out between values; a phrase is ``<->`` (followed
by), a truncation ``:*``, columns are alternatives (``|``). PostgreSQL keeps at most 256
positions of a lexeme, positions up to 16,383 and lexemes under 2 kB, and would cut a longer
record silently (a consortium paper's thousands of authors). Such a record is stored without
a vector, flagged inexact, and the reference evaluator decides whether it matches, record by
record, on every search.

:func:`available` says whether a database can have an index (SQLite needs FTS5, which
Python's sqlite3 has had for years); elsewhere the offline source falls back to the in-memory
index (:mod:`evtrack.offline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, inspect, text

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
    matches,
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
    text_views,
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
_SIMPLE = re.compile(r"[a-zA-Z0-9 \x1f]*")
_ESCAPES = str.maketrans({"z": "zz", " ": "z000020", "\x1f": "z00001f",
                          **{c: f"z{ord(c):06x}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}})
_SIMPLE_TEXT = re.compile(r"[a-z0-9 ]*")
_BATCH = 1000


def available(engine: Engine) -> bool:
    """Whether ``engine``'s database can hold the index: SQLite compiled with FTS5, or
    PostgreSQL."""
    if engine.dialect.name == "postgresql":
        return True
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


def _record_keys(record: PaperRecord) -> list[str]:
    """Every whole-value key of ``record``, field and value joined by ``\\x1f``, unencoded."""
    keys = [f"pmid\x1f{record.pmid}"]
    keys += [f"{fld}\x1f{k}" for fld, ks in key_values(record).items() for k in ks]
    keys += [f"au\x1f{k}" for a in record.authors for k in author_keys(a)]
    return keys


def _collectives(record: PaperRecord) -> Iterator[tuple[str, ...]]:
    return (tokenize(a.collective_name) for a in record.authors if a.collective_name)


@dataclass(frozen=True)
class SyncCounts:
    indexed: int  # papers (re)indexed
    removed: int  # index entries of papers that changed or no longer exist
    total: int  # papers in the index afterwards


@dataclass(frozen=True)
class _Doc:
    """What both backends store of one paper besides its full-text entry."""

    paper_id: int
    pmid: str
    content_hash: str
    first_day: int | None
    last_day: int | None


class _Backend(Protocol):
    """How one database holds the full-text entries and answers a date-free query."""

    tables: tuple[str, ...]

    def create(self, conn: Connection) -> None: ...

    def remove(self, conn: Connection, paper_ids: Sequence[int]) -> None: ...

    def add(self, conn: Connection, docs: list[tuple[_Doc, PaperRecord]]) -> None: ...

    #: A query no document matches.
    never: str

    def key(self, key: str, prefix: bool) -> str:
        """A whole-value key (``field\\x1fvalue``), or its prefix."""
        ...

    def phrase(self, columns: Sequence[str], tokens: Sequence[str], truncated: bool) -> str:
        """``tokens`` in a row in one value of any of ``columns``."""
        ...

    def either(self, parts: Sequence[str]) -> str: ...

    def operator(self, op: Node, left: str, right: str) -> str: ...

    def match(self, conn: Connection, expression: str) -> set[str]: ...

    def inexact(self, conn: Connection) -> set[str]: ...


class StoredIndex:
    """The full-text index over one database's ``papers``.

    >>> index = StoredIndex(engine)   # doctest: +SKIP
    >>> index.sync()                  # doctest: +SKIP
    SyncCounts(indexed=200000, removed=0, total=200000)
    >>> index.search('ketamine[tiab] AND depress*[tiab]')  # doctest: +SKIP
    {'23456789', ...}
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._backend: _Backend = _Postgres() if engine.dialect.name == "postgresql" else _Fts5()

    # ------------------------------------------------------------------------ the cache

    def drop(self) -> None:
        """Remove the index; the next :meth:`sync` rebuilds it."""
        with self.engine.begin() as conn:
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        for table in self._backend.tables:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))

    def sync(self) -> SyncCounts:
        """Create the index if needed and bring it up to date with ``papers``."""
        with self.engine.begin() as conn:
            # One sync at a time: a second one waits, then finds the index built.
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                             {"name": _META})
            else:  # pysqlite would begin only at the first INSERT, after the reads and DDL
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            version = None
            if inspect(conn).has_table(_META):
                version = _meta(conn, "version")
            if version != INDEX_VERSION:
                self._drop(conn)
                self._backend.create(conn)
                _put_meta(conn, "version", INDEX_VERSION)
            stale = conn.execute(text(
                f"SELECT p.id FROM papers p LEFT JOIN {_DOCS} d ON d.paper_id = p.id "
                "WHERE d.paper_id IS NULL OR d.content_hash <> p.content_hash")).scalars().all()
            gone = conn.execute(text(
                f"SELECT d.paper_id FROM {_DOCS} d LEFT JOIN papers p ON p.id = d.paper_id "
                "WHERE p.id IS NULL")).scalars().all()
            removed = 0
            delete_docs = text(f"DELETE FROM {_DOCS} WHERE paper_id IN :ids").bindparams(
                bindparam("ids", expanding=True))
            for chunk in _chunks([*stale, *gone], _BATCH):
                self._backend.remove(conn, chunk)
                removed += conn.execute(delete_docs, {"ids": list(chunk)}).rowcount
            for chunk in _chunks(stale, _BATCH):
                self._backend.add(conn, _docs(conn, chunk))
            if stale or gone or version != INDEX_VERSION:
                longest = conn.execute(text(
                    f"SELECT coalesce(max(last_day - first_day), 0) FROM {_DOCS}")).scalar()
                _put_meta(conn, "longest", str(longest))
            total = conn.execute(text(f"SELECT count(*) FROM {_DOCS}")).scalar() or 0
        return SyncCounts(indexed=len(stale), removed=removed, total=total)

    # ------------------------------------------------------------------------- queries

    def search(self, query: Query | Node | str) -> set[str]:
        """PMIDs of the stored papers that match, as of the last :meth:`sync`."""
        from evtrack.store.papers import load_records

        root = _root(query)
        with self.engine.connect() as conn:
            hits = _Evaluator(conn, self._backend).eval(root)
            inexact = self._backend.inexact(conn)
            if inexact:  # records the index could not hold exactly: decided one by one
                hits -= inexact
                hits |= {r.pmid for r in load_records(conn, inexact, references=False)
                         if matches(root, r)}
        return hits


def _meta(conn: Connection, key: str) -> str | None:
    value: str | None = conn.execute(text(f"SELECT value FROM {_META} WHERE key = :key"),
                                     {"key": key}).scalar()
    return value


def _put_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(text(f"DELETE FROM {_META} WHERE key = :key"), {"key": key})
    conn.execute(text(f"INSERT INTO {_META} (key, value) VALUES (:key, :value)"),
                 {"key": key, "value": value})


_DOCS_COLUMNS = ("paper_id INTEGER PRIMARY KEY, pmid TEXT NOT NULL, "
                 "content_hash TEXT NOT NULL, first_day INTEGER, last_day INTEGER")


def _create_common(conn: Connection, extra_columns: str = "") -> None:
    conn.execute(text(f"CREATE TABLE {_DOCS} ({_DOCS_COLUMNS}{extra_columns})"))
    conn.execute(text(f"CREATE INDEX {_DOCS}_first_day ON {_DOCS} (first_day, last_day)"))
    conn.execute(text(f"CREATE TABLE {_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"))


def _docs(conn: Connection, paper_ids: Sequence[int]) -> list[tuple[_Doc, PaperRecord]]:
    """The stored records of ``paper_ids`` (without references), each with its doc row."""
    from evtrack.store.papers import load_records

    meta = {pmid: (pid, digest) for pid, pmid, digest in conn.execute(
        text("SELECT id, pmid, content_hash FROM papers WHERE id IN :ids")
        .bindparams(bindparam("ids", expanding=True)), {"ids": list(paper_ids)})}
    out = []
    for record in load_records(conn, list(meta), batch=len(meta), references=False):
        pid, digest = meta[record.pmid]
        span = date_span(record.pub_date)
        first, last = (span[0].toordinal(), span[1].toordinal()) if span else (None, None)
        out.append((_Doc(pid, record.pmid, digest, first, last), record))
    return out


# ------------------------------------------------------------------------------- SQLite


class _Fts5:
    """The index as an FTS5 table beside the docs table (rowid = paper id)."""

    tables: tuple[str, ...] = (_FTS, _DOCS, _META)
    never = '"zr"'  # a phrase no document holds

    def create(self, conn: Connection) -> None:
        # columnsize=0: no per-document column sizes, which only ranking (bm25) would read.
        conn.execute(text(
            f"CREATE VIRTUAL TABLE {_FTS} USING fts5({', '.join(_COLUMNS)}, "
            "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)"))
        _create_common(conn)

    def remove(self, conn: Connection, paper_ids: Sequence[int]) -> None:
        conn.execute(text(f"DELETE FROM {_FTS} WHERE rowid IN :ids")
                     .bindparams(bindparam("ids", expanding=True)), {"ids": list(paper_ids)})

    def add(self, conn: Connection, docs: list[tuple[_Doc, PaperRecord]]) -> None:
        if not docs:
            return
        conn.exec_driver_sql(f"INSERT INTO {_DOCS} VALUES (?, ?, ?, ?, ?)",
                             [(d.paper_id, d.pmid, d.content_hash, d.first_day, d.last_day)
                              for d, _r in docs])
        conn.exec_driver_sql(
            f"INSERT INTO {_FTS} (rowid, {', '.join(_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' * len(_COLUMNS))})",
            [(d.paper_id, *document(r)) for d, r in docs])

    def key(self, key: str, prefix: bool) -> str:
        return f'keys : "{encode(key)}"' + (" *" if prefix else "")

    def phrase(self, columns: Sequence[str], tokens: Sequence[str], truncated: bool) -> str:
        return ("{" + " ".join(columns) + '} : "' + _encode_value(tokens) + '"'
                + (" *" if truncated else ""))

    def either(self, parts: Sequence[str]) -> str:
        return "(" + " OR ".join(parts) + ")"

    def operator(self, op: Node, left: str, right: str) -> str:
        return f"({left}) {_FTS_OPERATORS[type(op)]} ({right})"

    def match(self, conn: Connection, expression: str) -> set[str]:
        rows = conn.execute(text(
            f"SELECT d.pmid FROM {_FTS} JOIN {_DOCS} d ON d.paper_id = {_FTS}.rowid "
            f"WHERE {_FTS} MATCH :q"), {"q": expression})
        return set(rows.scalars())

    def inexact(self, conn: Connection) -> set[str]:
        return set()  # FTS5 holds any record exactly


def document(record: PaperRecord) -> tuple[str, ...]:
    """The FTS5 columns of ``record`` (see :data:`_COLUMNS`), encoded."""
    def values(tokenised: Iterable[Sequence[str]]) -> str:
        return _SEPARATOR.join(map(_encode_value, tokenised))

    views = text_views(record)
    return (*(values(views[v]) for v in TEXT_VIEWS), values(_collectives(record)),
            " ".join(encode(k) for k in _record_keys(record)))


_FTS_OPERATORS: dict[type, str] = {And: "AND", Or: "OR", Not: "NOT"}


def compile_match(node: Node) -> str:
    """A date-free query as one FTS5 MATCH expression, evaluated left to right like PubMed."""
    return _compile(node, _Fts5())


# --------------------------------------------------------------------------- PostgreSQL

#: PostgreSQL's limits of a tsvector (beyond them it cuts silently): positions run up to
#: 16,383, a lexeme keeps 256 of them and is under 2,048 bytes, a vector under 1 MB.
_PG_LAST_POSITION = 16_383
_PG_POSITIONS = 256
_PG_LEXEME_BYTES = 2_047
_PG_LITERAL_CHARS = 500_000  # of the literal: well under the vector's 1 MB


class _Postgres:
    """The index as a ``tsvector`` column of the docs table, searched through a GIN index."""

    tables: tuple[str, ...] = (_DOCS, _META)
    never = "'zr'"  # a lexeme no vector holds: every lexeme written has its column's "_"

    def create(self, conn: Connection) -> None:
        _create_common(conn, ", exact BOOLEAN NOT NULL, doc TSVECTOR NOT NULL")
        conn.execute(text(f"CREATE INDEX {_DOCS}_doc ON {_DOCS} USING gin (doc)"))
        conn.execute(text(f"CREATE INDEX {_DOCS}_inexact ON {_DOCS} (paper_id) "
                          "WHERE NOT exact"))

    def remove(self, conn: Connection, paper_ids: Sequence[int]) -> None:
        pass  # the entry is the docs row itself

    def add(self, conn: Connection, docs: list[tuple[_Doc, PaperRecord]]) -> None:
        if not docs:
            return
        rows = []
        for d, record in docs:
            vector = tsvector(record)
            rows.append({"paper_id": d.paper_id, "pmid": d.pmid, "hash": d.content_hash,
                         "first": d.first_day, "last": d.last_day,
                         "exact": vector is not None, "doc": vector or ""})
        conn.execute(text(
            f"INSERT INTO {_DOCS} (paper_id, pmid, content_hash, first_day, last_day, exact, "
            "doc) VALUES (:paper_id, :pmid, :hash, :first, :last, :exact, "
            "CAST(:doc AS tsvector))"), rows)

    def key(self, key: str, prefix: bool) -> str:
        return f"'keys_{encode(key)}'" + (":*" if prefix else "")

    def phrase(self, columns: Sequence[str], tokens: Sequence[str], truncated: bool) -> str:
        encoded = _encode_value(tokens).split(" ")
        last = len(encoded) - 1
        phrases = [" <-> ".join(f"'{column}_{t}'" + (":*" if truncated and i == last else "")
                                for i, t in enumerate(encoded)) for column in columns]
        if len(phrases) == 1:
            return phrases[0]
        return self.either([f"({p})" if last else p for p in phrases])

    def either(self, parts: Sequence[str]) -> str:
        return "(" + " | ".join(parts) + ")"

    def operator(self, op: Node, left: str, right: str) -> str:
        return {And: f"({left}) & ({right})", Or: f"({left}) | ({right})",
                Not: f"({left}) & !({right})"}[type(op)]

    def match(self, conn: Connection, expression: str) -> set[str]:
        # The planner prices `@@` as a cheap filter, so for a term it guesses common it
        # prefers reading every vector (175 ms at 20,000 papers) to the GIN index (2 ms).
        # Testing a vector means decompressing it: the index is the better plan whatever
        # the term. SET LOCAL lasts until the search's transaction ends.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = conn.execute(text(
            f"SELECT pmid FROM {_DOCS} WHERE doc @@ CAST(:q AS tsquery)"), {"q": expression})
        return set(rows.scalars())

    def inexact(self, conn: Connection) -> set[str]:
        return set(conn.execute(text(f"SELECT pmid FROM {_DOCS} WHERE NOT exact")).scalars())


def tsvector(record: PaperRecord) -> str | None:
    """``record``'s PostgreSQL tsvector as text, or None when PostgreSQL could not hold all of
    it (see the module's docstring)."""
    positions: dict[str, list[int]] = {}

    def add(column: str, values: Iterable[Sequence[str]]) -> bool:
        at = 0
        for value in values:
            for token in _encode_value(value).split(" "):
                at += 1
                positions.setdefault(f"{column}_{token}", []).append(at)
            at += 1  # one position left out: no phrase spans two values
        return at - 1 <= _PG_LAST_POSITION

    views = text_views(record)
    fits = [add(v, views[v]) for v in TEXT_VIEWS] + [add("co", _collectives(record))]
    if not all(fits) or any(len(at) > _PG_POSITIONS for at in positions.values()):
        return None
    lexemes = [f"'{lexeme}':{','.join(map(str, at))}" for lexeme, at in positions.items()]
    lexemes += [f"'keys_{encode(k)}'" for k in _record_keys(record)]
    literal = " ".join(lexemes)
    if len(literal) > _PG_LITERAL_CHARS or any(
            len(lexeme) > _PG_LEXEME_BYTES for lexeme in lexemes):  # ASCII: chars are bytes
        return None
    return literal


def compile_tsquery(node: Node) -> str:
    """A date-free query as one PostgreSQL tsquery, evaluated left to right like PubMed."""
    return _compile(node, _Postgres())


# ------------------------------------------------------------------------ query evaluation


def _term(term: Term, backend: _Backend) -> str:
    """One term as a full-text expression, mirroring CorpusIndex.term field by field."""
    fld, value, trunc = term.field or "all", term.text.strip(), term.truncated
    if fld in ("pmid", "doi", "la"):
        k = language_code(value) if fld == "la" else value.casefold() if fld == "doi" else value
        return backend.key(f"{fld}\x1f{k}", False) if k else backend.never
    tokens = tokenize(value)
    if not tokens:
        return backend.never
    if fld in MESH_FIELDS or fld == "pt":
        return backend.key(f"{MESH_FIELDS.get(fld, 'pt')}\x1f{' '.join(tokens)}", trunc)
    if fld == "au":
        return backend.either([backend.phrase(("co",), tokens, trunc)] + [
            backend.key(f"au\x1f{k}", is_prefix)
            for k, is_prefix in author_key_lookups(tokens, trunc)])
    return backend.phrase(FIELD_VIEWS[fld], tokens, trunc)


def _compile(node: Node, backend: _Backend) -> str:
    first, ops = _spine(node)
    if isinstance(first, DateRange):
        raise ValueError("a [dp] range cannot be part of a full-text expression")
    out = _term(first, backend)
    for op in ops:
        out = backend.operator(op, out, _compile(op.right, backend))
    return out


def _has_dates(node: Node) -> bool:
    first, ops = _spine(node)
    return isinstance(first, DateRange) or any(_has_dates(op.right) for op in ops)


class _Evaluator:
    def __init__(self, conn: Connection, backend: _Backend) -> None:
        self.conn = conn
        self.backend = backend

    def eval(self, node: Node) -> set[str]:
        if not _has_dates(node):
            return self.backend.match(self.conn, _compile(node, self.backend))
        first, ops = _spine(node)
        hits = (self.dates(first) if isinstance(first, DateRange)
                else self.backend.match(self.conn, _term(first, self.backend)))
        for op in ops:  # the same set algebra as QueryIndex._eval
            if isinstance(op, Or):
                hits |= self.eval(op.right)
            elif hits:
                hits = hits & self.eval(op.right) if isinstance(op, And) else (
                    hits - self.eval(op.right))
        return hits

    def dates(self, rng: DateRange) -> set[str]:
        longest = int(_meta(self.conn, "longest") or 0)
        first, last = rng.first_day.toordinal(), rng.last_day.toordinal()
        # Spans sorted by first day: only those starting at most `longest` days before the
        # range can reach into it (the DateIndex bisect, in SQL).
        rows = self.conn.execute(text(
            f"SELECT pmid FROM {_DOCS} WHERE first_day BETWEEN :low AND :last "
            "AND last_day >= :first"), {"low": first - longest, "last": last, "first": first})
        return set(rows.scalars())


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
