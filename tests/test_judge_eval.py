"""Scoring the judge on SciFact-format data: metrics on hand-made examples, loading, and the
benchmark script end to end on a small subset of ``../shared/eval/scifact``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO_ROOT, SHARED

from evtrack.judge_eval import EvalDataError, f1, folds, load_pairs, score

SCIFACT = SHARED / "eval" / "scifact"
S, C, N = "SUPPORT", "CONTRADICT", "NOT ENOUGH INFO"


def test_f1_of_counts() -> None:
    assert f1(3, 1, 1) == (0.75, 0.75, 0.75)
    assert f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert f1(1, 0, 3) == (1.0, 0.25, 0.4)


def test_scores_of_a_hand_worked_example() -> None:
    gold = [S, S, C, N, C]
    pred = [S, C, C, N, N]
    gold_r = [frozenset({1, 2}), frozenset({0}), frozenset({3}), frozenset(), frozenset({5})]
    pred_r = [(1,), (0,), (3, 4), (2,), (5,)]
    s = score(gold, pred, gold_r, pred_r)
    assert s.n == 5 and s.accuracy == pytest.approx(3 / 5)
    # SUPPORT: tp 1, fp 0, fn 1 -> F1 2/3; CONTRADICT: tp 1, fp 1, fn 1 -> 1/2;
    # NOT ENOUGH INFO: tp 1, fp 1, fn 0 -> 2/3.
    assert s.per_class[S]["f1"] == pytest.approx(2 / 3)
    assert s.per_class[C]["f1"] == pytest.approx(1 / 2)
    assert s.per_class[N]["f1"] == pytest.approx(2 / 3)
    assert s.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert s.confusion[S] == {S: 1, C: 1, N: 0} and s.confusion[C] == {S: 0, C: 1, N: 1}
    # Rationale sentences count only under a SUPPORT/CONTRADICT call: pair 1 finds 1 of 2,
    # pair 2 finds 0 (right sentence, wrong label still counts), pair 3 finds 3 and wrongly
    # cites 4, pair 4 (NEI call) cites nothing, pair 5 (NEI call) misses 5.
    # tp = 1 + 1 + 1 = 3, fp = 1, fn = 1 + 1 = 2.
    assert s.rationale["precision"] == pytest.approx(3 / 4)
    assert s.rationale["recall"] == pytest.approx(3 / 5)
    # Committed calls: S, C, C; one of them (pair 2) is wrong.
    assert (s.committed, s.error_rate) == (3, pytest.approx(1 / 3))


def test_scores_refuse_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        score([S], [S, C])


def write_split(tmp_path: Path, claims: list[dict[str, object]]) -> tuple[Path, Path]:
    corpus = [{"doc_id": d, "title": f"Paper {d}", "abstract": ["One.", "Two.", "Three."],
               "structured": False} for d in (10, 20, 30)]
    cp, kp = tmp_path / "claims.jsonl", tmp_path / "corpus.jsonl"
    cp.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    kp.write_text("\n".join(json.dumps(d) for d in corpus) + "\n", encoding="utf-8")
    return cp, kp


def test_a_cited_abstract_without_evidence_is_not_enough_info(tmp_path: Path) -> None:
    cp, kp = write_split(tmp_path, [
        {"id": 1, "claim": "A claim.", "cited_doc_ids": [10, 20],
         "evidence": {"10": [{"sentences": [0, 2], "label": "CONTRADICT"},
                             {"sentences": [1], "label": "CONTRADICT"}]}},
        {"id": 2, "claim": "Another claim.", "cited_doc_ids": [30], "evidence": {}},
    ])
    pairs = load_pairs(cp, kp)
    assert [(p.claim_id, p.doc_id, p.label, p.rationale) for p in pairs] == [
        (1, 10, C, frozenset({0, 1, 2})), (1, 20, N, frozenset()), (2, 30, N, frozenset())]
    assert pairs[0].sentences == ("One.", "Two.", "Three.") and pairs[0].title == "Paper 10"


def test_a_claim_citing_an_unknown_abstract_is_an_error(tmp_path: Path) -> None:
    cp, kp = write_split(tmp_path, [{"id": 1, "claim": "x", "cited_doc_ids": [99],
                                     "evidence": {}}])
    with pytest.raises(EvalDataError, match="claims.jsonl:1"):
        load_pairs(cp, kp)
    with pytest.raises(EvalDataError, match="cannot read"):
        load_pairs(tmp_path / "absent.jsonl", kp)


def test_folds_keep_each_claims_abstracts_together(tmp_path: Path) -> None:
    cp, kp = write_split(tmp_path, [
        {"id": i, "claim": f"c{i}", "cited_doc_ids": [10, 20], "evidence": {}}
        for i in range(7)])
    pairs = load_pairs(cp, kp)
    splits = folds(pairs, 3)
    tested = [p for _, test in splits for p in test]
    assert sorted(tested, key=id) == sorted(pairs, key=id)  # every pair tested once
    for train, test in splits:
        assert not {p.claim_id for p in train} & {p.claim_id for p in test}


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scifact_eval",
                                                  REPO_ROOT / "bench" / "scifact_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_on_twenty_claims(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not SCIFACT.is_dir():
        pytest.fail(f"SciFact data not found at {SCIFACT}: ../shared must sit beside the repo")
    rates = tmp_path / "rates.json"
    result = load_bench().main([
        "--claims", str(SCIFACT / "claims_train.jsonl"),
        "--corpus", str(SCIFACT / "corpus.jsonl"), "--limit", "20", "--folds", "2",
        "--write-error-rates", str(rates)])
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == result
    for key in ("macro_f1", "rationale_f1", "n", "ms_per_pair", "baseline_macro_f1"):
        assert key in result
    assert result["n"] >= 20 and 0.0 <= result["macro_f1"] <= 1.0
    assert any(line.startswith("fold 2 judge") for line in out)
    written = json.loads(rates.read_text(encoding="utf-8"))
    assert {"method", "version", "measured_on", "n", "error_rate", "per_class",
            "confusion"} <= set(written)
    assert written["n"] == result["n"] and 0.0 <= written["error_rate"] <= 1.0


def test_writing_error_rates_keeps_the_other_judges_entry(tmp_path: Path) -> None:
    merge = load_bench().merge_error_rates
    path = tmp_path / "rates.json"
    lexical = {"method": "lexical-lr", "version": "2.0", "error_rate": 0.4}
    assert merge(path, lexical) == lexical  # no file yet: one object, the original form
    path.write_text(json.dumps(lexical), encoding="utf-8")
    embed = {"method": "embed-lr", "version": "1.0", "error_rate": 0.3}
    both = merge(path, embed)
    assert both == [embed, lexical]
    path.write_text(json.dumps(both), encoding="utf-8")
    newer = {"method": "lexical-lr", "version": "2.1", "error_rate": 0.35}
    assert merge(path, newer) == [embed, newer]
