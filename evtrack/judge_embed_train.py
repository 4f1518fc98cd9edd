"""Training the embedding judge's two heads (:mod:`evtrack.judge_embed`) on claim–abstract pairs.

The recipe is the lexical judge's (:mod:`evtrack.judge_train`): a logistic rationale head fitted
on abstracts with evidence, its cut and size tuned for sentence F1, then a three-way label head
on every pair over the rationale it picks. Only the features differ. Needs numpy for the fit and
an :class:`~evtrack.judge_embed.Encoder` for the vectors (a stand-in one in the tests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from evtrack.judge_embed import (
    EMBED_VERSION,
    CachedEncoder,
    EmbedModel,
    Encoder,
    Vectors,
    similarity_features,
)
from evtrack.judge_eval import Pair, corpus_texts, load_pairs
from evtrack.judge_features import TextInfo, analyse, sentence_features
from evtrack.judge_model import LABELS, LexicalModel, LinearModel
from evtrack.judge_train import fit_linear, idf_table, tune_cut


def lexical_base(idf: dict[str, float], default_idf: float) -> LexicalModel:
    """A lexical model holding only a word-rarity table (all the embedding judge reads of it)."""
    empty = LinearModel((), ("no", "yes"), (), (), ((),), (0.0,))
    return LexicalModel("", idf, default_idf, empty, empty)


def train_embed(pairs: Sequence[Pair], lexical: LexicalModel, encoder: Encoder, *,
                version: str = EMBED_VERSION, trained_on: str = "", l2: float = 1.0
                ) -> EmbedModel:
    """Fit the rationale head on abstracts with evidence, then the label head on all pairs."""
    enc = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
    enc.warm(t for p in pairs for t in (p.claim, p.title, *p.sentences) if t)
    claims = {p.claim: analyse(p.claim) for p in pairs}
    docs = {p.doc_id: [analyse(s) for s in p.sentences] for p in pairs}
    titles = {p.doc_id: analyse(p.title) for p in pairs}
    vectors = {(p.claim, p.doc_id): Vectors.of(enc, p.claim, p.sentences, p.title or None)
               for p in pairs if p.sentences}

    rows: list[dict[str, float]] = []
    ys: list[str] = []
    for p in pairs:
        if p.label == "NOT ENOUGH INFO" or not p.sentences:
            continue
        v = vectors[(p.claim, p.doc_id)]
        feats = _sentence_rows(claims[p.claim], docs[p.doc_id], v, lexical)
        rows += feats
        ys += ["yes" if i in p.rationale else "no" for i in range(len(feats))]
    placeholder = LinearModel((), ("no", "yes"), (), (), ((),), (0.0,))
    rationale = fit_linear(rows, ys, sorted(rows[0]) if rows else [], ("no", "yes"), l2=l2)
    model = EmbedModel(version, lexical, rationale, placeholder, trained_on=trained_on)

    evidence = [p for p in pairs if p.label != "NOT ENOUGH INFO" and p.sentences]
    scored = [(model.sentence_scores(claims[p.claim], docs[p.doc_id],
                                     vectors[(p.claim, p.doc_id)]), p.rationale)
              for p in evidence]
    threshold, max_n = tune_cut(scored)
    model = dataclasses.replace(model, threshold=threshold, max_rationale=max_n)

    l_rows, l_y = [], []
    for p in pairs:
        if not p.sentences:
            continue
        v = vectors[(p.claim, p.doc_id)]
        scores = model.sentence_scores(claims[p.claim], docs[p.doc_id], v)
        chosen = model.choose(scores)
        l_rows.append(model.label_features(claims[p.claim], docs[p.doc_id], titles[p.doc_id], v,
                                           chosen, scores))
        l_y.append(p.label)
    label = fit_linear(l_rows, l_y, sorted(l_rows[0]), LABELS, l2=l2)
    return dataclasses.replace(model, label=label)


def _sentence_rows(claim: TextInfo, sents: Sequence[TextInfo], v: Vectors,
                   lexical: LexicalModel) -> list[dict[str, float]]:
    feats = sentence_features(claim, sents, lexical.idf, lexical.default_idf)
    for f, s in zip(feats, similarity_features(v.claim, v.sentences, v.title), strict=True):
        f.update(s)
    return feats


def train_embed_from_files(claims_path: str | Path, corpus_path: str | Path, encoder: Encoder,
                           *, version: str = EMBED_VERSION) -> EmbedModel:
    """The shipped heads' recipe: word rarity from the whole corpus, fit on every claim."""
    idf, default = idf_table(corpus_texts(corpus_path))
    return train_embed(load_pairs(claims_path, corpus_path), lexical_base(idf, default), encoder,
                       version=version,
                       trained_on=f"{Path(claims_path).name} + {Path(corpus_path).name}")
