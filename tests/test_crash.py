"""SIGKILL a running ``evtrack refresh`` at seeded random moments, then rerun it: every trial
ends with ``PRAGMA integrity_check`` = ok and the database an uninterrupted refresh makes.

A small seeded sample of ``bench/chaos.py``'s kill campaign (20+ trials there): one trial per
way of drawing the moment — anywhere in the run, right after a request, in the database-heavy
tail after the last request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from evtrack.resources import snapshot_files
from evtrack.testing import chaos
from evtrack.testing.eutils_server import EutilsServer, records_of
from evtrack.testing.ledger_check import Dump, canonical_dump

pytestmark = pytest.mark.slow

SEED = 20_241  # a multiple of 3: trial i draws its moment the i-th way (kill_trial)


class Campaign:
    def __init__(self, server: EutilsServer, claims_path: Path, work: Path,
                 new_db: Callable[[], Engine], revised: list) -> None:
        self.server, self.claims_path, self.work, self.new_db = server, claims_path, work, new_db
        self.revised = revised
        engine = new_db()
        server.set_records(revised)
        url = engine.url.render_as_string(hide_password=False)
        self.profile = chaos.profile_refresh(server, url, claims_path, work)
        self.reference: Dump = canonical_dump(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def campaign(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    work = tmp_path_factory.mktemp("crash")
    claims_path, claims = chaos.load_chaos_claims(work)
    first = chaos.linked_corpus(records_of(snapshot_files()))
    with EutilsServer(first) as server:
        new_db = chaos.prepared_copies(databases, claims, server, first, work)
        yield Campaign(server, claims_path, work, new_db, chaos.revised_corpus(first))


@pytest.mark.parametrize("trial", range(3), ids=["anywhere", "after-a-request", "in-the-tail"])
def test_sigkill_then_rerun_converges(campaign: Campaign, trial: int) -> None:
    result = chaos.kill_trial(SEED + trial, campaign.new_db, campaign.server, campaign.revised,
                              campaign.claims_path, campaign.work, campaign.profile,
                              campaign.reference)
    assert not result.outcome.startswith("crashed"), result.message
    assert result.integrity_failures == 0, result.message
    assert (result.rows_lost, result.rows_extra) == (0, 0), result
    assert result.verdicts_changed == 0
    assert result.error_bodies == 0
    if trial == 1:  # killed right after request k (k ≤ all of them): always mid-run
        assert result.outcome == "killed" and result.gap > 0
