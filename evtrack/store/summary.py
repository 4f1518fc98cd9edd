"""The report's per-claim counts as SQL aggregates, and the few links worth loading.

A claim's report needs three things from its links: how many there are per design tier and
stance bucket, the links that can move its score (papers, not retracted, whose stance is
supports / contradicts / mixed), and a handful more that it names one by one (retracted papers,
links with a researcher's verdict, papers the article cites or the curator lists). At a million
links the counts are ``GROUP BY`` queries here and only the rest comes into Python: a tenth of
the links or fewer (most papers a claim's queries find are judged "mentions", "unclear" or
"irrelevant"), and the score needs every one of those anyway.

Why aggregates on demand, not a per-claim table kept current by every write path: a claim's
figures change when a link, a judgement, a verdict, a paper (its retraction, its design), an
author list or a curated design changes, and the score also depends on the priors file, the
judges' error re-learnt from every verdict in the store and the ``--as-of`` date. A table kept
current by refresh, ingest, verdict and the judges would be one more thing that can go stale,
and would still need this path for ``--as-of`` and ``--priors``. The aggregates read the
ledger itself, in the report's snapshot, and cannot disagree with it.

The stance that counts for a link is decided by precedence (:mod:`evtrack.report`): the newest
verdict, else the curator's judgement, else the automatic judge's. In SQL a link's *effective
judgement* is its curator judgement if it has one, else its automatic judgement with the highest
id (the one written last, when two judges judged the link; the full report takes the same one).
The aggregates count links per claim and paper's tier, and those whose effective judgement says
"mentions"; every link whose effective judgement counts, or whose stance a verdict decides, or
whose tier a curator's design sets, is among the loaded links, and :mod:`evtrack.report` puts
each of them in its own bucket. Everything is SQLAlchemy Core: the same statements run on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    any_,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from evtrack.store import ledger
from evtrack.store.db import read_snapshot
from evtrack.store.models import (
    CitedReference,
    CuratedRef,
    Judgement,
    Link,
    Paper,
    Verdict,
)

CURATED_METHOD = "curated-file"  # evtrack.refresh.CURATED_METHOD (refresh imports the store)
#: The stances that move a score.
COUNTED = ("supports", "contradicts", "mixed")
#: How many ids go into one ``IN (…)`` (SQLite allows 32,766 bound parameters, psycopg 65,535).
IN_BATCH = 5_000


def published_by_clause(as_of: date) -> ColumnElement[bool]:
    """:func:`evtrack.timeline.published_by` as SQL over ``papers``."""
    y, m, d = as_of.year, as_of.month, as_of.day
    return and_(Paper.pub_year.is_not(None), or_(
        Paper.pub_year < y,
        and_(Paper.pub_year == y, or_(
            Paper.pub_month.is_(None), Paper.pub_month < m,
            and_(Paper.pub_month == m, or_(Paper.pub_day.is_(None), Paper.pub_day <= d))))))


def _scope(stmt: Select[*tuple[Any, ...]], claim_ids: Sequence[str] | None,
           as_of: date | None) -> Select[*tuple[Any, ...]]:
    if claim_ids is not None:
        stmt = stmt.where(Link.claim_id.in_(claim_ids))
    if as_of is not None:
        stmt = stmt.where(published_by_clause(as_of))
    return stmt


def effective_judgement() -> ColumnElement[bool]:
    """True for the one judgement of its link that counts (see the module docstring)."""
    other = aliased(Judgement)
    # A curator's judgement always counts (one per link); an automatic one unless the link
    # has a curator's, or a later automatic one. Written so, SQLite looks the others up only
    # for the automatic judgements the outer query keeps.
    return or_(Judgement.method == CURATED_METHOD, ~exists().where(
        other.link_id == Judgement.link_id, other.id != Judgement.id,
        or_(other.method == CURATED_METHOD, other.id > Judgement.id)))


def _tier_totals(claim_ids: Sequence[str] | None,
                 as_of: date | None) -> Select[*tuple[Any, ...]]:
    """Claim, papers' design tier, number of links."""
    return _scope(select(Link.claim_id, Paper.design_tier, func.count())
                  .join(Paper, Paper.id == Link.paper_id), claim_ids, as_of
                  ).group_by(Link.claim_id, Paper.design_tier)


def _by_claim(rows: Iterable[Any]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for cid, tier, n in rows:
        out.setdefault(cid, Counter())[tier] = n
    return out


def _judged_counts(claim_ids: Sequence[str] | None, as_of: date | None,
                   stances: Sequence[str]) -> Select[*tuple[Any, ...]]:
    """Claim, papers' design tier, effective judgement's stance (of ``stances``), links."""
    return _scope(select(Link.claim_id, Paper.design_tier, Judgement.stance, func.count())
                  .select_from(Judgement).join(Link, Link.id == Judgement.link_id)
                  .join(Paper, Paper.id == Link.paper_id)
                  .where(Judgement.stance.in_(stances), effective_judgement()),
                  claim_ids, as_of).group_by(Link.claim_id, Paper.design_tier, Judgement.stance)


def _by_claim_and_tier(rows: Iterable[Any]) -> dict[tuple[str, str], Counter[str]]:
    out: dict[tuple[str, str], Counter[str]] = {}
    for cid, tier, stance, n in rows:
        out.setdefault((cid, tier), Counter())[stance] = n
    return out


#: :func:`counts`: claim → tier → links, and (claim, tier) → "mentions" → links.
Counts = tuple[dict[str, Counter[str]], dict[tuple[str, str], Counter[str]]]


def counts(conn: Connection | Session, claim_ids: Sequence[str] | None,
           as_of: date | None, *, before_rows: Callable[[], object] = lambda: None) -> Counts:
    """The two aggregates a summary report's counts start from: links per claim and papers'
    design tier, and those of them whose effective judgement says "mentions" (every other
    stance that counts is in the loaded links). Both statements run, then ``before_rows()``,
    then their rows are read."""
    totals = conn.execute(_tier_totals(claim_ids, as_of))
    mentions = conn.execute(_judged_counts(claim_ids, as_of, ("mentions",)))
    before_rows()
    return _by_claim(totals), _by_claim_and_tier(mentions)


@contextmanager
def counts_alongside(engine: Engine, claim_ids: Sequence[str] | None, as_of: date | None,
                     generation: int) -> Iterator[Callable[[Connection], Counts]]:
    """:func:`counts` run on a second connection, in a thread, while the caller goes on
    reading in its own snapshot; yields a function that gives them in that snapshot.

    SQLite aggregates a statement in its first step, with the GIL let go, so on two cores the
    two cost the report little (at a million links they are 4 s of the summary's reads). Their
    rows, one step each, are read only once the caller asks for them: read meanwhile, every
    row waited for the busy caller to let go of the GIL (16,000 rows, 4 s). PostgreSQL
    answers with every row at once. They must count the caller's ledger:
    the second snapshot is used only when it sees the caller's ledger ``generation``
    (:func:`evtrack.store.ledger.generation`: every writing transaction bumps it), else the
    counts are taken again in the caller's snapshot. Not for a store that one connection
    serves (SQLite in memory): there the counts run in the caller's snapshot directly."""
    if isinstance(engine.pool, StaticPool | SingletonThreadPool):
        yield lambda conn: counts(conn, claim_ids, as_of)
        return

    asked = threading.Event()

    def elsewhere() -> Counts | None:
        with read_snapshot(engine) as conn:
            if ledger.generation(conn) != generation:  # the first read: it pins the snapshot
                return None
            return counts(conn, claim_ids, as_of, before_rows=asked.wait)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evtrack-counts") as pool:
        future = pool.submit(elsewhere)

        def result(conn: Connection) -> Counts:
            asked.set()
            found = future.result()
            return found if found is not None else counts(conn, claim_ids, as_of)

        try:
            yield result
        finally:
            asked.set()  # never leave the thread waiting: the pool's exit joins it


def base_columns() -> Select[*tuple[Any, ...]]:
    """A link and its paper, as :mod:`evtrack.report` builds a row from them."""
    return (select(Link.id, Link.claim_id, Paper.id.label("paper_id"), Paper.pmid, Paper.title,
                   Paper.pub_year, Paper.pub_month, Paper.pub_day, Paper.journal_iso,
                   Paper.journal, Paper.doi, Paper.design_tier, Paper.design_reason,
                   Paper.is_retracted)
            .join(Paper, Paper.id == Link.paper_id))


def detail_links(conn: Connection | Session, claim_ids: Sequence[str] | None,
                 as_of: date | None) -> list[Row[*tuple[Any, ...]]]:
    """The links a claim's report names one by one, each once: those whose effective
    judgement counts for or against it, retracted papers, links with a verdict or a curator's
    design, and papers the article cites or the curator lists for the claim."""
    counted = base_columns().join(Judgement, Judgement.link_id == Link.id).where(
        Judgement.stance.in_(COUNTED), effective_judgement())
    # From the (few) retracted papers to their links, not from every link to its paper.
    gone = aliased(Paper)
    retracted = base_columns().where(Link.paper_id.in_(
        select(gone.id).where(gone.is_retracted.is_(True))))
    judged = base_columns().where(Link.id.in_(select(Verdict.link_id)))
    curated = base_columns().join(CuratedRef, and_(CuratedRef.claim_id == Link.claim_id,
                                                   CuratedRef.pmid == Paper.pmid))
    cited = base_columns().join(CitedReference, and_(
        CitedReference.claim_id == Link.claim_id, CitedReference.resolved_pmid == Paper.pmid))
    seen: dict[int, Row[*tuple[Any, ...]]] = {}
    for stmt in (counted, retracted, judged, curated, cited):
        for row in conn.execute(_scope(stmt, claim_ids, as_of)).all():
            seen.setdefault(row.id, row)
    return list(seen.values())


def among(conn: Connection | Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values in one parameter: on PostgreSQL ``column =
    ANY(array)``, where a list of thousands costs the planner more than the query; on SQLite
    ``column IN (SELECT value FROM json_each(?))``, where SQLAlchemy spent more time writing
    out thousands of placeholders per statement than SQLite spent on it (a report of the
    1M-link bench store: 1.1 s of 87 statements' compiling)."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    if bind.dialect.name == "sqlite":
        listed = func.json_each(json.dumps(list(values))).table_valued("value")
        return column.in_(select(listed.c.value))
    return column.in_(values)


def batches(ids: Sequence[Any], size: int = IN_BATCH) -> Iterator[Sequence[Any]]:
    """``ids`` in slices small enough for one ``IN (…)``."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def plain_rows(conn: Connection, stmt: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``stmt``'s rows as the driver returns them, plain tuples: no :class:`~sqlalchemy.Row`
    per row (a million of them cost seconds). Only for columns that need no conversion from
    what the driver gives (text, integers, floats)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args = (tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional
            else params)
    # Through the Connection, not a cursor of our own: it keeps the snapshot's transaction.
    result = conn.exec_driver_sql(str(compiled), args)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
