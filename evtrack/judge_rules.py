"""The cue-rule layer of the stance judge: reads a structured claim's relation in a sentence.

It needs the claim's structure (subject and object with their aliases, and the relation) and
applies to sentences that name both entities. Rules, in the order they apply:

1. **Co-mention.** Only sentences naming both the claim's subject and object count, through
   ``claim.terms_for(entity)``: case-insensitive, whole words, hyphen/space-insensitive
   ("brain-derived" = "brain derived"), with an optional plural "s"/"es".
2. **Direction.** Within the clause holding both entities, the relation's cue nearest the
   entities is read (one lying between them first). Each relation has cue families that
   support it and families that oppose it (``_RULES``): ``increases``/``activates`` ← increase
   cues, opposed by decrease cues; ``decreases``/``blocks`` the reverse; ``is_required_for`` ←
   required/necessary/dependent/mediated, opposed by independent/dispensable, and a
   loss-of-function reading ("mice lacking X", "X knockout", "blocking X"): the object's effect
   abolished or absent → supports, preserved/unaffected → contradicts; ``is_sufficient_for`` ←
   sufficient/induce/mimic; ``causes`` ← cause/induce/lead to, opposed by prevent/decrease;
   ``binds`` ← bind/affinity/interact; ``does_not_explain`` is the negated claim: independent/
   insufficient/dissociated support it, explains/accounts for/mediates/required oppose it.
   Comparatives count ("higher", "greater", "fewer"); a reversing verb flips a direction ("reversed
   the stress-induced decrease" is an increase), and so does less of the subject ("shorter
   telomere length … higher risk" reads as telomere length lowering risk).
3. **Negation** ("not", "no", "did not", "failed to", "without", "neither/nor", "lack of", or a
   trailing "was not observed / not significant") flips a supporting cue into a contradiction;
   a negated opposing cue supports only for complementary pairs (required vs independent,
   explains vs not), otherwise it is no finding. A null-effect cue ("no effect", "unchanged",
   "did not alter") contradicts a directional claim.
4. **Epistemics.** A hypothesis ("may", "might", "could", "we propose", "hypothes*", "whether",
   "putative") makes a directional sentence a mere ``mentions`` with low confidence; a soft hedge
   ("suggest", "indicate", "appear", "likely") keeps the stance and lowers the confidence.
   Background sentences and nominal presuppositions ("the NMDA receptor antagonist ketamine")
   never count as findings either: they mention.
5. **Decision.** The strongest finding wins (conclusion = results > title = body > methods,
   later sentence on ties); agreeing findings raise the confidence, disagreeing ones lower it.
   Co-mentions without a finding → ``mentions``; nothing co-mentioned → ``unclear``.

Known limits: the agent is not checked (who increased what — "BDNF lower in controls than after
ketamine" reads as a decrease), claim ``context`` is ignored, only sentence-level co-mentions
count, and the confidence values (0.8 for a finding, 0.5 for a mention, 0.35 for a hypothesis,
scaled by section role and hedges) are priors, not calibrated probabilities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evtrack import judge_cues as C
from evtrack.judge_sentences import Sentence


# -- entities -------------------------------------------------------------------------------
def _term_regex(term: str) -> str:
    words = [w for w in re.split(r"[\s\-‐‑–]+", term.strip()) if w]
    parts = [re.escape(w) for w in words]
    last = words[-1] if words else ""
    # "receptors" in the claim should still match "receptor" in the text, and vice versa.
    low = last.lower()
    if len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "is", "us")):
        parts[-1] = re.escape(last[:-1])
    return r"(?:\s+|\s*[-‐‑–]\s*)".join(parts) + r"(?:s|es)?"


def _entity_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first so "NMDA receptor" wins over "NMDA" at the same position.
    alts = sorted({_term_regex(t) for t in terms if t.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alts) + r")(?![A-Za-z0-9])", re.IGNORECASE)



@dataclass(frozen=True)
class _Rule:
    support: tuple[str, ...]
    oppose: tuple[str, ...]
    complementary: bool = False  # a negated opposing cue then supports
    null_contradicts: bool = True
    loss_of_function: bool = False


_RULES: dict[str, _Rule] = {
    "increases": _Rule(("up",), ("down",)),
    "activates": _Rule(("up",), ("down",)),
    "decreases": _Rule(("down",), ("up",)),
    "blocks": _Rule(("down",), ("up",)),
    "is_required_for": _Rule(("require",), ("independent",), complementary=True,
                             null_contradicts=False, loss_of_function=True),
    "is_sufficient_for": _Rule(("sufficient",), ("insufficient",), complementary=True),
    "causes": _Rule(("cause", "up"), ("down",)),
    "binds": _Rule(("bind",), ()),
    "does_not_explain": _Rule(("independent", "insufficient"), ("explain",), complementary=True,
                              null_contradicts=False),
}
_NO_RULE = _Rule((), (), null_contradicts=False)

_ROLE_WEIGHT = {"conclusion": 1.0, "results": 1.0, "title": 0.9, "body": 0.9, "methods": 0.6,
                "background": 0.0}
_FINDING_CONF = 0.8
_MENTION_CONF = 0.5
_HYPOTHESIS_CONF = 0.35


@dataclass(frozen=True)
class _Reading:
    stance: str
    confidence: float
    sentence: Sentence
    directional: bool  # a relation cue was read, even if hedged into "mentions"


@dataclass(frozen=True)
class RuleCall:
    """The rule layer's answer: a stance, the sentence behind it and how sure it is.

    ``directional`` says the relation itself was read (a finding, or a hedged or background
    statement of it); a plain co-mention or no co-mention at all leaves it False.
    """

    stance: str  # supports | contradicts | mentions | unclear
    sentence: Sentence | None
    confidence: float
    directional: bool


def read_claim(subject_terms: tuple[str, ...], relation: str, object_terms: tuple[str, ...],
               sentences: Sequence[Sentence]) -> RuleCall:
    """What the cue rules make of ``sentences`` for "subject relation object".

    >>> from evtrack.judge_sentences import text_sentences
    >>> read_claim(("ketamine",), "increases", ("BDNF",),
    ...            text_sentences([], title="Ketamine rapidly increased BDNF.")).stance
    'supports'
    """
    rule = _RULES.get(relation, _NO_RULE)
    if not subject_terms or not object_terms:
        return RuleCall("unclear", None, 0.0, False)
    subj = _entity_pattern(subject_terms)
    obj = _entity_pattern(object_terms)
    readings = [r for s in sentences if (r := _read_sentence(s, subj, obj, rule)) is not None]
    if not readings:
        return RuleCall("unclear", None, 0.0, False)
    findings = [r for r in readings if r.stance in ("supports", "contradicts")]
    if not findings:
        best = max(readings, key=lambda r: (r.directional, r.confidence, r.sentence.index))
        return RuleCall("mentions", best.sentence, round(best.confidence, 3), best.directional)
    best = max(findings, key=lambda r: (r.confidence, r.sentence.index))
    agree = sum(1 for r in findings if r.stance == best.stance) - 1
    disagree = sum(1 for r in findings if r.stance != best.stance)
    conf = min(0.95, best.confidence + 0.05 * agree) * (0.7 if disagree else 1.0)
    return RuleCall(best.stance, best.sentence, round(conf, 3), True)


def _read_sentence(
    sent: Sentence, subj: re.Pattern[str], obj: re.Pattern[str], rule: _Rule
) -> _Reading | None:
    """The stance one sentence gives, or None when it does not name both entities."""
    if not (subj.search(sent.text) and obj.search(sent.text)):
        return None
    clauses = _clauses(sent.text)
    both = [c for c in clauses if subj.search(sent.text, *c) and obj.search(sent.text, *c)]
    best: _Reading | None = None
    for lo, hi in both or [(0, len(sent.text))]:
        reading = _read_span(sent, lo, hi, subj, obj, rule)
        if best is None or (reading.directional, reading.confidence) > (
            best.directional, best.confidence
        ):
            best = reading
    return best


def _clauses(text: str) -> list[tuple[int, int]]:
    cuts = [0, *(m.start() for m in C.CLAUSE_SPLIT.finditer(text)), len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _read_span(
    sent: Sentence, lo: int, hi: int, subj: re.Pattern[str], obj: re.Pattern[str], rule: _Rule
) -> _Reading:
    text = sent.text
    s_hits = list(subj.finditer(text, lo, hi))
    o_hits = list(obj.finditer(text, lo, hi))
    stance: str | None = None
    nominal = False
    if rule.loss_of_function and (lof := _loss_of_function(text, lo, s_hits)):
        stance = _read_loss_of_function(text, lo, hi, lof)
    if stance is None:
        cue = _pick_cue(text, lo, hi, s_hits, o_hits, rule)
        if cue is None:
            return _Reading("mentions", _MENTION_CONF, sent, False)
        family, m = cue
        nominal = _is_nominal(text, m)
        if family in ("up", "down") and (
            C.REVERSAL_BEFORE.search(text, max(lo, m.start() - 50), m.start())
            or any(C.LESS_OF_SUBJECT.search(text, max(lo, h.start() - 30), h.start())
                   for h in s_hits)
            or _subject_after_than(text, m, hi, s_hits, o_hits)
        ):
            family = "down" if family == "up" else "up"
        negated = family != "null" and (
            _negated(text, m, lo, hi) or bool(s_hits) and all(
                C.NEGATED_ENTITY_BEFORE.search(text, max(lo, h.start() - 12), h.start())
                for h in s_hits))
        if family == "null":
            stance = "contradicts"
        elif family in rule.support:
            stance = "contradicts" if negated else "supports"
        elif not negated:
            stance = "contradicts"
        elif rule.complementary:
            stance = "supports"
        if stance is None:  # "did not decrease" says nothing about "increases"
            return _Reading("mentions", _MENTION_CONF, sent, True)
    weight = _ROLE_WEIGHT.get(sent.role, 0.9)
    if C.HYPOTHESIS.search(text, lo, hi) or text.rstrip().endswith("?"):
        return _Reading("mentions", _HYPOTHESIS_CONF, sent, True)
    if nominal or weight == 0.0:
        return _Reading("mentions", _MENTION_CONF, sent, True)
    conf = _FINDING_CONF * weight * (0.8 if C.SOFT_HEDGE.search(text, lo, hi) else 1.0)
    return _Reading(stance, conf, sent, True)


def _pick_cue(
    text: str, lo: int, hi: int, s_hits: list[re.Match[str]], o_hits: list[re.Match[str]],
    rule: _Rule,
) -> tuple[str, re.Match[str]] | None:
    """The relation cue that most plausibly links the two entities: between them, else nearest."""
    families = (*rule.support, *rule.oppose, *(("null",) if rule.null_contradicts else ()))
    spans = [(m.start(), m.end()) for m in (*s_hits, *o_hits)]
    between_lo = min(b for _, b in spans)
    between_hi = max(a for a, _ in spans)
    # A direction word inside a null phrase ("neither increased nor decreased") is no cue.
    nulls = [(m.start(), m.end()) for m in C.FAMILIES["null"].finditer(text, lo, hi)]
    best: tuple[tuple[int, int, int], str, re.Match[str]] | None = None
    for family in families:
        for m in C.FAMILIES[family].finditer(text, lo, hi):
            # A cue inside an entity's name ("NMDA receptor antagonist" as an alias) is no cue.
            if any(a <= m.start() < b for a, b in spans):
                continue
            if family != "null" and any(a <= m.start() < b for a, b in nulls):
                continue
            # "prevented the reduction of BDNF": the verb only reverses the cue after it.
            if C.REVERSAL_VERB.match(m.group(0)) and _cue_follows(text, m.end(), hi, families):
                continue
            between = between_lo <= m.start() < between_hi
            # A verb beats a presupposing noun or participle wherever it stands.
            key = (
                int(_is_nominal(text, m)), 0 if between else 1,
                min(abs(m.start() - a) for a, _ in spans),
            )
            if best is None or key < best[0]:
                best = (key, family, m)
    return (best[1], best[2]) if best else None


def _cue_follows(text: str, start: int, hi: int, families: tuple[str, ...]) -> bool:
    """Whether a direction cue follows within a reversing verb's reach (four words)."""
    end = min(hi, start + 50)
    reach = min(end, start + 1 + len(" ".join(text[start:end].split()[:4])))
    return any(f in ("up", "down") and C.FAMILIES[f].search(text, start, reach)
               for f in families)


def _subject_after_than(text: str, m: re.Match[str], hi: int, s_hits: list[re.Match[str]],
                        o_hits: list[re.Match[str]]) -> bool:
    """A comparative cue whose subject comes only after "than" (and its object before)."""
    if not C.COMPARATIVE.search(m.group(0)):
        return False
    than = C.THAN.search(text, m.end(), hi)
    return bool(than and s_hits and all(h.start() > than.start() for h in s_hits)
                and any(o.start() < than.start() for o in o_hits))


def _is_nominal(text: str, m: re.Match[str]) -> bool:
    word = m.group(0)
    return bool(C.NOMINAL.search(word)) or (
        text[m.start() - 1 : m.start()] == "-" and bool(C.PRESUPPOSED_PARTICIPLE.search(word))
    )


def _negated(text: str, m: re.Match[str], lo: int, hi: int) -> bool:
    before = text[max(lo, m.start() - 40) : m.start()]
    return bool(C.NEGATOR_BEFORE.search(before) or C.NEGATOR_AFTER.search(text[m.end() : hi])
                or C.NOT_SIGNIFICANT_AFTER.search(text[hi:]))


def _loss_of_function(text: str, lo: int, s_hits: list[re.Match[str]]) -> tuple[int, int] | None:
    """The span of a knocked-out, deleted or blocked subject ("mice lacking BDNF"), if any."""
    for m in s_hits:
        before = C.LOF_BEFORE.search(text, max(lo, m.start() - 40), m.start())
        after = C.LOF_AFTER.match(text, m.end(), m.end() + 30)
        if before or after:
            return (before.start() if before else m.start(), after.end() if after else m.end())
    return None


def _read_loss_of_function(text: str, lo: int, hi: int, lof: tuple[int, int]) -> str | None:
    """Without the subject, is the object's effect lost (supports) or kept (contradicts)?"""
    for part_lo, part_hi in ((lo, lof[0]), (lof[1], hi)):
        part = text[part_lo:part_hi]
        for m in C.FAMILIES["down"].finditer(part):
            return "contradicts" if C.NEGATOR_BEFORE.search(part[: m.start()]) else "supports"
    parts = text[lo : lof[0]] + " " + text[lof[1] : hi]
    if C.PRESERVED.search(parts):
        return "contradicts"
    if C.ABSENT.search(parts):
        return "supports"
    return None
