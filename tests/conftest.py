"""Shared test fixtures.

Recorded NCBI responses and evaluation data are read from ``../shared`` next to the repository
root (never copied into the repo); the path is derived from this file, not the working directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "entrez"


@pytest.fixture(scope="session")
def entrez_fixtures() -> Path:
    """Directory of real recorded NCBI E-utilities responses."""
    if not FIXTURES.is_dir():
        pytest.fail(f"recorded NCBI responses not found at {FIXTURES}: "
                    "../shared must sit beside the repository")
    return FIXTURES
