"""Training the lexical judge (and the claim-only baseline) from claim–abstract pairs.

Used by ``scripts/train_judge.py`` to write ``evtrack/data/judge_model.json`` and by
``bench/scifact_eval.py`` to refit on each cross-validation fold. Needs numpy (a dependency of
pandas, so always present); the fitted model is plain coefficients, read without numpy.

The fit is deterministic: full-batch gradient descent from zero on standardised features, a fixed
number of steps, L2 penalty, classes weighted to balance them (macro-F1 is the target).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evtrack.judge_eval import Pair, corpus_texts, load_pairs
from evtrack.judge_features import TextInfo, analyse, sentence_features, tokens
from evtrack.judge_features import stem as stem_word
from evtrack.judge_model import LABELS, LexicalModel, LinearModel


def fit_linear(rows: Sequence[Mapping[str, float]], y: Sequence[str], features: Sequence[str],
               classes: Sequence[str], *, l2: float = 1.0, steps: int = 1500,
               lr: float = 0.5) -> LinearModel:
    """Fit a (multinomial) logistic model; two classes give one row of coefficients."""
    x = np.array([[r.get(f, 0.0) for f in features] for r in rows], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    idx = {c: i for i, c in enumerate(classes)}
    t = np.array([idx[v] for v in y])
    counts = np.bincount(t, minlength=len(classes)).astype(float)
    weights = (len(t) / (len(classes) * np.maximum(counts, 1.0)))[t]
    k = 1 if len(classes) == 2 else len(classes)
    onehot = np.zeros((len(t), k))
    if k == 1:
        onehot[:, 0] = t
    else:
        onehot[np.arange(len(t)), t] = 1.0
    w = np.zeros((xs.shape[1], k))
    b = np.zeros(k)
    n = float(weights.sum())
    vel_w, vel_b = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        z = xs @ w + b
        if k == 1:
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        g = (p - onehot) * weights[:, None]
        grad_w = xs.T @ g / n + l2 * w / n
        grad_b = g.sum(axis=0) / n
        # Momentum keeps a fixed, small number of steps enough for these convex problems.
        vel_w = 0.9 * vel_w - lr * grad_w
        vel_b = 0.9 * vel_b - lr * grad_b
        w += vel_w
        b += vel_b
    return LinearModel(tuple(features), tuple(classes), tuple(float(v) for v in mean),
                       tuple(float(v) for v in scale),
                       tuple(tuple(float(v) for v in w[:, j]) for j in range(k)),
                       tuple(float(v) for v in b))


def idf_table(texts: Iterable[str], *, min_df: int = 20) -> tuple[dict[str, float], float]:
    """Inverse document frequency of the stems seen in at least ``min_df`` texts.

    Rarer stems get ``default_idf`` (the value of a stem seen once), so only the common words
    are stored: the table stays small and carries no text beyond frequent single words.
    """
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        n += 1
        df.update({stem_word(t) for t in tokens(text)})
    default = math.log((n + 1) / 2) + 1
    return ({s: round(math.log((n + 1) / (c + 1)) + 1, 3) for s, c in df.items() if c >= min_df},
            round(default, 3))


def train_lexical(pairs: Sequence[Pair], idf: Mapping[str, float], default_idf: float, *,
                  version: str, trained_on: str = "", l2: float = 1.0) -> LexicalModel:
    """Fit the rationale model on abstracts with evidence, then the label model on all pairs."""
    placeholder = LinearModel((), ("no", "yes"), (), (), ((),), (0.0,))
    model = LexicalModel(version, dict(idf), default_idf, placeholder, placeholder,
                         trained_on=trained_on)
    claims = {p.claim: analyse(p.claim) for p in pairs}
    docs = {p.doc_id: [analyse(s) for s in p.sentences] for p in pairs}
    titles = {p.doc_id: analyse(p.title) for p in pairs}
    s_rows: list[dict[str, float]] = []
    s_y: list[str] = []
    for p in pairs:
        if p.label == "NOT ENOUGH INFO" or not p.sentences:
            continue
        for i, f in enumerate(sentence_features(claims[p.claim], docs[p.doc_id], idf,
                                                default_idf)):
            s_rows.append(f)
            s_y.append("yes" if i in p.rationale else "no")
    feats = sorted(s_rows[0]) if s_rows else []
    rationale = fit_linear(s_rows, s_y, feats, ("no", "yes"), l2=l2)
    model = LexicalModel(version, dict(idf), default_idf, rationale, placeholder,
                         trained_on=trained_on)
    model = _tune_selection(model, [p for p in pairs if p.label != "NOT ENOUGH INFO"],
                            claims, docs)
    l_rows, l_y = [], []
    for p in pairs:
        if not p.sentences:
            continue
        chosen, scores = model.select(claims[p.claim], docs[p.doc_id])
        l_rows.append(model.label_features(claims[p.claim], docs[p.doc_id], titles[p.doc_id],
                                           chosen, scores))
        l_y.append(p.label)
    label = fit_linear(l_rows, l_y, sorted(l_rows[0]), LABELS, l2=l2)
    return dataclasses.replace(model, label=label)


def _tune_selection(model: LexicalModel, pairs: Sequence[Pair], claims: Mapping[str, TextInfo],
                    docs: Mapping[int, Sequence[TextInfo]]) -> LexicalModel:
    """The threshold and rationale size that maximise sentence F1 on abstracts with evidence.

    Class weighting makes the rationale model's probabilities too generous for 0.5 to be the
    right cut; two numbers fitted on the training pairs are cheap and cannot overfit much.
    """
    threshold, max_n = tune_cut([(model.select(claims[p.claim], docs[p.doc_id])[1], p.rationale)
                                 for p in pairs])
    return dataclasses.replace(model, threshold=threshold, max_rationale=max_n)


def tune_cut(scored: Sequence[tuple[Sequence[float], frozenset[int]]]) -> tuple[float, int]:
    """The score cut and rationale size (always at least the best sentence) maximising F1.

    ``scored`` holds every sentence's rationale score of an abstract and its gold rationale.
    """
    best = (-1.0, 0.5, 3)
    for max_n in (1, 2, 3, 4):
        for step in range(4, 20):
            t = step / 20
            tp = fp = fn = 0
            for scores, gold in scored:
                order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
                chosen = set([i for i in order[:max_n] if scores[i] >= t] or order[:1])
                tp += len(chosen & gold)
                fp += len(chosen - gold)
                fn += len(gold - chosen)
            f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            if f > best[0]:
                best = (f, t, max_n)
    return best[1], best[2]


# -- the claim-only baseline ----------------------------------------------------------------
@dataclass(frozen=True)
class ClaimOnlyModel:
    """A bag-of-stems logistic model that reads the claim and never the abstract."""

    model: LinearModel

    def predict(self, claim: str) -> str:
        p = self.model.probabilities(claim_only_features(claim))
        return self.model.classes[max(range(len(p)), key=lambda i: p[i])]


def claim_only_features(claim: str) -> dict[str, float]:
    info = analyse(claim)
    f = {f"w:{s}": 1.0 for s in info.content}
    f.update({"neg": float(info.negation > 0), "null": float(info.null > 0),
              "up": float(info.direction > 0), "down": float(info.direction < 0),
              "hedge": float(info.hedge > 0), "numbers": float(bool(info.numbers)),
              "comparison": float(info.comparison > 0), "absolute": float(info.absolute > 0)})
    return f


def train_claim_only(pairs: Sequence[Pair], *, min_df: int = 3, l2: float = 20.0
                     ) -> ClaimOnlyModel:
    """Fit the baseline on the claims of ``pairs`` (stems seen in ``min_df`` claims or more)."""
    rows = [claim_only_features(p.claim) for p in pairs]
    df = Counter(k for r in rows for k in r if k.startswith("w:"))
    feats = sorted({k for r in rows for k in r if not k.startswith("w:")}
                   | {k for k, c in df.items() if c >= min_df})
    return ClaimOnlyModel(fit_linear(rows, [p.label for p in pairs], feats, LABELS, l2=l2))


def train_from_files(claims_path: str | Path, corpus_path: str | Path, *, version: str
                     ) -> LexicalModel:
    """The shipped model's recipe: word rarity from the whole corpus, fit on every claim."""
    idf, default = idf_table(corpus_texts(corpus_path))
    return train_lexical(load_pairs(claims_path, corpus_path), idf, default, version=version,
                         trained_on=f"{Path(claims_path).name} + {Path(corpus_path).name}")
