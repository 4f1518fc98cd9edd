"""snapshot link states once: each claim's distinct states, each PMID with its state's position

``claim_snapshots.links_json`` held every link's state written out, ``{pmid: [stance, tier,
decider, retracted, [notices]], …}``: at a million links 62 MB per refresh, nearly all of it
the same few states again. It now holds ``[[state, …], {pmid: position, …}]`` — the claim's
distinct states in order of first use over the PMIDs in order, then each PMID with the
position of its state (:func:`evtrack.changes.links_json`): 16 MB at a million links. This
revision rewrites the snapshots already kept; ``downgrade`` writes them back as they were.
No table changes: the revision is here so that an evtrack that only knows the first format
refuses the store with its "written by a newer evtrack" message instead of misreading it.

The conversion is written out here, not imported: a migration must keep doing what it did
whatever evtrack's code becomes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:45:00
"""

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Snapshot rows read and rewritten at a time (a row of a claim with ten thousand links is
#: some 600 kB in the first format).
BATCH = 200

_rows = sa.table("claim_snapshots", sa.column("id", sa.Integer),
                 sa.column("links_json", sa.Text))


def once(text: str) -> str:
    """A first-format row as this revision keeps it."""
    links = json.loads(text)
    if not isinstance(links, dict):
        return text  # already the new format
    index: dict[str, int] = {}
    states: list[str] = []
    at = []
    for pmid in sorted(links):
        state = json.dumps(links[pmid], separators=(",", ":"))
        i = index.get(state)
        if i is None:
            i = index[state] = len(states)
            states.append(state)
        at.append(f"{json.dumps(pmid)}:{i}")
    return "[[" + ",".join(states) + "],{" + ",".join(at) + "}]"


def written_out(text: str) -> str:
    """A row of this revision as the first format kept it (as ``json.dumps`` wrote it)."""
    data: Any = json.loads(text)
    if isinstance(data, dict):
        return text
    states, at = data
    return json.dumps({pmid: states[i] for pmid, i in at.items()})


def _rewrite(convert: Callable[[str], str]) -> None:
    bind = op.get_bind()
    last = 0
    while True:
        batch = bind.execute(sa.select(_rows.c.id, _rows.c.links_json)
                             .where(_rows.c.id > last).order_by(_rows.c.id)
                             .limit(BATCH)).all()
        if not batch:
            return
        changed = [{"row_id": row_id, "links": new} for row_id, text in batch
                   for new in [convert(text)] if new != text]
        if changed:
            bind.execute(sa.update(_rows).where(_rows.c.id == sa.bindparam("row_id"))
                         .values(links_json=sa.bindparam("links")), changed)
        last = batch[-1][0]


def upgrade() -> None:
    _rewrite(once)


def downgrade() -> None:
    _rewrite(written_out)
