"""Train the lexical stance judge and write the model file evtrack ships.

    .venv/bin/python scripts/train_judge.py \
        --claims ../shared/eval/scifact/claims_train.jsonl \
        --corpus ../shared/eval/scifact/corpus.jsonl \
        --out evtrack/data/judge_model.json

The output holds numbers only: coefficients, feature scaling and the inverse document frequency
of common word stems; no sentence of the training data. Training is deterministic, so the same
inputs give the same file. Measure the judge with ``bench/scifact_eval.py --folds 5``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evtrack.judge import JUDGE_VERSION
from evtrack.judge_model import MODEL_PATH
from evtrack.judge_train import train_from_files

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "scifact"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=Path, default=SCIFACT / "claims_train.jsonl")
    ap.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()
    model = train_from_files(args.claims, args.corpus, version=JUDGE_VERSION)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: version {model.version}, {len(model.idf)} stems, "
          f"threshold {model.threshold}, at most {model.max_rationale} rationale sentences")


if __name__ == "__main__":
    main()
