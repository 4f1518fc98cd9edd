"""Where evtrack's own data lives: default claims, migrations and the bundled snapshot.

In a wheel, ``queries/`` and ``db/migrations/`` are carried inside the package under
``evtrack/_bundled/`` (see pyproject's force-include); in a source checkout (editable install,
tests) they are read from the repository root. The snapshot is ordinary package data.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE_DIR / "_bundled"
_CHECKOUT_ROOT = _PACKAGE_DIR.parent


def _find(bundled: Path, checkout: Path) -> Path:
    if bundled.is_dir():
        return bundled
    return checkout


def default_claims_dir() -> Path:
    """The claim sets evtrack ships (the ketamine article's claims)."""
    return _find(_BUNDLED / "queries", _CHECKOUT_ROOT / "queries")


def migrations_dir() -> Path:
    """The Alembic migration scripts."""
    return _find(_BUNDLED / "migrations", _CHECKOUT_ROOT / "db" / "migrations")


def snapshot_files() -> list[Path]:
    """PubMed XML files of the bundled offline snapshot (bibliographic facts only)."""
    return sorted((_PACKAGE_DIR / "snapshot").glob("*.xml"))
