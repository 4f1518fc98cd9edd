"""Scoring a stance judge on SciFact-format data: loading, folds and metrics.

The task (SciFact's "oracle abstract" setting): for each claim and each abstract it cites, give
SUPPORT, CONTRADICT or NOT ENOUGH INFO (a cited abstract the claim's evidence has no entry for)
and the rationale sentences. ``bench/scifact_eval.py`` is the command-line front.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evtrack.errors import EvtrackError
from evtrack.judge_model import LABELS


@dataclass(frozen=True)
class Pair:
    """A claim and one abstract it was checked against, with the gold answer."""

    claim_id: int
    claim: str
    doc_id: int
    title: str
    sentences: tuple[str, ...]
    label: str  # one of LABELS
    rationale: frozenset[int] = frozenset()  # gold rationale sentence indices


class EvalDataError(EvtrackError):
    """A SciFact-format claims or corpus file is missing or malformed."""


def load_pairs(claims_path: str | Path, corpus_path: str | Path) -> list[Pair]:
    """Every (claim, cited abstract) pair of a SciFact-format split, with its gold label."""
    corpus: dict[int, dict[str, Any]] = {}
    for n, d in _jsonl(corpus_path):
        try:
            corpus[int(d["doc_id"])] = d
        except (KeyError, TypeError, ValueError) as e:
            raise EvalDataError(f"{corpus_path}:{n}: corpus entry without a doc_id") from e
    pairs = []
    for n, c in _jsonl(claims_path):
        try:
            evidence = {int(k): v for k, v in dict(c.get("evidence") or {}).items()}
            for doc_id in c["cited_doc_ids"]:
                doc = corpus[int(doc_id)]
                sets = evidence.get(int(doc_id), [])
                label = sets[0]["label"] if sets else "NOT ENOUGH INFO"
                if label not in LABELS:
                    raise EvalDataError(f"{claims_path}:{n}: unknown label {label!r}")
                pairs.append(Pair(
                    claim_id=int(c["id"]), claim=str(c["claim"]), doc_id=int(doc_id),
                    title=str(doc["title"]), sentences=tuple(str(s) for s in doc["abstract"]),
                    label=label,
                    rationale=frozenset(int(i) for s in sets for i in s["sentences"])))
        except KeyError as e:
            raise EvalDataError(f"{claims_path}:{n}: missing {e} (claim or cited doc)") from e
    return pairs


def corpus_texts(corpus_path: str | Path) -> list[str]:
    """Title and abstract of every corpus entry, one string each (for word rarity)."""
    return [" ".join([str(d.get("title", "")), *map(str, d.get("abstract") or [])])
            for _, d in _jsonl(corpus_path)]


def _jsonl(path: str | Path) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalDataError(f"cannot read {path}: {e}") from e
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                raise EvalDataError(f"{path}:{n}: not JSON ({e.msg})") from e


def folds(pairs: Sequence[Pair], k: int) -> list[tuple[list[Pair], list[Pair]]]:
    """``k`` (train, test) splits by claim: one claim's abstracts never straddle a split."""
    claim_ids = sorted({p.claim_id for p in pairs})
    fold_of = {cid: i % k for i, cid in enumerate(claim_ids)}
    return [([p for p in pairs if fold_of[p.claim_id] != f],
             [p for p in pairs if fold_of[p.claim_id] == f]) for f in range(k)]


@dataclass(frozen=True)
class Scores:
    """Label and rationale figures of one set of predictions."""

    n: int
    accuracy: float
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    macro_f1: float
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    rationale: dict[str, float]  # precision, recall, f1 over sentences
    error_rate: float  # wrong among committed SUPPORT / CONTRADICT predictions
    committed: int


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts (0 where undefined).

    >>> f1(2, 1, 1)
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    """
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(gold: Sequence[str], pred: Sequence[str],
          gold_rationales: Sequence[frozenset[int]] | None = None,
          pred_rationales: Sequence[Sequence[int]] | None = None) -> Scores:
    """Accuracy, per-class and macro F1 of labels; micro F1 of rationale sentences.

    A predicted rationale counts only when the predicted label is SUPPORT or CONTRADICT (a
    NOT ENOUGH INFO call cites nothing), so sentences cited for an abstract without evidence are
    false positives, and gold sentences of an abstract called NOT ENOUGH INFO are misses.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and predicted labels differ in length")
    confusion = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, pred, strict=True):
        confusion[g][p] += 1
    per_class = {}
    for c in LABELS:
        tp = confusion[c][c]
        fp = sum(confusion[g][c] for g in LABELS if g != c)
        fn = sum(confusion[c][p] for p in LABELS if p != c)
        prec, rec, f = f1(tp, fp, fn)
        per_class[c] = {"precision": prec, "recall": rec, "f1": f, "support": tp + fn}
    n = len(gold)
    committed = [(g, p) for g, p in zip(gold, pred, strict=True) if p != "NOT ENOUGH INFO"]
    tp = fp = fn = 0
    if gold_rationales is not None and pred_rationales is not None:
        for gr, pr, p in zip(gold_rationales, pred_rationales, pred, strict=True):
            chosen = set(pr) if p != "NOT ENOUGH INFO" else set()
            tp += len(chosen & gr)
            fp += len(chosen - gr)
            fn += len(gr - chosen)
    rp, rr, rf = f1(tp, fp, fn)
    return Scores(
        n=n,
        accuracy=sum(confusion[c][c] for c in LABELS) / n if n else 0.0,
        per_class=per_class,
        macro_f1=sum(v["f1"] for v in per_class.values()) / len(LABELS),
        confusion=confusion,
        rationale={"precision": rp, "recall": rr, "f1": rf},
        error_rate=(sum(1 for g, p in committed if g != p) / len(committed)
                    if committed else 0.0),
        committed=len(committed),
    )
