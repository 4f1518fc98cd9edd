"""Alembic environment for evtrack.

evtrack runs migrations itself (``evtrack.store.db.upgrade``) and hands Alembic an open
connection through ``config.attributes["connection"]``; there is no alembic.ini to keep in step.
"""

from alembic import context

from evtrack.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs `alembic` by hand
    raise RuntimeError("run migrations through `evtrack init` (evtrack.store.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables when needed.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
