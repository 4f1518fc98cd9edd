"""The NCBI API key never lands in the database, logs, reports, exports or error messages.

A refresh runs with a recognisable fake key against the E-utilities stand-in — which, like NCBI,
echoes the key back in its 429 bodies — through retries, a failed run and a successful one; then
every artefact of the run is searched for the key: the database's bytes (and, on a server, every
text column), standard output and error of every command, the lock file, the reports and the
exports written.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import String, Text, inspect, select, text

from evtrack.resources import snapshot_files
from evtrack.store.db import open_store
from evtrack.testing import chaos
from evtrack.testing.eutils_server import EutilsServer, Fault, records_of

pytestmark = pytest.mark.slow

KEY = "CANARY0api0key0d4c1f9b2e8a7c6d5e4f3a2b1"
PROBES = (KEY, KEY[:16], KEY[-16:])


@pytest.fixture(scope="module")
def server() -> Iterator[EutilsServer]:
    first = chaos.linked_corpus(records_of(snapshot_files()))
    with EutilsServer(first, stall=30) as running:
        yield running


def leaks(blob: bytes) -> list[str]:
    return [p for p in PROBES if p.encode() in blob or p.encode("utf-16-le") in blob]


def test_the_search_finds_a_planted_key(tmp_path: Path) -> None:
    """The check below can fail: a key written anywhere in an artefact is found."""
    (tmp_path / "planted.txt").write_text(f"error: api_key={KEY}&db=pubmed", encoding="utf-8")
    assert leaks((tmp_path / "planted.txt").read_bytes()) == list(PROBES)


def test_the_api_key_is_in_no_artefact_of_a_refresh(server: EutilsServer, db_url: str,
                                                    tmp_path: Path) -> None:
    claims_path, _claims = chaos.load_chaos_claims(tmp_path)
    env = chaos.refresh_env(server, db_url, api_key=KEY)
    outputs: list[bytes] = []

    def evtrack(*args: str) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run([sys.executable, "-m", "evtrack", "--claims", str(claims_path),
                               *args], env=env, cwd=tmp_path, capture_output=True, timeout=600,
                              check=False)
        outputs.extend((done.stdout, done.stderr))
        return done

    # 1. Failures: 429s echoing the key, then an outage that ends the run with an error.
    server.clear_faults()
    server.inject(Fault("429", "esearch", 1, times=2), Fault("503", "efetch", 1, times=None))
    failed = evtrack("refresh")
    assert failed.returncode == 1 and b"Error: NCBI efetch failed" in failed.stderr
    # 2. A request NCBI rejects outright (HTTP 400, not retried), its body echoing the key;
    #    the GET's URL, which the HTTPError carries, holds it too.
    server.clear_faults()
    server.inject(Fault("400", "esearch", 1))
    rejected = evtrack("refresh")
    assert rejected.returncode == 1
    assert b"Error: NCBI esearch rejected the request: HTTP 400" in rejected.stderr
    # 3. Then a refresh that succeeds, and every way of looking at the result.
    server.clear_faults()
    server.inject(Fault("reset", "esearch", 2), Fault("html", "efetch", 1))
    assert evtrack("refresh").returncode == 0
    for args in (["status"], ["report", "--format", "json"],
                 ["report", "--format", "html", "-o", "r.html"], ["export", "--out", "exports"]):
        assert evtrack(*args).returncode == 0, args
    assert any(KEY in s.params.get("api_key", [""])[0] for s in server.served)  # it was used
    assert any(leaks(s.params.get("api_key", [""])[0].encode()) for s in server.served)

    found = {f"output #{i}": leaks(blob) for i, blob in enumerate(outputs)}
    for path in tmp_path.rglob("*"):  # the SQLite file and its WAL, lock file, reports, exports
        if path.is_file():
            found[str(path)] = leaks(path.read_bytes())
    engine = open_store(db_url)
    with engine.connect() as conn:  # also the text columns, for a server database
        for table in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(table)
                       if isinstance(c["type"], String | Text)]
            for column in columns:
                values = conn.execute(select(text(f'"{column}"')).select_from(text(
                    f'"{table}"'))).scalars()
                found[f"{table}.{column}"] = leaks("\n".join(str(v) for v in values).encode())
    engine.dispose()
    assert {where: probes for where, probes in found.items() if probes} == {}
    assert any(p.suffix == ".csv" for p in tmp_path.rglob("*"))  # the exports were searched
    assert (tmp_path / "r.html").exists()
