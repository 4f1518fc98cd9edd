"""The trained lexical judge: two small linear models over :mod:`evtrack.judge_features`.

1. **Rationale selection.** Every abstract sentence is scored by a logistic model over its
   overlap with the claim (rarity-weighted recall, bigrams, rank), its position and its cue words.
   The rationale is every sentence scoring at least ``threshold`` (at most ``max_rationale``),
   and always the best one.
2. **Label.** A three-way softmax model (SUPPORT / CONTRADICT / NOT ENOUGH INFO) reads the claim
   against that rationale: how much of the claim it repeats, negation or a null result on one side
   only, directions that agree or disagree, opposite words ("higher" vs "lower"), numbers of the
   claim missing from the evidence.

The coefficients live in ``evtrack/data/judge_model.json``, written by ``scripts/train_judge.py``
from the SciFact training claims; inference is pure Python and deterministic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evtrack.errors import EvtrackError
from evtrack.judge_features import TextInfo, analyse, pair_features, sentence_features

#: The three labels of claim verification, in the order the label model scores them.
LABELS = ("SUPPORT", "CONTRADICT", "NOT ENOUGH INFO")
#: The shipped model (package data, so an installed evtrack finds it too).
MODEL_PATH = Path(__file__).resolve().parent / "data" / "judge_model.json"


class JudgeModelError(EvtrackError):
    """The judge's model file is missing or malformed."""


@dataclass(frozen=True)
class LinearModel:
    """A standardised linear model: ``softmax(W · (x − mean) / scale + b)``.

    With one row of ``coef`` it is a logistic model and :meth:`probabilities` returns
    ``[1 − p, p]`` for ``classes[0]``, ``classes[1]``.
    """

    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]

    def probabilities(self, f: Mapping[str, float]) -> list[float]:
        x = [(f.get(n, 0.0) - m) / s for n, m, s in zip(self.features, self.mean, self.scale,
                                                         strict=True)]
        z = [sum(w * v for w, v in zip(row, x, strict=True)) + b
             for row, b in zip(self.coef, self.intercept, strict=True)]
        if len(z) == 1:
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z[0]))))
            return [1.0 - p, p]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        return [v / sum(e) for v in e]

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "classes": list(self.classes),
                "mean": list(self.mean), "scale": list(self.scale),
                "coef": [list(r) for r in self.coef], "intercept": list(self.intercept)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LinearModel:
        return cls(tuple(d["features"]), tuple(d["classes"]), tuple(d["mean"]),
                   tuple(d["scale"]), tuple(tuple(r) for r in d["coef"]), tuple(d["intercept"]))


@dataclass(frozen=True)
class Prediction:
    """The lexical judge's call on one claim against one abstract."""

    label: str  # one of LABELS
    probabilities: dict[str, float]
    rationale: tuple[int, ...]  # indices into the abstract's sentences, best first
    sentence_scores: tuple[float, ...]  # rationale probability of every sentence


@dataclass(frozen=True)
class LexicalModel:
    """Rationale and label models plus the word-rarity table they were trained with."""

    version: str
    idf: Mapping[str, float]
    default_idf: float
    rationale: LinearModel
    label: LinearModel
    threshold: float = 0.5
    max_rationale: int = 3
    trained_on: str = ""

    def select(self, claim: TextInfo, sents: Sequence[TextInfo]) -> tuple[list[int], list[float]]:
        """Rationale sentence indices (best first) and every sentence's score."""
        feats = sentence_features(claim, sents, self.idf, self.default_idf)
        scores = [self.rationale.probabilities(f)[1] for f in feats]
        order = sorted(range(len(sents)), key=lambda i: (-scores[i], i))
        chosen = [i for i in order[: self.max_rationale] if scores[i] >= self.threshold]
        return (chosen or order[:1]), scores

    def label_features(self, claim: TextInfo, sents: Sequence[TextInfo], title: TextInfo | None,
                       chosen: Sequence[int], scores: Sequence[float]) -> dict[str, float]:
        doc_content = frozenset().union(*(s.content for s in sents),
                                        title.content if title else frozenset())
        doc = TextInfo((), doc_content, frozenset(), frozenset(), 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return pair_features(claim, [sents[i] for i in chosen], doc,
                             [scores[i] for i in chosen], self.idf, self.default_idf)

    def predict(self, claim: str, sentences: Sequence[str], title: str | None = None
                ) -> Prediction:
        """Label ``claim`` against an abstract given as its sentences (title apart)."""
        if not sentences:
            probs = dict.fromkeys(LABELS, 0.0) | {"NOT ENOUGH INFO": 1.0}
            return Prediction("NOT ENOUGH INFO", probs, (), ())
        c = analyse(claim)
        sents = [analyse(s) for s in sentences]
        chosen, scores = self.select(c, sents)
        f = self.label_features(c, sents, analyse(title) if title else None, chosen, scores)
        p = dict(zip(self.label.classes, self.label.probabilities(f), strict=True))
        label = max(LABELS, key=lambda k: p[k])
        return Prediction(label, p, tuple(chosen), tuple(scores))

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "trained_on": self.trained_on,
                "threshold": self.threshold, "max_rationale": self.max_rationale,
                "default_idf": self.default_idf, "rationale": self.rationale.to_json(),
                "label": self.label.to_json(), "idf": dict(sorted(self.idf.items()))}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LexicalModel:
        try:
            return cls(str(d["version"]), dict(d["idf"]), float(d["default_idf"]),
                       LinearModel.from_json(d["rationale"]), LinearModel.from_json(d["label"]),
                       float(d["threshold"]), int(d["max_rationale"]), str(d.get("trained_on", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise JudgeModelError(f"judge model file is malformed ({e!r}): "
                                  "re-create it with scripts/train_judge.py") from e


def load_model(path: str | Path | None = None) -> LexicalModel:
    """The model at ``path``, or the one shipped in ``evtrack/data``."""
    if path is None or Path(path) == MODEL_PATH:
        return _shipped_model()
    return _read_model(Path(path))


def _read_model(path: Path) -> LexicalModel:
    try:
        return LexicalModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as e:
        raise JudgeModelError(f"cannot read judge model {path}: {e}") from e


@lru_cache(maxsize=1)
def _shipped_model() -> LexicalModel:
    return _read_model(MODEL_PATH)
