"""Features of a free-text claim against the sentences of an abstract, for the lexical judge.

Nothing here is learned: this module turns text into numbers (word overlap, cue words,
negation, direction, opposites, numbers) and :mod:`evtrack.judge_model` weighs them with
coefficients trained by ``scripts/train_judge.py``. Pure Python, no dependency.

>>> c, s = analyse("Drug X increases IL-6."), analyse("Drug X did not increase IL-6 levels.")
>>> (c.up, c.down, s.up, s.down)
(1, 0, 0, 1)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from evtrack import judge_lexicon as lex

# -- stemming -------------------------------------------------------------------------------
_INFLECTIONS = ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "es", "s")
_DERIVATIONS = (
    "izations", "isations", "ization", "isation", "ational", "ations", "ation", "ators", "ator",
    "ctively", "ctions", "ction", "ctive", "itions", "ition", "itors", "itor", "ssions", "ssion",
    "ivities", "ivity", "ities", "ity", "ously", "ous", "ively", "ive", "ements", "ement",
    "ments", "ment", "ize", "ise", "ability", "ibility", "able", "ible", "ance", "ence", "ant",
    "ent", "ically", "ical", "ally", "ly", "al", "ness", "ful", "ory", "ate",
)
_REPLACE = {
    "ctively": "c", "ctions": "c", "ction": "c", "ctive": "c", "ies": "i", "ied": "i",
    "ically": "ic", "ical": "ic", "itions": "it", "ition": "it", "itors": "it", "itor": "it",
    "ssions": "ss", "ssion": "ss", "ivities": "iv", "ivity": "iv", "ively": "iv", "ive": "iv",
}


def _strip(word: str, suffixes: tuple[str, ...]) -> str:
    for suf in suffixes:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            if suf in ("s", "es") and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suf)] + _REPLACE.get(suf, "")
    return word


@lru_cache(maxsize=200_000)  # a vocabulary is small next to the text it is read from
def stem(word: str) -> str:
    """A crude, deterministic stem: one inflection, then up to two derivational suffixes.

    It only has to map a word's family onto one key ("association", "associated" → "associ");
    a real morphological analyser would be a dependency for little gain here.

    >>> [stem(w) for w in ("increased", "increasing", "reduction", "reduces", "activity")]
    ['increas', 'increas', 'reduc', 'reduc', 'activ']
    """
    w = word.lower()
    if not w.isalpha() or len(w) <= 3:
        return w
    w = _strip(w, _INFLECTIONS)
    for _ in range(2):
        shorter = _strip(w, _DERIVATIONS)
        if shorter == w:
            break
        w = shorter
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    if w.endswith("ct"):
        w = w[:-1]
    if w.endswith("at") and len(w) >= 6:
        w = w[:-2]
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def _stems(words: Sequence[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


STOP = _stems(lex.STOPWORDS) | frozenset(lex.STOPWORDS)
NEGATION = frozenset(lex.NEGATION)
UP, DOWN, NULL = _stems(lex.UP), _stems(lex.DOWN), _stems(lex.NULL)
HEDGE, RESULT = _stems(lex.HEDGE), _stems(lex.RESULT)
COMPARISON, ABSOLUTE = _stems(lex.COMPARISON), _stems(lex.ABSOLUTE)
ANTONYMS = tuple((stem(a), stem(b)) for a, b in lex.ANTONYMS)
# After a negator, these say "no effect" rather than "the opposite direction".
_NULL_AFTER_NEGATION = _stems(("effect", "difference", "change", "association", "significant",
                               "correlation", "impact", "benefit", "alter", "affect",
                               "influence", "evidence", "relationship", "role"))

_NEGATING_PREFIXES = ("un", "in", "im", "non", "dis", "ir")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?(?:n't)?|[<>≤≥=]")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


# -- one text -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextInfo:
    """What the judge needs to know about one claim or sentence."""

    stems: tuple[str, ...]
    content: frozenset[str]  # content stems (no stopwords, no numbers)
    bigrams: frozenset[tuple[str, str]]  # adjacent content stems
    numbers: frozenset[str]
    negation: int  # negators ("not", "no", "failed", …)
    up: int  # "more" direction words, after flipping the negated ones
    down: int
    null: int  # "unchanged", "similar", "no effect", "not associated"
    hedge: int
    result: int
    comparison: int
    absolute: int
    length: int  # tokens

    @property
    def direction(self) -> int:
        """+1 when the text says "more", −1 when "less", 0 when neither or both."""
        return (self.up > self.down) - (self.down > self.up)


def tokens(text: str) -> list[str]:
    """Lower-case word, number and comparison-sign tokens; hyphenated words split."""
    return _TOKEN.findall(text.lower().replace("-", " ").replace("\u2010", " "))


@lru_cache(maxsize=4096)
def analyse(text: str) -> TextInfo:
    """Count the cue words of ``text`` (negation flips the direction word it precedes).

    Cached (a TextInfo is immutable): the judge reads a claim's text for every paper, and a
    paper's sentences once per claim it is linked to; refresh judges a paper's links in a row.
    """
    toks = tokens(text)
    stems = tuple(stem(t) for t in toks)
    up = down = null = neg = 0
    last_neg = -10
    for i, (tok, st) in enumerate(zip(toks, stems, strict=True)):
        if tok in NEGATION and not (tok == "not" and i + 1 < len(toks) and toks[i + 1] == "only"):
            neg += 1
            last_neg = i
            continue
        negated = i - last_neg <= 3
        if st in NULL or (negated and st in _NULL_AFTER_NEGATION):
            null += 1
        if st in UP:
            up, down = (up, down + 1) if negated else (up + 1, down)
        elif st in DOWN:
            up, down = (up + 1, down) if negated else (up, down + 1)
    content = [s for s in stems if s not in STOP and not _NUMBER.match(s) and len(s) > 1]
    return TextInfo(
        stems=stems,
        content=frozenset(content),
        bigrams=frozenset(zip(content, content[1:], strict=False)),
        numbers=frozenset(t for t in toks if _NUMBER.match(t)),
        negation=neg, up=up, down=down, null=null,
        hedge=sum(1 for s in stems if s in HEDGE),
        result=sum(1 for s in stems if s in RESULT),
        comparison=sum(1 for s in stems if s in COMPARISON),
        absolute=sum(1 for s in stems if s in ABSOLUTE),
        length=len(toks),
    )


# -- a claim against a sentence -------------------------------------------------------------
def weighted_recall(claim: TextInfo, other: frozenset[str], idf: Mapping[str, float],
                    default_idf: float) -> float:
    """Share of the claim's content, weighted by rarity, that ``other`` repeats."""
    total = sum(idf.get(s, default_idf) for s in claim.content)
    if total == 0:
        return 0.0
    return sum(idf.get(s, default_idf) for s in claim.content & other) / total


def antonym_swaps(claim: TextInfo, sent: TextInfo) -> int:
    """Claim words whose opposite, but not the word itself, stands in the sentence."""
    c, s = set(claim.stems), set(sent.stems)
    n = 0
    for a, b in ANTONYMS:
        if (a in c and b in s and a not in s and b not in c) or (
            b in c and a in s and b not in s and a not in c
        ):
            n += 1
    # Negating prefixes: "inaccurate" against "accurate", "unrelated" against "related".
    for x, y in ((c, s), (s, c)):
        for w in x - y:
            for prefix in _NEGATING_PREFIXES:
                if w.startswith(prefix) and len(w) - len(prefix) >= 4 and w[len(prefix):] in y:
                    n += 1
    return n


def sentence_features(claim: TextInfo, sents: Sequence[TextInfo], idf: Mapping[str, float],
                      default_idf: float) -> list[dict[str, float]]:
    """Features of every sentence as a candidate rationale for ``claim``."""
    recalls = [weighted_recall(claim, s.content, idf, default_idf) for s in sents]
    best = max(recalls, default=0.0)
    order = sorted(range(len(sents)), key=lambda i: -recalls[i])
    rank = {i: r for r, i in enumerate(order)}
    n = len(sents)
    out = []
    for i, s in enumerate(sents):
        bi = len(claim.bigrams & s.bigrams) / len(claim.bigrams) if claim.bigrams else 0.0
        prec = len(claim.content & s.content) / len(s.content) if s.content else 0.0
        out.append({
            "recall": recalls[i],
            "recall_gap": best - recalls[i],
            "recall_sq": recalls[i] ** 2,
            "bigram_recall": bi,
            "precision": prec,
            "rank1": float(rank[i] == 0),
            "rank2": float(rank[i] == 1),
            "rank3": float(rank[i] == 2),
            "position": i / max(1, n - 1),
            "first": float(i == 0),
            "last": float(i == n - 1),
            "result": min(3, s.result) / 3,
            "hedge": float(s.hedge > 0),
            "numbers": float(bool(s.numbers)),
            "direction": float(s.up + s.down > 0),
            "null": float(s.null > 0),
            "log_length": math.log1p(s.length) / 4,
        })
    return out


def pair_features(claim: TextInfo, rationale: Sequence[TextInfo], doc: TextInfo,
                  probs: Sequence[float], idf: Mapping[str, float],
                  default_idf: float) -> dict[str, float]:
    """Features of the claim against its chosen rationale sentences (best first) and the doc."""
    top = rationale[0]
    rat_content = frozenset().union(*(r.content for r in rationale))
    r_neg = max(r.negation for r in rationale) > 0
    r_null = max(r.null for r in rationale) > 0
    r_dir = sum(r.direction for r in rationale)
    r_dir = (r_dir > 0) - (r_dir < 0)
    c_dir = claim.direction
    c_neg, c_null = claim.negation > 0, claim.null > 0
    swaps = max(antonym_swaps(claim, r) for r in rationale)
    missing_numbers = len(claim.numbers - frozenset().union(*(r.numbers for r in rationale)))
    f = {
        "p1": probs[0], "p2": probs[1] if len(probs) > 1 else 0.0,
        "n_confident": sum(1 for p in probs if p >= 0.5) / 3,
        "recall_top": weighted_recall(claim, top.content, idf, default_idf),
        "recall_rationale": weighted_recall(claim, rat_content, idf, default_idf),
        "recall_doc": weighted_recall(claim, doc.content, idf, default_idf),
        "claim_neg": float(c_neg), "claim_null": float(c_null),
        "claim_up": float(c_dir > 0), "claim_down": float(c_dir < 0),
        "claim_hedge": float(claim.hedge > 0), "claim_comparison": float(claim.comparison > 0),
        "claim_absolute": float(claim.absolute > 0), "claim_numbers": float(bool(claim.numbers)),
        "claim_length": math.log1p(claim.length) / 4,
        "rat_neg": float(r_neg), "rat_null": float(r_null),
        "rat_up": float(r_dir > 0), "rat_down": float(r_dir < 0),
        "rat_hedge": float(top.hedge > 0), "rat_result": min(3, top.result) / 3,
        "neg_both": float(c_neg and r_neg), "neg_claim_only": float(c_neg and not r_neg),
        "neg_rat_only": float(r_neg and not c_neg),
        "null_both": float(c_null and r_null), "null_claim_only": float(c_null and not r_null),
        "null_rat_only": float(r_null and not c_null),
        "dir_agree": float(c_dir * r_dir > 0), "dir_disagree": float(c_dir * r_dir < 0),
        "dir_claim_null_rat": float(c_dir != 0 and r_null),
        "neg_claim_dir_rat": float(c_neg and r_dir != 0 and not r_neg),
        "null_claim_dir_rat": float(c_null and r_dir != 0),
        "swaps": float(min(swaps, 2)) / 2,
        "numbers_missing": float(missing_numbers > 0),
        "numbers_missing_frac": missing_numbers / len(claim.numbers) if claim.numbers else 0.0,
    }
    return f
