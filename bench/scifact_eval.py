"""Score the stance judge on a SciFact-format split: label, rationale, speed, and a baseline.

    .venv/bin/python bench/scifact_eval.py --claims ../shared/eval/scifact/claims_train.jsonl \
        --corpus ../shared/eval/scifact/corpus.jsonl --folds 5

For every claim and every abstract it cites, the gold label is SUPPORT or CONTRADICT from the
claim's evidence, NOT ENOUGH INFO when the evidence has no entry for that abstract. The judge
sees the claim text, the abstract's sentences and its title (SciFact's "oracle abstract"
setting). Printed: accuracy, per-class and macro F1 of the three-way label, rationale-sentence
F1 (micro over sentences; a NOT ENOUGH INFO call cites none), ms per claim–abstract pair, and the
same label figures for two baselines that never read the abstract: the majority class and a
bag-of-words logistic model of the claim text. The last line is one JSON object.

With ``--folds K`` the judge and the claim-only baseline are refitted on K−1 folds of these
claims and scored on the held-out fold (claims never straddle folds): use it on the training
split. Without it the shipped model is scored as is and the baseline is fitted on
``--train-claims``: use it on a split the model never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from evtrack.judge import LEXICAL_METHOD, judge_text
from evtrack.judge_eval import Pair, Scores, corpus_texts, folds, load_pairs, score
from evtrack.judge_model import LABELS, LexicalModel, load_model
from evtrack.judge_train import idf_table, train_claim_only, train_lexical

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "scifact"
STANCE_LABEL = {"supports": "SUPPORT", "contradicts": "CONTRADICT"}


def judge_pairs(pairs: Sequence[Pair], model: LexicalModel
                ) -> tuple[list[str], list[tuple[int, ...]], list[float], float]:
    """Labels, rationales, confidences and total seconds of the default judge on ``pairs``."""
    labels, rationales, confidences = [], [], []
    start = time.perf_counter()
    for p in pairs:
        j = judge_text(p.claim, p.sentences, title=p.title, model=model)
        labels.append(STANCE_LABEL.get(j.stance, "NOT ENOUGH INFO"))
        rationales.append(j.rationale_indices)
        confidences.append(j.confidence)
    return labels, rationales, confidences, time.perf_counter() - start


def fmt_scores(name: str, s: Scores, rationale: bool = True) -> str:
    cells = [f"{name:<24}", f"{s.n:>5}", f"{s.accuracy:>6.3f}",
             *(f"{s.per_class[c]['f1']:>7.3f}" for c in LABELS), f"{s.macro_f1:>7.3f}"]
    cells.append(f"{s.rationale['f1']:>7.3f}" if rationale else f"{'-':>7}")
    return " ".join(cells)


HEADER = (f"{'':<24} {'n':>5} {'acc':>6} {'F1 sup':>7} {'F1 con':>7} {'F1 nei':>7} "
          f"{'macroF1':>7} {'ratF1':>7}")


def by_confidence(gold: Sequence[str], pred: Sequence[str], conf: Sequence[float]
                  ) -> list[dict[str, object]]:
    """Error rate of committed calls per confidence band: how far confidence can be trusted."""
    out: list[dict[str, object]] = []
    for lo, hi in CONFIDENCE_BANDS:
        calls = [(g, p) for g, p, c in zip(gold, pred, conf, strict=True)
                 if p != "NOT ENOUGH INFO" and lo <= c < hi]
        wrong = sum(1 for g, p in calls if g != p)
        out.append({"min": lo, "max": min(hi, 1.0), "committed": len(calls),
                    "error_rate": round(wrong / len(calls), 4) if calls else None})
    return out


CONFIDENCE_BANDS = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 1.01))


def error_rates(s: Scores, *, version: str, measured_on: str,
                bands: list[dict[str, object]]) -> dict[str, object]:
    """The judge's measured reliability in the schema the support score reads."""
    return {
        "method": LEXICAL_METHOD,
        "version": version,
        "measured_on": measured_on,
        "dataset": measured_on,
        "n": s.n,
        "committed": s.committed,
        "error_rate": round(s.error_rate, 4),
        "error_rate_by_stance": {
            stance: round(1 - s.per_class[label]["precision"], 4)
            for stance, label in STANCE_LABEL.items()},
        "accuracy": round(s.accuracy, 4),
        "macro_f1": round(s.macro_f1, 4),
        "per_class": {c: {k: round(v, 4) for k, v in s.per_class[c].items()} for c in LABELS},
        "confusion": s.confusion,
        "by_confidence": bands,
        "command": "bench/scifact_eval.py --folds 5 --write-error-rates PATH",
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=Path, default=SCIFACT / "claims_train.jsonl")
    ap.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    ap.add_argument("--folds", type=int, default=0, help="cross-validate with K folds")
    ap.add_argument("--judge", choices=("default",), default="default",
                    help="which judge to score (default: what refresh uses)")
    ap.add_argument("--model", type=Path, help="a model file other than the shipped one")
    ap.add_argument("--train-claims", type=Path, default=SCIFACT / "claims_train.jsonl",
                    help="claims the baseline is fitted on when not cross-validating")
    ap.add_argument("--limit", type=int, help="only the first N claims (a quick run)")
    ap.add_argument("--write-error-rates", type=Path, metavar="PATH",
                    help="write the measured error rates (JSON) for the support score")
    args = ap.parse_args(argv)

    pairs = load_pairs(args.claims, args.corpus)
    if args.limit:
        keep = sorted({p.claim_id for p in pairs})[: args.limit]
        pairs = [p for p in pairs if p.claim_id in set(keep)]
    gold = [p.label for p in pairs]
    gold_r = [p.rationale for p in pairs]
    pred: list[str] = []
    pred_r: list[tuple[int, ...]] = []
    conf: list[float] = []
    base: list[str] = []
    seconds = 0.0
    per_fold: list[tuple[Scores, Scores]] = []
    if args.folds and args.folds > 1:
        idf, default_idf = idf_table(corpus_texts(args.corpus))
        order: list[Pair] = []
        for train, test in folds(pairs, args.folds):
            model = train_lexical(train, idf, default_idf, version=load_model().version)
            labels, rationales, confidences, secs = judge_pairs(test, model)
            baseline = train_claim_only(train)
            b = [baseline.predict(p.claim) for p in test]
            per_fold.append((score([p.label for p in test], labels,
                                   [p.rationale for p in test], rationales),
                             score([p.label for p in test], b)))
            order += test
            pred += labels
            pred_r += rationales
            conf += confidences
            base += b
            seconds += secs
        gold = [p.label for p in order]
        gold_r = [p.rationale for p in order]
        measured_on = f"{args.claims.name}, {args.folds}-fold cross-validation by claim"
        model_version = load_model().version
    else:
        model = load_model(args.model)
        pred, pred_r, conf, seconds = judge_pairs(pairs, model)
        train_pairs = load_pairs(args.train_claims, args.corpus)
        baseline = train_claim_only(train_pairs)
        base = [baseline.predict(p.claim) for p in pairs]
        measured_on = f"{args.claims.name}, shipped model ({model.trained_on})"
        model_version = model.version
    majority = Counter(gold if args.folds else [p.label for p in load_pairs(
        args.train_claims, args.corpus)]).most_common(1)[0][0]

    s = score(gold, pred, gold_r, pred_r)
    sb = score(gold, base)
    sm = score(gold, [majority] * len(gold))
    ms = 1000 * seconds / max(1, len(gold))
    print(f"SciFact-format split: {args.claims} ({len(gold)} claim-abstract pairs); "
          f"{measured_on}")
    print(HEADER)
    for i, (fs, fb) in enumerate(per_fold):
        print(fmt_scores(f"fold {i + 1} judge", fs))
        print(fmt_scores(f"fold {i + 1} claim-only", fb, rationale=False))
    print(fmt_scores(f"judge ({args.judge})", s))
    print(fmt_scores("claim-only (bag of words)", sb, rationale=False))
    print(fmt_scores(f"majority ({majority})", sm, rationale=False))
    r = s.rationale
    print(f"rationale sentences: precision {r['precision']:.3f} recall {r['recall']:.3f} "
          f"F1 {r['f1']:.3f}")
    print(f"confusion (gold -> predicted): {json.dumps(s.confusion)}")
    print(f"committed SUPPORT/CONTRADICT calls: {s.committed}, wrong: {s.error_rate:.3f}")
    bands = by_confidence(gold, pred, conf)
    print("  by confidence: " + ", ".join(
        f"[{b['min']}, {b['max']}): {b['committed']} calls, wrong {b['error_rate']}"
        for b in bands))
    print(f"speed: {ms:.2f} ms per claim-abstract pair (one CPU thread, pure Python)")
    if args.write_error_rates:
        args.write_error_rates.parent.mkdir(parents=True, exist_ok=True)
        args.write_error_rates.write_text(json.dumps(
            error_rates(s, version=model_version, measured_on=measured_on, bands=bands),
            indent=1) + "\n",
            encoding="utf-8")
        print(f"wrote {args.write_error_rates}")
    result: dict[str, object] = {
        "bench": "scifact_eval", "judge": args.judge, "folds": args.folds, "n": s.n,
        "accuracy": round(s.accuracy, 4), "macro_f1": round(s.macro_f1, 4),
        "rationale_f1": round(r["f1"], 4), "error_rate": round(s.error_rate, 4),
        "ms_per_pair": round(ms, 3), "baseline_macro_f1": round(sb.macro_f1, 4),
        "baseline_accuracy": round(sb.accuracy, 4), "majority_macro_f1": round(sm.macro_f1, 4),
        "macro_f1_over_baseline": round(s.macro_f1 / sb.macro_f1, 3) if sb.macro_f1 else None,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
