"""Claims as data: the dataclasses a claims file (``queries/*.toml``) is validated into.

Loading and validation live below the dataclasses (:func:`load_claims`); ``queries/README.md``
documents the file format.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any

from evtrack.errors import ClaimsFileError, QuerySyntaxError, UnsupportedQueryError

#: Stances a curator or a judge may give a claim–paper link.
STANCES = ("supports", "contradicts", "mixed", "mentions", "unclear")

#: Relations a claim may state; the judge reads their direction.
RELATIONS = (
    "blocks",          # subject antagonises / inhibits object
    "activates",
    "increases",
    "decreases",
    "is_required_for",
    "is_sufficient_for",
    "causes",
    "does_not_explain",
    "binds",
)

#: PMID confidence carried from the curated bibliography.
PMID_STATUSES = ("verified", "unverified")

#: Study-design tiers a curator may give (the same words as :mod:`evtrack.design`).
DESIGNS = (
    "meta-analysis",
    "rct",
    "clinical-trial",
    "human-observational",
    "animal-in-vivo",
    "in-vitro",
    "review",
    "other",
)

#: Keys a claim's ``context`` table may use; a closed list, so that a typo is an error.
CONTEXT_KEYS = (
    "species",
    "population",
    "cell_type",
    "region",
    "time_window",
    "dose",
    "route",
    "condition",
    "model",
    "compound",
)


@dataclass(frozen=True)
class ClaimQuery:
    """One PubMed query that finds evidence for a claim."""

    name: str
    term: str


@dataclass(frozen=True)
class CitedReference:
    """A reference the article itself cites for the claim, ECitMatch-ready.

    ``pmid`` may be given; ``pmid_status`` says whether it was checked against PubMed.
    """

    key: str
    journal: str
    year: int
    volume: str | None = None
    first_page: str | None = None
    author: str | None = None  # "Seamans J": last name and initials
    pmid: str | None = None
    pmid_status: str = "unverified"
    doi: str | None = None
    note: str | None = None
    doi_status: str = "unverified"  # same words as pmid_status


@dataclass(frozen=True)
class CuratedEvidence:
    """A curator's stance on one paper for this claim (the curator layer, like INDRA's)."""

    stance: str
    note: str
    pmid: str | None = None
    pmid_status: str = "unverified"
    doi: str | None = None
    label: str | None = None  # "Autry 2011", for people reading the file
    design: str | None = None  # curator's design tier when publication types cannot tell
    doi_status: str = "unverified"  # same words as pmid_status


@dataclass(frozen=True)
class Claim:
    """One mechanistic claim: its words, its structure and how to find evidence for it."""

    id: str
    text: str
    subject: str
    relation: str
    object: str
    context: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # entity -> synonyms
    queries: tuple[ClaimQuery, ...] = ()
    leads_to: tuple[str, ...] = ()  # chain edges: this claim -> those
    questions: tuple[str, ...] = ()  # this claim casts doubt on those
    cited: tuple[CitedReference, ...] = ()
    curated: tuple[CuratedEvidence, ...] = ()
    source_file: str = ""
    set_id: str = ""  # the ``[set]`` id of the file the claim came from

    def terms_for(self, entity: str) -> tuple[str, ...]:
        """The entity's own name followed by its aliases."""
        return (entity, *self.aliases.get(entity, ()))


@dataclass(frozen=True)
class ClaimSetInfo:
    """A file's ``[set]`` table: which article (or question) its claims come from."""

    id: str
    title: str
    article: str | None = None  # title of the source article
    author: str | None = None
    publisher: str | None = None
    article_date: date | None = None
    url: str | None = None
    source_file: str = ""


@dataclass(frozen=True)
class ClaimSet:
    """All claims loaded from one or more files, in file order."""

    claims: tuple[Claim, ...]
    files: tuple[str, ...] = ()
    sets: tuple[ClaimSetInfo, ...] = ()  # one per file, in file order

    def get(self, claim_id: str) -> Claim:
        """The claim with this id; :class:`KeyError` when there is none."""
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """Claim ids in load order."""
        return tuple(c.id for c in self.claims)


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------

#: Claim ids appear in CLI arguments and error messages: keep them plain (at most 64 characters,
#: the store's column width).
_CLAIM_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_PMID = re.compile(r"[1-9][0-9]{0,7}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"(?P<msg>.*) \(at (?P<pos>line \d+, column \d+|end of document)\)",
                            re.DOTALL)
_MAX_NAME = 128  # set ids, query names and cited keys: the store's column width

_SET_KEYS = ("id", "title", "article", "author", "publisher", "article_date", "url")
_CLAIM_KEYS = ("id", "text", "subject", "relation", "object", "context", "aliases",
               "leads_to", "questions", "query", "cited", "curated")
_QUERY_KEYS = ("name", "term")
_CITED_KEYS = ("key", "journal", "year", "volume", "first_page", "author",
               "pmid", "pmid_status", "doi", "doi_status", "note")
_CURATED_KEYS = ("pmid", "pmid_status", "doi", "doi_status", "label", "stance", "design", "note")

_Table = dict[str, Any]


def load_claims(paths: Sequence[str | Path] | str | Path) -> ClaimSet:
    """Load and validate claim files into one :class:`ClaimSet`.

    Each path is a claims file or a directory whose ``*.toml`` files are read in name order.
    Claims keep file order; claim ids must be unique across all files, and ``leads_to`` /
    ``questions`` edges may point into other files. A file named twice is read once.

    Raises :class:`~evtrack.errors.ClaimsFileError` naming the file, the claim and the key
    (``query[1].term``, ``cited[0].year``) of the first problem found.

    >>> claim_set = load_claims(["queries"])            # doctest: +SKIP
    >>> claim_set.get("C6").cited[0].pmid               # doctest: +SKIP
    '21677641'
    """
    if isinstance(paths, str | PathLike):  # a lone path, not a sequence of one-letter paths
        paths = [paths]
    infos: list[ClaimSetInfo] = []
    claims: list[Claim] = []
    files = _claim_files(paths)
    for path in files:
        info, file_claims = _load_file(path)
        infos.append(info)
        claims.extend(file_claims)
    _check_unique_sets(infos)
    _check_unique_claims(claims)
    _check_edge_targets(claims)
    _check_cycles(claims)
    return ClaimSet(claims=tuple(claims), files=tuple(str(f) for f in files), sets=tuple(infos))


# --- files -----------------------------------------------------------------------------------

def _claim_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files behind ``paths``: directories expand to their ``*.toml`` files, sorted."""
    files: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted((f for f in path.glob("*.toml") if f.is_file()), key=lambda f: f.name)
            if not found:
                raise ClaimsFileError(str(path), "no *.toml claim files in this directory")
        elif path.is_file():
            found = [path]
        else:
            raise ClaimsFileError(str(path), "no such file or directory")
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files


def _load_file(path: Path) -> tuple[ClaimSetInfo, tuple[Claim, ...]]:
    """One file's ``[set]`` table and claims, each value validated."""
    where = _Where(str(path))
    data = _parse_toml(path)
    _check_keys(where, data, ("set", "claim"))
    if "set" in data:
        info = _set_info(where.inside("set"), _table(where, data, "set"))
    else:  # a quick file of one's own claims needs no [set]: it is named after the file
        info = ClaimSetInfo(id=path.stem, title=path.stem, source_file=str(path))
    entries = _tables(where, data, "claim")
    if not entries:
        raise where.error(None, "no [[claim]] entries")
    return info, tuple(_claim(w, t, info.id) for w, t in entries)


def _parse_toml(path: Path) -> _Table:
    """The file's TOML document; unreadable, non-UTF-8 and malformed files are errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ClaimsFileError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    # Editors on Windows may prepend a byte-order mark; it carries no meaning in UTF-8.
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ClaimsFileError(str(path), f"not UTF-8 text: byte 0x{raw[exc.start]:02x} "
                                         f"at line {line}, column {column}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POSITION.fullmatch(str(exc))
        problem = f"invalid TOML at {m['pos']}: {m['msg']}" if m else f"invalid TOML: {exc}"
        raise ClaimsFileError(str(path), problem) from exc


# --- where a value sits, for error messages --------------------------------------------------

@dataclass(frozen=True)
class _Where:
    """File, claim and dotted key of the table being read (``query[2]``, ``set``)."""

    path: str
    claim: str | None = None
    base: str = ""

    def key(self, name: str | None) -> str | None:
        if name is None:
            return self.base or None
        return f"{self.base}.{name}" if self.base else name

    def inside(self, name: str) -> _Where:
        return _Where(self.path, self.claim, self.key(name) or "")

    def error(self, name: str | None, problem: str) -> ClaimsFileError:
        return ClaimsFileError(self.path, problem, claim=self.claim, key=self.key(name))


def _key_part(name: str) -> str:
    """A TOML key as written in a dotted key: quoted unless it is a bare key."""
    return name if _BARE_KEY.fullmatch(name) else '"' + name.replace('"', '\\"') + '"'


# --- tables and values -----------------------------------------------------------------------

def _check_keys(where: _Where, table: _Table, allowed: Sequence[str]) -> None:
    """Reject keys outside ``allowed`` (typo protection), suggesting the closest one."""
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
            raise where.error(_key_part(key), f"unknown key ({hint})")


def _type_name(value: object) -> str:
    """What a TOML value is called in the TOML specification."""
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"),
                       (list, "array"), (dict, "table"), (datetime, "date-time"), (date, "date"),
                       (time, "time")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _expected(what: str, value: object) -> str:
    problem = f"expected {what}, got {_type_name(value)}"
    if what == "a string" and isinstance(value, int | float) and not isinstance(value, bool):
        problem += f" (quote it: \"{value}\")"
    return problem


def _table(where: _Where, table: _Table, key: str) -> _Table:
    value = table[key]
    if not isinstance(value, dict):
        raise where.error(key, _expected("a table", value))
    return value


def _tables(where: _Where, table: _Table, key: str) -> list[tuple[_Where, _Table]]:
    """An array of tables (``[[claim.query]]``), each with its own ``_Where``."""
    value = table.get(key, [])
    if not isinstance(value, list):
        raise where.error(key, _expected("an array of tables", value))
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise where.error(f"{key}[{i}]", _expected("a table", item))
        out.append((where.inside(f"{key}[{i}]"), item))
    return out


def _as_string(where: _Where, key: str, value: object) -> str:
    """A non-empty string with its whitespace normalised.

    Runs of whitespace, newlines included, become one space, so long texts and queries may be
    wrapped over several lines of a multi-line TOML string.
    """
    if not isinstance(value, str):
        raise where.error(key, _expected("a string", value))
    if not value.strip():
        raise where.error(key, "must not be empty")
    normalised = " ".join(value.split())
    # TOML lets "\u0000" and other control characters through; PostgreSQL cannot store NUL at
    # all, and none of them belongs in a claim, so the file is refused on every backend alike.
    bad = next((ch for ch in normalised if unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise where.error(key, f"contains the control character U+{ord(bad):04X}")
    return normalised


def _string(where: _Where, table: _Table, key: str) -> str | None:
    """The (normalised) string at ``key``, or None when the key is absent."""
    return _as_string(where, key, table[key]) if key in table else None


def _required(where: _Where, table: _Table, key: str) -> str:
    if key not in table:
        raise where.error(key, "missing required key")
    return _as_string(where, key, table[key])


def _limited(where: _Where, table: _Table, key: str, limit: int = _MAX_NAME) -> str:
    value = _required(where, table, key)
    if len(value) > limit:
        raise where.error(key, f"longer than {limit} characters")
    return value


def _allowed_problem(value: str, allowed: Sequence[str]) -> str:
    if value.lower() in allowed:
        return f"{value!r} must be lowercase: {value.lower()!r}"
    close = difflib.get_close_matches(value, allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "one of: " + ", ".join(allowed)
    return f"{value!r} is not allowed ({hint})"


def _choice(where: _Where, table: _Table, key: str, allowed: Sequence[str]) -> str | None:
    value = _string(where, table, key)
    if value is not None and value not in allowed:
        raise where.error(key, _allowed_problem(value, allowed))
    return value


def _required_choice(where: _Where, table: _Table, key: str, allowed: Sequence[str]) -> str:
    value = _required(where, table, key)
    if value not in allowed:
        raise where.error(key, _allowed_problem(value, allowed))
    return value


def _year(where: _Where, table: _Table, key: str) -> int:
    if key not in table:
        raise where.error(key, "missing required key")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, _expected("an integer", value))
    if not 1000 <= value <= 9999:
        raise where.error(key, f"{value} is not a four-digit year")
    return value


def _date(where: _Where, table: _Table, key: str) -> date | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, datetime) or not isinstance(value, date):
        raise where.error(key, _expected("a TOML date such as 2014-10-04 (unquoted)", value))
    return value


def _url(where: _Where, table: _Table, key: str) -> str | None:
    value = _string(where, table, key)
    if value is not None and not value.startswith(("https://", "http://")):
        raise where.error(key, f"{value!r} is not an http(s) URL")
    return value


def _pmid(where: _Where, table: _Table, key: str = "pmid") -> str | None:
    value = _string(where, table, key)
    if value is not None and not _PMID.fullmatch(value):
        raise where.error(key, f"{value!r} is not a PMID (1 to 8 digits, no leading zero)")
    return value


def _doi(where: _Where, table: _Table, key: str = "doi") -> str | None:
    value = _string(where, table, key)
    if value is None:
        return None
    if not value.startswith("10.") or "/" not in value or any(c.isspace() for c in value):
        hint = "" if value.startswith("10.") else ", without a https://doi.org/ or doi: prefix"
        raise where.error(key, f"{value!r} is not a DOI (it starts with '10.' and contains "
                               f"'/'{hint})")
    return value


def _status(where: _Where, table: _Table, key: str, of: str) -> str:
    """``pmid_status`` / ``doi_status``: only meaningful next to the value it qualifies."""
    status = _choice(where, table, key, PMID_STATUSES)
    if status is None:
        return "unverified"
    if of not in table:
        raise where.error(key, f"given without {of}")
    return status


def _string_list(where: _Where, key: str, value: object) -> tuple[str, ...]:
    """A non-empty array of distinct non-empty strings."""
    if not isinstance(value, list):
        raise where.error(key, _expected("an array of strings", value))
    out: list[str] = []
    for i, item in enumerate(value):
        s = _as_string(where, f"{key}[{i}]", item)
        if s in out:
            raise where.error(f"{key}[{i}]", f"duplicate entry {s!r}")
        out.append(s)
    return tuple(out)


# --- the [set] table -------------------------------------------------------------------------

def _set_info(where: _Where, table: _Table) -> ClaimSetInfo:
    _check_keys(where, table, _SET_KEYS)
    return ClaimSetInfo(
        id=_limited(where, table, "id"),
        title=_required(where, table, "title"),
        article=_string(where, table, "article"),
        author=_string(where, table, "author"),
        publisher=_string(where, table, "publisher"),
        article_date=_date(where, table, "article_date"),
        url=_url(where, table, "url"),
        source_file=where.path,
    )


# --- one [[claim]] ---------------------------------------------------------------------------

def _claim(entry: _Where, table: _Table, set_id: str) -> Claim:
    """A claim; errors before its id is known name it by position (``claim[3].id``)."""
    claim_id = _required(entry, table, "id")
    if not _CLAIM_ID.fullmatch(claim_id):
        raise entry.error("id", f"{claim_id!r} is not a claim id (a letter, then up to 63 "
                                "letters, digits, '_', '-' or '.')")
    where = _Where(entry.path, claim_id)
    _check_keys(where, table, _CLAIM_KEYS)
    claim = Claim(
        id=claim_id,
        text=_required(where, table, "text"),
        subject=_required(where, table, "subject"),
        relation=_required_choice(where, table, "relation", RELATIONS),
        object=_required(where, table, "object"),
        context=_context(where, table),
        aliases=_aliases(where, table),
        leads_to=_edges(where, table, "leads_to"),
        questions=_edges(where, table, "questions"),
        queries=tuple(_query(w, t) for w, t in _tables(where, table, "query")),
        cited=tuple(_cited(w, t) for w, t in _tables(where, table, "cited")),
        curated=tuple(_curated(w, t) for w, t in _tables(where, table, "curated")),
        source_file=entry.path,
        set_id=set_id,
    )
    _check_edge_kinds(where, claim)
    _check_unique(where, "query", "name", [q.name for q in claim.queries], "query name")
    _check_unique(where, "cited", "key", [c.key for c in claim.cited], "cited key")
    _check_same_paper(where, claim.curated)
    return claim


def _context(where: _Where, table: _Table) -> dict[str, str]:
    if "context" not in table:
        return {}
    inner = where.inside("context")
    context = _table(where, table, "context")
    _check_keys(inner, context, CONTEXT_KEYS)
    return {k: _as_string(inner, k, v) for k, v in context.items()}


def _aliases(where: _Where, table: _Table) -> dict[str, tuple[str, ...]]:
    if "aliases" not in table:
        return {}
    inner = where.inside("aliases")
    out: dict[str, tuple[str, ...]] = {}
    for entity, synonyms in _table(where, table, "aliases").items():
        key = _key_part(entity)
        name = " ".join(entity.split())
        if not name:
            raise inner.error(key, "entity name must not be empty")
        if name in out:
            raise inner.error(key, f"entity {name!r} is listed twice")
        out[name] = _string_list(inner, key, synonyms)
        if not out[name]:
            raise inner.error(key, "must list at least one synonym")
    return out


def _edges(where: _Where, table: _Table, key: str) -> tuple[str, ...]:
    ids = _string_list(where, key, table.get(key, []))
    for i, target in enumerate(ids):
        if not _CLAIM_ID.fullmatch(target):
            raise where.error(f"{key}[{i}]", f"{target!r} is not a claim id")
    return ids


def _check_edge_kinds(where: _Where, claim: Claim) -> None:
    """A claim may not question itself, nor both lead to and question the same claim."""
    for i, target in enumerate(claim.questions):
        if target == claim.id:
            raise where.error(f"questions[{i}]", "a claim cannot question itself")
        if target in claim.leads_to:
            raise where.error(f"questions[{i}]", f"{target!r} is also in leads_to")


def _query(where: _Where, table: _Table) -> ClaimQuery:
    _check_keys(where, table, _QUERY_KEYS)
    query = ClaimQuery(name=_limited(where, table, "name"), term=_required(where, table, "term"))
    _check_query_syntax(where, "term", query.term)
    return query


def _check_query_syntax(where: _Where, key: str, term: str) -> None:
    """Malformed queries are load errors; PubMed syntax the offline evaluator lacks is not."""
    # Imported here: querylang is a sibling with its own dependencies, and importing
    # evtrack.claims (for its dataclasses) should not pull it in.
    from evtrack.querylang import parse_query

    try:
        parse_query(term)
    except UnsupportedQueryError:
        return  # valid on PubMed; the offline source reports it when the query is run
    except QuerySyntaxError as exc:
        raise where.error(key, f"invalid query: {exc}") from exc


def _cited(where: _Where, table: _Table) -> CitedReference:
    _check_keys(where, table, _CITED_KEYS)
    return CitedReference(
        key=_limited(where, table, "key"),
        journal=_required(where, table, "journal"),
        year=_year(where, table, "year"),
        volume=_string(where, table, "volume"),
        first_page=_string(where, table, "first_page"),
        author=_string(where, table, "author"),
        pmid=_pmid(where, table),
        pmid_status=_status(where, table, "pmid_status", "pmid"),
        doi=_doi(where, table),
        doi_status=_status(where, table, "doi_status", "doi"),
        note=_string(where, table, "note"),
    )


def _curated(where: _Where, table: _Table) -> CuratedEvidence:
    _check_keys(where, table, _CURATED_KEYS)
    evidence = CuratedEvidence(
        pmid=_pmid(where, table),
        pmid_status=_status(where, table, "pmid_status", "pmid"),
        doi=_doi(where, table),
        doi_status=_status(where, table, "doi_status", "doi"),
        label=_string(where, table, "label"),
        stance=_required_choice(where, table, "stance", STANCES),
        design=_choice(where, table, "design", DESIGNS),
        note=_required(where, table, "note"),
    )
    if not (evidence.pmid or evidence.doi or evidence.label):
        raise where.error(None, "needs a pmid, a doi or a label to name the paper")
    return evidence


def _check_unique(where: _Where, array: str, field_name: str, values: Sequence[str],
                  what: str) -> None:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            raise where.error(f"{array}[{i}].{field_name}",
                              f"duplicate {what} {value!r} (also {array}[{first[value]}])")
        first.setdefault(value, i)


def _check_same_paper(where: _Where, curated: Sequence[CuratedEvidence]) -> None:
    """One stance per paper and claim: the same PMID, DOI or (bare) label twice is an error."""
    first: dict[tuple[str, str], int] = {}
    for i, e in enumerate(curated):
        idents = [("pmid", e.pmid), ("doi", (e.doi or "").lower() or None)]
        if not (e.pmid or e.doi):
            idents.append(("label", e.label))
        for kind, value in idents:
            if value is None:
                continue
            if (kind, value) in first:
                raise where.error(f"curated[{i}].{kind}", f"same paper as "
                                  f"curated[{first[kind, value]}] ({kind} {value})")
            first[kind, value] = i


# --- across files ----------------------------------------------------------------------------

def _check_unique_sets(infos: Sequence[ClaimSetInfo]) -> None:
    first: dict[str, str] = {}
    for info in infos:
        if info.id in first:
            raise ClaimsFileError(info.source_file, f"duplicate set id {info.id!r} "
                                  f"(first used in {first[info.id]}; without a [set] table "
                                  "the set id is the file name)", key="set.id")
        first[info.id] = info.source_file


def _check_unique_claims(claims: Sequence[Claim]) -> None:
    first: dict[str, str] = {}
    for c in claims:
        if c.id in first:
            where = "earlier in this file" if first[c.id] == c.source_file else f"in {first[c.id]}"
            raise ClaimsFileError(c.source_file, f"duplicate claim id (first used {where})",
                                  claim=c.id, key="id")
        first[c.id] = c.source_file


def _check_edge_targets(claims: Sequence[Claim]) -> None:
    known = {c.id for c in claims}
    for c in claims:
        for kind in ("leads_to", "questions"):
            for i, target in enumerate(getattr(c, kind)):
                if target not in known:
                    raise ClaimsFileError(c.source_file, f"unknown claim {target!r}",
                                          claim=c.id, key=f"{kind}[{i}]")


def _check_cycles(claims: Sequence[Claim]) -> None:
    """``leads_to`` edges must form a DAG: a chain whose end is its start has no weakest link."""
    graph = {c.id: c.leads_to for c in claims}
    by_id = {c.id: c for c in claims}
    position = {c.id: i for i, c in enumerate(claims)}
    state: dict[str, str] = {}
    for start in graph:
        found = None if start in state else _find_cycle(graph, start, state)
        if found:
            k = found.index(min(found, key=position.__getitem__))
            cycle = found[k:] + found[:k]  # start the cycle at its earliest claim
            head = by_id[cycle[0]]
            raise ClaimsFileError(head.source_file, "leads_to edges form a cycle: "
                                  + " -> ".join([*cycle, cycle[0]]), claim=head.id,
                                  key="leads_to")


def _find_cycle(graph: dict[str, tuple[str, ...]], start: str,
                state: dict[str, str]) -> list[str] | None:
    """Depth-first search from ``start``; the claims on the first cycle met, in edge order."""
    path = [start]
    pending: list[Iterator[str]] = [iter(graph[start])]
    state[start] = "open"
    while pending:
        target = next(pending[-1], None)
        if target is None:
            state[path.pop()] = "done"
            pending.pop()
        elif state.get(target) == "open":
            return path[path.index(target):]
        elif target not in state:
            state[target] = "open"
            path.append(target)
            pending.append(iter(graph[target]))
    return None
