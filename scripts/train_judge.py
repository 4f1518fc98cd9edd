"""Train the lexical stance judge and write the model file evtrack ships.

    .venv/bin/python scripts/train_judge.py \
        --claims ../shared/eval/scifact/claims_train.jsonl \
        --corpus ../shared/eval/scifact/corpus.jsonl \
        --out evtrack/data/judge_model.json
    .venv/bin/python scripts/train_judge.py --judge embed   # needs evtrack[embed]

The output holds numbers only: coefficients, feature scaling and the inverse document frequency
of common word stems; no sentence of the training data. Training is deterministic, so the same
inputs give the same file. Measure the judge with ``bench/scifact_eval.py --folds 5``.

``--judge embed`` writes the embedding judge's heads (``evtrack/data/judge_embed_model.json``)
instead; it encodes every claim, title and sentence with all-MiniLM-L6-v2 (minutes on a CPU).
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
    ap.add_argument("--judge", choices=("lexical", "embed"), default="lexical")
    ap.add_argument("--out", type=Path, help="default: the shipped file of that judge")
    args = ap.parse_args()
    if args.judge == "embed":
        train_embed(args)
        return
    args.out = args.out or MODEL_PATH
    model = train_from_files(args.claims, args.corpus, version=JUDGE_VERSION)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: version {model.version}, {len(model.idf)} stems, "
          f"threshold {model.threshold}, at most {model.max_rationale} rationale sentences")


def train_embed(args: argparse.Namespace) -> None:
    from evtrack.judge_embed import EMBED_MODEL_PATH, EMBED_VERSION, MiniLMEncoder, require
    from evtrack.judge_embed_train import train_embed_from_files
    require()
    import torch
    torch.set_num_threads(2)
    out = args.out or EMBED_MODEL_PATH
    model = train_embed_from_files(args.claims, args.corpus, MiniLMEncoder(),
                                   version=EMBED_VERSION)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: version {model.version}, threshold {model.threshold}, "
          f"at most {model.max_rationale} rationale sentences")


if __name__ == "__main__":
    main()
