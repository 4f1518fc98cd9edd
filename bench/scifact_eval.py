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

``--judge lexical`` (the default, also called ``default``) scores the dependency-free judge;
``--judge embed`` the embedding judge of the ``evtrack[embed]`` extra (all-MiniLM-L6-v2 vectors
under two linear heads). For the embedding judge the time per pair includes encoding the claim,
the title and every sentence. With ``--folds`` every text is encoded once and its vector kept
for the later folds (the vectors do not depend on the fold), so the time per pair is measured
apart, afterwards: the last fold's heads judging the first ``--time-sample`` pairs (default 100)
with a fresh encoder that has seen none of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evtrack.judge import EMBED_METHOD, LEXICAL_METHOD, judge_text
from evtrack.judge_eval import Pair, Scores, corpus_texts, folds, load_pairs, score
from evtrack.judge_model import LABELS, LexicalModel, load_model
from evtrack.judge_train import idf_table, train_claim_only, train_lexical

if TYPE_CHECKING:
    from evtrack.judge_embed import EmbedModel, Encoder

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "scifact"
STANCE_LABEL = {"supports": "SUPPORT", "contradicts": "CONTRADICT"}


def judge_pairs(pairs: Sequence[Pair], model: LexicalModel, *,
                embed_model: EmbedModel | None = None, encoder: Encoder | None = None
                ) -> tuple[list[str], list[tuple[int, ...]], list[float], float]:
    """Labels, rationales, confidences and total seconds of the judge on ``pairs``.

    With ``embed_model`` the embedding judge (``encoder`` reads the texts), else the lexical one.
    """
    labels, rationales, confidences = [], [], []
    start = time.perf_counter()
    for p in pairs:
        if embed_model is not None:
            j = judge_text(p.claim, p.sentences, title=p.title, judge="embed",
                           embed_model=embed_model, encoder=encoder)
        else:
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
                bands: list[dict[str, object]], method: str = LEXICAL_METHOD
                ) -> dict[str, object]:
    """The judge's measured reliability in the schema the support score reads."""
    return {
        "method": method,
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


def merge_error_rates(path: Path, entry: dict[str, object]) -> object:
    """``entry`` in place of the file's entry for the same method; other judges' entries kept.

    One judge gives one object (the file's original form); several give a list.
    """
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = []
    kept = [e for e in (old if isinstance(old, list) else [old])
            if isinstance(e, dict) and e.get("method") != entry["method"]]
    entries = sorted([*kept, entry], key=lambda e: str(e.get("method")))
    return entries if len(entries) > 1 else entry


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=Path, default=SCIFACT / "claims_train.jsonl")
    ap.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    ap.add_argument("--folds", type=int, default=0, help="cross-validate with K folds")
    ap.add_argument("--judge", choices=("lexical", "default", "embed"), default="lexical",
                    help="lexical (alias: default): the dependency-free judge refresh uses by "
                         "default; embed: the embedding judge of evtrack[embed]")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads for --judge embed (default: 2)")
    ap.add_argument("--time-sample", type=int, default=100, metavar="N",
                    help="--judge embed --folds: time the judge on N pairs, uncached")
    ap.add_argument("--model", type=Path, help="a model file other than the shipped one")
    ap.add_argument("--train-claims", type=Path, default=SCIFACT / "claims_train.jsonl",
                    help="claims the baseline is fitted on when not cross-validating")
    ap.add_argument("--limit", type=int, help="only the first N claims (a quick run)")
    ap.add_argument("--write-error-rates", type=Path, metavar="PATH",
                    help="write the measured error rates (JSON) for the support score")
    args = ap.parse_args(argv)
    if args.judge == "default":
        args.judge = "lexical"
    embed = args.judge == "embed"
    encoder: Encoder | None = None
    if embed:
        from evtrack.judge_embed import MiniLMEncoder, require
        require()
        import torch
        torch.set_num_threads(args.threads)
        encoder = MiniLMEncoder()

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
    timed = 0  # pairs timed, when not all of them
    per_fold: list[tuple[Scores, Scores]] = []
    method = EMBED_METHOD if embed else LEXICAL_METHOD
    if args.folds and args.folds > 1:
        idf, default_idf = idf_table(corpus_texts(args.corpus))
        order: list[Pair] = []
        train_encoder = None
        if embed:
            from evtrack.judge_embed import CachedEncoder
            from evtrack.judge_embed_train import lexical_base, train_embed
            assert encoder is not None
            train_encoder = CachedEncoder(encoder)
        for train, test in folds(pairs, args.folds):
            if embed:
                assert train_encoder is not None
                model = load_model()
                emb = train_embed(train, lexical_base(idf, default_idf), train_encoder)
                labels, rationales, confidences, secs = judge_pairs(
                    test, model, embed_model=emb, encoder=train_encoder)
            else:
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
        if embed:
            from evtrack.judge_embed import MiniLMEncoder as Fresh
            from evtrack.judge_embed import load_embed_model
            model_version = load_embed_model().version
            sample = pairs[: max(1, args.time_sample)]
            *_x, secs = judge_pairs(sample, load_model(), embed_model=emb, encoder=Fresh())
            timed = len(sample)
            seconds = secs
        else:
            model_version = load_model().version
    elif embed:
        from evtrack.judge_embed import load_embed_model
        emb = load_embed_model(args.model)
        pred, pred_r, conf, seconds = judge_pairs(pairs, load_model(), embed_model=emb,
                                                  encoder=encoder)
        measured_on = f"{args.claims.name}, shipped heads ({emb.trained_on})"
        model_version = emb.version
    else:
        model = load_model(args.model)
        pred, pred_r, conf, seconds = judge_pairs(pairs, model)
        measured_on = f"{args.claims.name}, shipped model ({model.trained_on})"
        model_version = model.version
    if not (args.folds and args.folds > 1):
        train_pairs = load_pairs(args.train_claims, args.corpus)
        baseline = train_claim_only(train_pairs)
        base = [baseline.predict(p.claim) for p in pairs]
    majority = Counter(gold if args.folds else [p.label for p in load_pairs(
        args.train_claims, args.corpus)]).most_common(1)[0][0]

    s = score(gold, pred, gold_r, pred_r)
    sb = score(gold, base)
    sm = score(gold, [majority] * len(gold))
    ms = 1000 * seconds / max(1, timed or len(gold))
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
    print(f"speed: {ms:.2f} ms per claim-abstract pair ("
          + (f"all-MiniLM-L6-v2 on CPU, {args.threads} torch threads, nothing cached"
             + (f", {timed} pairs timed)" if timed else ")") if embed
             else "one CPU thread, pure Python)"))
    if args.write_error_rates:
        args.write_error_rates.parent.mkdir(parents=True, exist_ok=True)
        entry = error_rates(s, version=model_version, measured_on=measured_on, bands=bands,
                            method=method)
        if embed:
            entry["command"] = entry["command"].replace("--folds", "--judge embed --folds")
        args.write_error_rates.write_text(json.dumps(
            merge_error_rates(args.write_error_rates, entry), indent=1) + "\n",
            encoding="utf-8")
        print(f"wrote {args.write_error_rates}")
    result: dict[str, object] = {
        "bench": "scifact_eval", "judge": args.judge, "method": method, "folds": args.folds,
        "n": s.n,
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
