"""Checks of a ledger's state: a canonical dump to compare databases, integrity, error bodies.

Two ledgers are "the same" when their canonical dumps are equal: the same papers (by PMID and
content hash), links, link provenance, judgements, verdicts, citation resolutions and query hit
counts. Row ids, run ids and timestamps of *runs* are left out (a rerun legitimately differs
there); a verdict's own timestamp and text are kept, byte for byte.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from evtrack.store.models import (
    CitedReference,
    ClaimQuery,
    Judgement,
    Link,
    LinkProvenance,
    Paper,
    Verdict,
)

Dump = dict[str, list[tuple[Any, ...]]]

# What NCBI's error answers look like, should one ever be stored as a record.
_ERROR_MARKERS = re.compile(r"<!doctype html|<html|<ERROR>|API rate limit exceeded|"
                            r"Unable to obtain query|Search Backend failed", re.IGNORECASE)


def canonical_dump(engine: Engine) -> Dump:
    """The ledger's content, table by table, as sorted tuples (see the module docstring)."""
    with engine.connect() as conn:
        def rows(stmt: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(r) for r in conn.execute(stmt)), key=repr)

        return {
            "papers": rows(select(Paper.pmid, Paper.content_hash)),
            "links": rows(select(Link.claim_id, Paper.pmid).join(Paper)),
            "provenance": rows(select(Link.claim_id, Paper.pmid, LinkProvenance.kind,
                                      LinkProvenance.detail)
                               .join(Link, Link.id == LinkProvenance.link_id).join(Paper)),
            "judgements": rows(select(Link.claim_id, Paper.pmid, Judgement.method,
                                      Judgement.version, Judgement.stance, Judgement.rationale,
                                      Judgement.confidence, Judgement.decided_by)
                               .join(Link, Link.id == Judgement.link_id).join(Paper)),
            "verdicts": rows(select(Link.claim_id, Paper.pmid, Verdict.stance, Verdict.reviewer,
                                    Verdict.note, Verdict.tag, Verdict.created_at)
                             .join(Link, Link.id == Verdict.link_id).join(Paper)),
            "citations": rows(select(CitedReference.claim_id, CitedReference.key,
                                     CitedReference.resolved_pmid, CitedReference.resolution)),
            "query_counts": rows(select(ClaimQuery.claim_id, ClaimQuery.name,
                                        ClaimQuery.last_count)),
        }


def verdict_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Every verdict exactly as stored (id, link, stance, reviewer, note, tag, time), with the
    claim and PMID its link joins — what "a verdict is unchanged" is checked against."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Verdict.id, Verdict.link_id, Link.claim_id, Paper.pmid, Verdict.stance,
                   Verdict.reviewer, Verdict.note, Verdict.tag, Verdict.created_at)
            .join(Link, Link.id == Verdict.link_id).join(Paper).order_by(Verdict.id))]


def dump_difference(reference: Dump, got: Dump) -> tuple[int, int]:
    """(rows of ``reference`` missing from ``got``, rows of ``got`` not in ``reference``)."""
    lost = extra = 0
    for table in reference.keys() | got.keys():
        want, have = Counter(reference.get(table, [])), Counter(got.get(table, []))
        lost += sum((want - have).values())
        extra += sum((have - want).values())
    return lost, extra


def changed_rows(before: Iterable[tuple[Any, ...]], after: Iterable[tuple[Any, ...]]) -> int:
    """How many of ``before``'s rows are not in ``after`` exactly (changed or gone)."""
    return sum((Counter(before) - Counter(after)).values())


def error_bodies_stored(engine: Engine) -> list[str]:
    """PMIDs of stored papers whose text looks like an NCBI error answer (should be none)."""
    with engine.connect() as conn:
        return [pmid for pmid, title, abstract in conn.execute(
                    select(Paper.pmid, Paper.title, Paper.abstract))
                if _ERROR_MARKERS.search(f"{title}\n{abstract}")]


def sqlite_integrity(engine: Engine) -> str | None:
    """``PRAGMA integrity_check`` of a SQLite file ("ok" when sound); None for other backends.

    Opened with the stdlib driver in read-only mode, so that checking never repairs, migrates
    or checkpoints anything first.
    """
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    uri = Path(engine.url.database).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in result)
