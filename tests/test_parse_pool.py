"""Parsing in worker processes gives exactly what the sequential parser gives, faults included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evtrack import parse_pool
from evtrack.errors import RecordParseError
from evtrack.parse_pool import ParsePool
from evtrack.pubmed_xml import iter_records
from evtrack.store.rows import PreparedRecord, prepare_record
from evtrack.testing.generate import write_corpus

pytestmark = pytest.mark.slow  # starts worker processes


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pieces of ~20 kB and files of 60 kB and more go to the workers: a few dozen records
    # make a file that is cut into several pieces.
    monkeypatch.setattr(parse_pool, "PIECE_BYTES", 20_000)
    monkeypatch.setattr(parse_pool, "MIN_PARALLEL_BYTES", 60_000)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    with ParsePool(2) as p:
        yield p


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pool") / "corpus.xml"
    write_corpus(path, 60, seed=3)
    return path


def sequential(path: Path) -> tuple[list[PreparedRecord], str | None]:
    out: list[PreparedRecord] = []
    try:
        for r in iter_records(path):
            out.append(prepare_record(r))
    except RecordParseError as exc:
        return out, str(exc)
    return out, None


def pooled(pool: ParsePool, path: Path) -> tuple[list[PreparedRecord], str | None]:
    out: list[PreparedRecord] = []
    try:
        for r in pool.records(path):
            out.append(r)
    except RecordParseError as exc:
        return out, str(exc)
    return out, None


def test_a_large_file_is_cut_into_several_pieces(corpus: Path) -> None:
    with open(corpus, "rb") as stream:
        head, pieces = parse_pool._pieces(stream)
        cut = list(pieces)
    assert head.endswith(b"<PubmedArticleSet>") and len(cut) > 3
    assert all(p.rstrip().endswith(b"</PubmedArticle>") for p in cut)


def test_workers_give_the_same_records_in_the_same_order(pool: ParsePool, corpus: Path) -> None:
    records, error = pooled(pool, corpus)
    assert error is None and pool._procs  # the workers did parse it
    assert records == sequential(corpus)[0]
    assert len(records) == 60


def damaged(corpus: Path, tmp_path: Path, how: str) -> Path:
    data = corpus.read_bytes()
    middle = data.index(b"<PubmedArticle>", len(data) // 2)
    if how == "truncated":
        data = data[:middle + 300]
    elif how == "error inside":
        data = data[:middle] + b"<ERROR>Backend unavailable</ERROR>\n" + data[middle:]
    elif how == "junk after":
        data += b"<junk/>"
    elif how == "no closing tag":
        data = data[:data.rindex(b"</PubmedArticleSet>")]
    elif how == "bad bytes":
        data = data[:middle] + b"<PubmedArticle>\xff\xfe" + data[middle + 15:]
    elif how == "entity declared":
        data = data.replace(b"<PubmedArticleSet>",
                            b"<!DOCTYPE x [<!ENTITY e 'boom'>]>\n<PubmedArticleSet>", 1)
    path = tmp_path / f"{how.replace(' ', '-')}.xml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("how", ["truncated", "error inside", "junk after", "no closing tag",
                                 "bad bytes", "entity declared"])
def test_a_damaged_file_yields_and_raises_what_the_sequential_parser_does(
        pool: ParsePool, corpus: Path, tmp_path: Path, how: str) -> None:
    path = damaged(corpus, tmp_path, how)
    expected, message = sequential(path)
    assert message is not None  # the damage is real
    assert pooled(pool, path) == (expected, message)


def test_without_workers_nothing_is_started(corpus: Path) -> None:
    with ParsePool(0) as none:
        assert [r.pmid for r in none.records(corpus)] == [r.pmid for r in iter_records(corpus)]
        assert none._procs == []


def test_a_file_abandoned_half_way_leaves_the_pool_usable(pool: ParsePool, corpus: Path) -> None:
    # Several pieces per worker are in flight when the reader stops; their answers must not
    # reach the next file's reader.
    records = pool.records(corpus)
    first = [next(records) for _ in range(5)]
    records.close()
    assert first == sequential(corpus)[0][:5]
    assert pooled(pool, corpus) == sequential(corpus)


def test_a_worker_that_dies_mid_file_is_covered_by_the_sequential_parser(
        pool: ParsePool, corpus: Path) -> None:
    records = pool.records(corpus)
    got = [next(records)]
    assert pool._procs
    pool._procs[0].kill()
    got.extend(records)
    assert got == sequential(corpus)[0]
    # The next file gets live workers again.
    assert pooled(pool, corpus) == sequential(corpus)
    assert pool._procs and all(proc.poll() is None for proc in pool._procs)
