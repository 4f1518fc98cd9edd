"""The stance judge: does a paper's title and abstract support a claim, contradict it, or neither?

``judge_link(claim, record)`` (the pipeline's entry) and ``judge_text(claim, sentences)`` (any
claim text against an abstract given as sentences, e.g. SciFact) return a :class:`Judgement`:
``supports``, ``contradicts``, ``mentions`` or ``unclear``, the verbatim rationale sentence, a
confidence in 0..1, and the method and version that made the call, so a later judge can replace
this one and the ledger still knows who decided what.

Two layers, both deterministic and dependency-free (docs/judge.md has the details and figures):

1. **Cue rules** (:mod:`evtrack.judge_rules`, method ``cue-rules``) need the claim's structure
   (subject, relation, object, aliases). In sentences naming both entities they read the
   relation's direction with negation, direction reversal, hedges/hypotheses, comparisons and
   loss-of-function readings. When they read the relation at all — a finding, or a hedged or
   background statement of it — their answer stands.
2. **The trained lexical model** (:mod:`evtrack.judge_model`, method ``lexical-lr``) reads the
   claim as free text: it picks rationale sentences by rarity-weighted overlap and cue words and
   labels the claim against them (SUPPORT / CONTRADICT / NOT ENOUGH INFO) with coefficients
   learned from SciFact's training claims. It decides when the rules could not read the relation
   (entities not co-mentioned under these names, or co-mentioned without a relation cue) and is
   all there is for a claim without structure. Its measured error rate is in
   ``evtrack/data/judge_error_rates.json``.

``judge="embed"`` (``evtrack refresh --judge embed``; the optional ``evtrack[embed]`` extra)
replaces layer 2 by the embedding judge (:mod:`evtrack.judge_embed`, method ``embed-lr``): the
same lexical features plus all-MiniLM-L6-v2 sentence similarities, under heads of its own.

>>> judge_text("Drug X lowers blood pressure.", ["We enrolled 40 adults.",
...            "Drug X did not change blood pressure (p = 0.6)."]).stance
'contradicts'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evtrack.claims import Claim
from evtrack.judge_embed import EMBED_METHOD
from evtrack.judge_features import analyse, weighted_recall
from evtrack.judge_model import LexicalModel, Prediction, load_model
from evtrack.judge_rules import read_claim
from evtrack.judge_sentences import Sentence, record_sentences, split_sentences, text_sentences
from evtrack.records import PaperRecord

if TYPE_CHECKING:
    from evtrack.judge_embed import EmbedModel, Encoder

#: The rule layer's method name (the judge's only method before the lexical model).
JUDGE_METHOD = "cue-rules"
#: The trained lexical model's method name.
LEXICAL_METHOD = "lexical-lr"
#: Every method an automatic judgement may carry (refresh replaces any of them).
AUTO_METHODS = (JUDGE_METHOD, LEXICAL_METHOD, EMBED_METHOD)
#: The judges one can select: the default, dependency-free one and the embedding one.
JUDGES = ("lexical", "embed")
#: Bump whenever a rule, lexicon or the shipped model changes, so stored judgements can be told
#: apart and redone; ``scripts/train_judge.py`` stamps it into the model file.
JUDGE_VERSION = "2.0"
#: Stances this judge gives; "mixed" is left to curators and aggregation.
JUDGE_STANCES = ("supports", "contradicts", "mentions", "unclear")
# Below this share of the claim's (rarity-weighted) words, a sentence is not even a mention.
_MENTION_RECALL = 0.5

__all__ = [
    "AUTO_METHODS", "EMBED_METHOD", "JUDGES", "JUDGE_METHOD", "JUDGE_STANCES", "JUDGE_VERSION",
    "LEXICAL_METHOD", "ClaimText", "Judgement", "current_versions", "judge_link", "judge_text",
    "split_sentences",
]


@dataclass(frozen=True)
class Judgement:
    """The judge's call on one claim–paper link."""

    stance: str
    rationale: str | None  # the sentence that drove the call, verbatim; None when unclear
    confidence: float  # 0..1, the judge's belief in ``stance``
    method: str = JUDGE_METHOD
    version: str = JUDGE_VERSION
    # Every rationale sentence, as indices into the abstract sentences judged (title excluded),
    # best first; empty when the rationale is the title or there is none.
    rationale_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class ClaimText:
    """A claim as the judge reads it: free text, plus structure when there is some."""

    text: str
    subject: str | None = None
    relation: str | None = None
    object: str | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, claim: str | ClaimText | Claim) -> ClaimText:
        """Accept a bare string, a :class:`ClaimText` or a claims-file :class:`Claim`."""
        if isinstance(claim, ClaimText):
            return claim
        if isinstance(claim, str):
            return cls(claim)
        return cls(claim.text, claim.subject, claim.relation, claim.object, dict(claim.aliases))

    def terms_for(self, entity: str | None) -> tuple[str, ...]:
        """The entity's own name followed by its aliases (nothing for no entity)."""
        return (entity, *self.aliases.get(entity, ())) if entity else ()


def judge_link(claim: Claim, record: PaperRecord, *, model: LexicalModel | None = None,
               use_model: bool = True, judge: str = "lexical") -> Judgement:
    """Judge whether ``record``'s title and abstract support ``claim``.

    ``use_model=False`` keeps to the cue rules (transparent, but silent without structure).
    ``judge="embed"`` lets the embedding judge (evtrack[embed]) decide where the lexical model
    would.

    >>> c = Claim(id="C5", text="", subject="ketamine", relation="increases", object="BDNF")
    >>> judge_link(c, PaperRecord(pmid="1", title="Ketamine rapidly increased BDNF.")).stance
    'supports'
    """
    return _judge(ClaimText.of(claim), record_sentences(record),
                  _model_layer(judge, model, None, None), use_model)


def judge_text(claim: str | ClaimText | Claim, sentences: Sequence[str], *,
               title: str | None = None, model: LexicalModel | None = None,
               use_model: bool = True, judge: str = "lexical",
               embed_model: EmbedModel | None = None, encoder: Encoder | None = None
               ) -> Judgement:
    """Judge a claim against an abstract given as sentences (and optionally its title).

    ``rationale_indices`` of the result index ``sentences``. ``model`` replaces the shipped
    lexical model (cross-validation refits one per fold); with ``judge="embed"``,
    ``embed_model`` and ``encoder`` replace the shipped heads and the MiniLM encoder.
    """
    return _judge(ClaimText.of(claim), text_sentences(sentences, title),
                  _model_layer(judge, model, embed_model, encoder), use_model)


def current_versions(judge: str = "lexical") -> dict[str, str]:
    """The method → version of every layer the selected judge would use now.

    A stored automatic judgement with another method or version is stale for this judge.
    """
    if judge == "embed":
        from evtrack.judge_embed import load_embed_model
        return {JUDGE_METHOD: JUDGE_VERSION, EMBED_METHOD: load_embed_model().version}
    _check_judge(judge)
    return {JUDGE_METHOD: JUDGE_VERSION, LEXICAL_METHOD: load_model().version}


@dataclass(frozen=True)
class _ModelLayer:
    """The trained layer that decides when the rules cannot: its call, name and word rarity."""

    predict: Callable[[str, Sequence[str], str | None], Prediction]
    method: str
    version: str
    idf: Mapping[str, float]
    default_idf: float


def _check_judge(judge: str) -> None:
    if judge not in JUDGES:
        raise ValueError(f"unknown judge {judge!r} (known: {', '.join(JUDGES)})")


def _model_layer(judge: str, model: LexicalModel | None, embed_model: EmbedModel | None,
                 encoder: Encoder | None) -> Callable[[], _ModelLayer]:
    _check_judge(judge)

    def build() -> _ModelLayer:  # loaded only when the rules leave the call to the model
        if judge == "embed":
            from evtrack.judge_embed import load_embed_model, require
            if embed_model is None or encoder is None:
                require()
            e = embed_model or load_embed_model()
            return _ModelLayer(lambda c, s, t: e.predict(c, s, t, encoder=encoder),
                               EMBED_METHOD, e.version, e.lexical.idf, e.lexical.default_idf)
        m = model or load_model()
        return _ModelLayer(m.predict, LEXICAL_METHOD, m.version, m.idf, m.default_idf)
    return build


def _judge(claim: ClaimText, sents: list[Sentence], layer: Callable[[], _ModelLayer],
           use_model: bool) -> Judgement:
    title = " ".join(s.text for s in sents if s.role == "title")
    body = [s for s in sents if s.role != "title"]
    rules = read_claim(claim.terms_for(claim.subject), claim.relation or "",
                       claim.terms_for(claim.object), sents)
    if rules.directional or not use_model or not claim.text.strip():
        return _from_rules(rules.stance, rules.sentence, rules.confidence, body)
    m = layer()
    texts = [s.text for s in body]
    pred = m.predict(claim.text, texts, title or None)
    if pred.label != "NOT ENOUGH INFO":
        stance = "supports" if pred.label == "SUPPORT" else "contradicts"
        return Judgement(stance, texts[pred.rationale[0]],
                         round(pred.probabilities[pred.label], 3), m.method, m.version,
                         pred.rationale)
    if rules.stance == "mentions":
        return _from_rules(rules.stance, rules.sentence, rules.confidence, body)
    if pred.rationale:
        best = pred.rationale[0]
        recall = weighted_recall(analyse(claim.text), analyse(texts[best]).content, m.idf,
                                 m.default_idf)
        if recall >= _MENTION_RECALL:
            return Judgement("mentions", texts[best],
                             round(pred.probabilities["NOT ENOUGH INFO"], 3), m.method,
                             m.version, (best,))
    return Judgement("unclear", None, 0.0, m.method, m.version)


def _from_rules(stance: str, sentence: Sentence | None, confidence: float,
                body: list[Sentence]) -> Judgement:
    if sentence is None:
        return Judgement("unclear", None, 0.0)
    index = tuple(i for i, s in enumerate(body) if s is sentence)
    return Judgement(stance, sentence.text, confidence, rationale_indices=index)
