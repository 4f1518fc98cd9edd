"""A first automatic stance judge for a claim–paper link: transparent cue rules, no model.

``judge_link(claim, record)`` reads the title and abstract and returns a :class:`Judgement`:
``supports``, ``contradicts``, ``mentions`` or ``unclear``, the verbatim sentence that drove it,
a confidence in 0..1 and the method/version that made it (so a later judge can replace this one
and the ledger still knows who decided what).

Rules, in the order they apply:

1. **Sentences.** Title and abstract sections are split into sentences; the splitter does not
   break after abbreviations ("et al.", "e.g.", "i.e.", "vs.", "Fig.", …), inside decimals
   ("0.05"), or before a lowercase word unless it looks like a gene name ("mTOR", "eEF2").
   Each sentence gets a role: its structured-abstract label (BACKGROUND/OBJECTIVE → background,
   METHODS → methods, RESULTS, CONCLUSIONS), or, in an unstructured abstract, background for an
   opening sentence without "we/here/this study", conclusion for the last, body otherwise; lexical
   cues ("has been reported", "we examined whether", "in conclusion") override the position.
2. **Co-mention.** Only sentences naming both the claim's subject and object count, through
   ``claim.terms_for(entity)``: case-insensitive, whole words, hyphen/space-insensitive
   ("brain-derived" = "brain derived"), with an optional plural "s"/"es".
3. **Direction.** Within the clause holding both entities, the relation's cue nearest the
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
4. **Negation** ("not", "no", "did not", "failed to", "without", "neither/nor", "lack of", or a
   trailing "was not observed / not significant") flips a supporting cue into a contradiction;
   a negated opposing cue supports only for complementary pairs (required vs independent,
   explains vs not), otherwise it is no finding. A null-effect cue ("no effect", "unchanged",
   "did not alter") contradicts a directional claim.
5. **Epistemics.** A hypothesis ("may", "might", "could", "we propose", "hypothes*", "whether",
   "putative") makes a directional sentence a mere ``mentions`` with low confidence; a soft hedge
   ("suggest", "indicate", "appear", "likely") keeps the stance and lowers the confidence.
   Background sentences and nominal presuppositions ("the NMDA receptor antagonist ketamine")
   never count as findings either: they mention.
6. **Decision.** The strongest finding wins (conclusion = results > title = body > methods,
   later sentence on ties); agreeing findings raise the confidence, disagreeing ones lower it.
   Co-mentions without a finding → ``mentions``; nothing co-mentioned → ``unclear`` with no
   rationale and confidence 0.

Known limits: the agent is not checked (who increased what — "BDNF lower in controls than after
ketamine" reads as a decrease), claim ``context`` is ignored, only sentence-level co-mentions
count, and the confidence values (0.8 for a finding, 0.5 for a mention, 0.35 for a hypothesis,
scaled by section role and hedges) are priors, not calibrated probabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evtrack.claims import Claim
from evtrack.records import PaperRecord

JUDGE_METHOD = "cue-rules"
#: Bump whenever a rule or lexicon changes, so stored judgements can be told apart and redone.
JUDGE_VERSION = "1.0"
#: Stances this judge gives; "mixed" is left to curators and aggregation.
JUDGE_STANCES = ("supports", "contradicts", "mentions", "unclear")


@dataclass(frozen=True)
class Judgement:
    """The judge's call on one claim–paper link."""

    stance: str
    rationale: str | None  # the sentence that drove the call, verbatim; None when unclear
    confidence: float  # 0..1, the judge's belief in ``stance``
    method: str = JUDGE_METHOD
    version: str = JUDGE_VERSION


@dataclass(frozen=True)
class Sentence:
    text: str
    role: str  # title, background, methods, results, conclusion, body
    index: int  # position in title + abstract order


# -- sentence splitting ---------------------------------------------------------------------
_ABBREVIATIONS = frozenset({
    "al", "e.g", "i.e", "vs", "cf", "fig", "figs", "ref", "refs", "approx", "ca", "dr", "prof",
    "no", "nos", "resp", "st", "inc", "ltd", "co", "jr", "sr", "sp", "spp", "var", "viz", "eq",
    "eqs", "vol", "pp", "u.s", "u.k", "e.u", "est", "incl",
})
# A boundary: end punctuation, optional closing quote/bracket, space, then a capital, digit,
# opening bracket, or a lowercase-initial gene-like token ("mTOR", "eEF2").
_BOUNDARY = re.compile(r"[.!?][\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9]|[a-z]+[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, verbatim (only surrounding whitespace is dropped).

    >>> split_sentences("As shown by Smith et al. 2010, BDNF rose 1.5-fold (e.g. Fig. 2). "
    ...                 "mTOR was unchanged.")
    ['As shown by Smith et al. 2010, BDNF rose 1.5-fold (e.g. Fig. 2).', 'mTOR was unchanged.']
    """
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        head = text[start : m.start() + 1]
        words = head.split()
        last = words[-1].lstrip("([\"'").rstrip(".").lower() if words else ""
        if m.group(0)[0] == "." and last in _ABBREVIATIONS:
            continue
        out.append(head.strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


_LABEL_ROLES = (
    ("background", ("BACKGROUND", "INTRODUCTION", "CONTEXT", "RATIONALE", "OBJECTIVE", "AIM",
                    "PURPOSE", "IMPORTANCE", "HYPOTHES")),
    ("methods", ("METHOD", "DESIGN", "SETTING", "PARTICIPANT", "PATIENT", "INTERVENTION",
                 "MEASURE", "MATERIAL", "MAIN OUTCOME", "EXPOSURE")),
    ("results", ("RESULT", "FINDING")),
    ("conclusion", ("CONCLUSION", "INTERPRETATION", "DISCUSSION", "SIGNIFICANCE", "IMPLICATION")),
)
# What others found, or what this study set out to ask: neither is this study's finding.
_BACKGROUND_CUE = re.compile(
    r"\b(has|have) (previously )?been (shown|reported|proposed|suggested|implicated|described)\b|"
    r"\bis (well )?known\b|\bit is (thought|believed|known|well established)\b|"
    r"\bprevious (studies|reports|work|research)\b|\bstudies have\b|"
    r"\brecent (studies|work|evidence|reports)\b|"
    r"\b(we|this study) (examined|investigated|tested|asked|evaluated|assessed) (whether|if)\b|"
    r"\b(sought|aimed) to\b|\bto (determine|investigate|examine|test) whether\b|\bthe aim\b",
    re.IGNORECASE,
)
_OWN_WORK_CUE = re.compile(r"\b(we|here|our|this study|the present study)\b", re.IGNORECASE)
_CONCLUSION_CUE = re.compile(
    r"\b(in conclusion|taken together|we conclude|these (results|findings|data)|"
    r"our (results|findings|data))\b",
    re.IGNORECASE,
)


def _label_role(label: str) -> str | None:
    upper = label.upper()
    for role, prefixes in _LABEL_ROLES:
        if any(p in upper for p in prefixes):
            return role
    return None


def record_sentences(record: PaperRecord) -> list[Sentence]:
    """Title and abstract of ``record`` as role-tagged sentences."""
    out = [Sentence(t, "title", i) for i, t in enumerate(split_sentences(record.title))]
    sections = record.abstract_sections
    structured = any(s.label or (s.category and s.category != "UNASSIGNED") for s in sections)
    texts = [
        (sent, sec.category or sec.label or "") for sec in sections
        for sent in split_sentences(sec.text)
    ]
    for pos, (text, label) in enumerate(texts):
        role = _label_role(label) if structured and label else None
        if role is None:
            if pos == len(texts) - 1 and pos > 0:
                role = "conclusion"
            elif pos == 0 and len(texts) >= 3 and not _OWN_WORK_CUE.search(text):
                role = "background"
            else:
                role = "body"
        if role not in ("background", "methods") and _BACKGROUND_CUE.search(text):
            role = "background"
        elif role == "body" and _CONCLUSION_CUE.search(text):
            role = "conclusion"
        out.append(Sentence(text, role, len(out)))
    return out


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


# -- cue lexicons ---------------------------------------------------------------------------
def _cues(*stems: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(stems) + r")", re.IGNORECASE)


_FAMILIES: dict[str, re.Pattern[str]] = {
    "up": _cues(
        r"increas\w*", r"elevat\w*", r"enhanc\w*", r"up-?regulat\w*", r"rais(?:e|ed|es|ing)\b",
        r"induc\w*", r"potentiat\w*", r"boost\w*", r"augment\w*", r"stimulat\w*", r"activat\w*",
        r"promot\w*", r"facilitat\w*", r"amplif\w*", r"ris(?:e|es|ing)\b", r"rose\b",
        r"higher\b", r"greater\b",
    ),
    "down": _cues(
        r"decreas\w*", r"reduc\w*", r"attenuat\w*", r"suppress\w*", r"inhibit\w*", r"block\w*",
        r"antagoni[sz]\w*", r"abolish\w*", r"prevent\w*", r"impair\w*", r"lower(?:ed|ing|s)?\b",
        r"diminish\w*", r"down-?regulat\w*", r"declin\w*", r"blunt\w*", r"abrogat\w*",
        r"deplet\w*", r"fewer\b", r"dampen\w*",
    ),
    "null": _cues(
        r"no (?:significant |detectable |measurable )?(?:effect|change|difference|alteration)s?",
        r"unchanged\b", r"unaltered\b", r"unaffected\b", r"had no\b",
        r"(?:(?:did|does|do) not|fail(?:s|ed)? to) (?:significantly )?"
        r"(?:alter|affect|change|modify|influence)\b",
        r"neither \w+(?: \w+)? nor \w+",
        r"lack of (?:an? )?effect",
    ),
    "require": _cues(
        r"requir\w*", r"necessary\b", r"necessity\b", r"essential\b", r"indispensable\b",
        r"(?<!dose-)(?<!time-)(?<!age-)(?<!concentration-)depend(?:s|ed|ent|ence)?\b",
        r"mediat\w*", r"critical for\b", r"crucial for\b", r"needed\b",
    ),
    "independent": _cues(r"independent\w*", r"dispensable\b", r"dissociat\w*"),
    "sufficient": _cues(
        r"sufficien\w*", r"mimic\w*", r"recapitulat\w*", r"induc\w*", r"produc\w*",
        r"elicit\w*", r"trigger\w*", r"evok\w*",
    ),
    "insufficient": _cues(r"insufficien\w*"),
    "cause": _cues(
        r"caus\w*", r"induc\w*", r"lead(?:s)? to\b", r"led to\b", r"result(?:s|ed)? in\b",
        r"trigger\w*", r"produc\w*", r"evok\w*", r"elicit\w*", r"responsible for\b",
    ),
    "bind": _cues(r"bind\w*", r"bound\b", r"affinit\w*", r"interact\w*", r"dock\w*", r"occup\w*"),
    "explain": _cues(
        r"explain\w*", r"account(?:s|ed|ing)? for\b", r"underli\w*", r"mediat\w*",
        r"responsible for\b", r"requir\w*", r"necessary\b",
    ),
}
# Nouns naming a drug class ("the NMDA receptor antagonist ketamine") and hyphenated
# participles ("ketamine-induced BDNF release") presuppose the mechanism rather than test it.
_NOMINAL = re.compile(
    r"(antagonist|inhibitor|blocker|agonist|activator|enhancer|potentiator|inducer)s?$|"
    r"(inhibitory|stimulatory|inducible|activatable)$",
    re.I,
)
_PRESUPPOSED_PARTICIPLE = re.compile(r"(induc|evok|elicit|trigger|stimulat|mediat)ed$", re.I)
# "ketamine reversed the stress-induced decrease in BDNF" is an increase: the verb flips the cue.
_REVERSAL_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:revers\w*|rescu\w*|restor\w*|normali[sz]\w*|counteract\w*|prevent\w*|"
    r"abolish\w*|block\w*|attenuat\w*|abrogat\w*)(?:[^\w,;]+[\w-]+){0,3}[^\w,;]*$",
    re.IGNORECASE,
)
_NEGATOR_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:not(?! only)|no|never|neither|nor|without|cannot|fail(?:s|ed)? to|"
    r"unable to|insufficient to|lack of|absence of)(?:[^\w,;]+\w+){0,3}[^\w,;]*$",
    re.IGNORECASE,
)
_NEGATOR_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,4}?(?:(?:was|were|is|are) not (?:observed|detected|found|seen|"
    r"significant)|not (?:statistically )?significant|did not reach (?:statistical )?significance)",
    re.IGNORECASE,
)
_HYPOTHESIS = re.compile(
    r"(?<![A-Za-z])(?:may|might|could|would|we (?:propose|speculate|postulate)|hypothes\w*|"
    r"speculat\w*|whether|putative\w*|possib\w*|potential(?:ly)?|remains? (?:unclear|unknown|"
    r"to be)|thought to|believed to)(?![A-Za-z])",
    re.IGNORECASE,
)
_SOFT_HEDGE = re.compile(
    r"(?<![A-Za-z])(?:suggest\w*|indicat\w*|appear\w*|likely|impl(?:y|ies|ied))", re.IGNORECASE
)
_LOF_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:lacking|lack of|deficien\w*|delet\w*|knock(?:ed)?[- ]?(?:out|down)|loss of|"
    r"absence of|ablat\w*|block\w*|inhibit\w*|neutrali[sz]\w*|antagoni[sz]\w*|silenc\w*|"
    r"without)(?:\W+\w+){0,2}\W*$",
    re.IGNORECASE,
)
_LOF_AFTER = re.compile(
    r"(?:\s*[+\-−]\s*/\s*[+\-−]|\W*(?:\w+\W+)?(?:knock-?out|KO|cKO|knock-?down|deficien\w*|"
    r"null|mutant|delet\w*|antagonist|inhibitor|blockade|inhibition|antibod\w*|siRNA|shRNA)"
    r"(?![A-Za-z]))",
    re.IGNORECASE,
)
_PRESERVED = re.compile(
    r"(?<![A-Za-z])(?:persist\w*|preserv\w*|intact|still|remained|unaffected|unaltered|"
    r"unchanged)(?![A-Za-z])",
    re.IGNORECASE,
)
_ABSENT = re.compile(r"(?<![A-Za-z])(?:no|not|failed to|absent|lost)(?![A-Za-z])", re.IGNORECASE)
# "Shorter telomere length ... higher risk" says that *less* subject goes with more object.
_LESS_OF_SUBJECT = re.compile(
    r"(?<![A-Za-z])(?:shorter|lower|reduced|decreased|diminished|less|loss of)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r";|,\s*(?:but|whereas|while|although|however)\b|\s+whereas\s+")


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


def judge_link(claim: Claim, record: PaperRecord) -> Judgement:
    """Judge whether ``record``'s title and abstract support ``claim``.

    >>> from evtrack.records import PaperRecord
    >>> c = Claim(id="C5", text="", subject="ketamine", relation="increases", object="BDNF")
    >>> judge_link(c, PaperRecord(pmid="1", title="Ketamine rapidly increased BDNF.")).stance
    'supports'
    """
    rule = _RULES.get(claim.relation, _NO_RULE)
    subj = _entity_pattern(claim.terms_for(claim.subject))
    obj = _entity_pattern(claim.terms_for(claim.object))
    readings = [
        r for s in record_sentences(record)
        if (r := _read_sentence(s, subj, obj, rule)) is not None
    ]
    if not readings:
        return Judgement("unclear", None, 0.0)
    findings = [r for r in readings if r.stance in ("supports", "contradicts")]
    if not findings:
        best = max(readings, key=lambda r: (r.directional, r.confidence, r.sentence.index))
        return Judgement("mentions", best.sentence.text, round(best.confidence, 3))
    best = max(findings, key=lambda r: (r.confidence, r.sentence.index))
    agree = sum(1 for r in findings if r.stance == best.stance) - 1
    disagree = sum(1 for r in findings if r.stance != best.stance)
    conf = min(0.95, best.confidence + 0.05 * agree) * (0.7 if disagree else 1.0)
    return Judgement(best.stance, best.sentence.text, round(conf, 3))


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
    cuts = [0, *(m.start() for m in _CLAUSE_SPLIT.finditer(text)), len(text)]
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
            _REVERSAL_BEFORE.search(text, max(lo, m.start() - 50), m.start())
            or any(_LESS_OF_SUBJECT.search(text, max(lo, h.start() - 30), h.start())
                   for h in s_hits)
        ):
            family = "down" if family == "up" else "up"
        negated = family != "null" and _negated(text, m, lo, hi)
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
    if _HYPOTHESIS.search(text, lo, hi) or text.rstrip().endswith("?"):
        return _Reading("mentions", _HYPOTHESIS_CONF, sent, True)
    if nominal or weight == 0.0:
        return _Reading("mentions", _MENTION_CONF, sent, True)
    conf = _FINDING_CONF * weight * (0.8 if _SOFT_HEDGE.search(text, lo, hi) else 1.0)
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
    nulls = [(m.start(), m.end()) for m in _FAMILIES["null"].finditer(text, lo, hi)]
    best: tuple[tuple[int, int, int], str, re.Match[str]] | None = None
    for family in families:
        for m in _FAMILIES[family].finditer(text, lo, hi):
            # A cue inside an entity's name ("NMDA receptor antagonist" as an alias) is no cue.
            if any(a <= m.start() < b for a, b in spans):
                continue
            if family != "null" and any(a <= m.start() < b for a, b in nulls):
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


def _is_nominal(text: str, m: re.Match[str]) -> bool:
    word = m.group(0)
    return bool(_NOMINAL.search(word)) or (
        text[m.start() - 1 : m.start()] == "-" and bool(_PRESUPPOSED_PARTICIPLE.search(word))
    )


def _negated(text: str, m: re.Match[str], lo: int, hi: int) -> bool:
    before = text[max(lo, m.start() - 40) : m.start()]
    return bool(_NEGATOR_BEFORE.search(before) or _NEGATOR_AFTER.search(text[m.end() : hi]))


def _loss_of_function(text: str, lo: int, s_hits: list[re.Match[str]]) -> tuple[int, int] | None:
    """The span of a knocked-out, deleted or blocked subject ("mice lacking BDNF"), if any."""
    for m in s_hits:
        before = _LOF_BEFORE.search(text, max(lo, m.start() - 40), m.start())
        after = _LOF_AFTER.match(text, m.end(), m.end() + 30)
        if before or after:
            return (before.start() if before else m.start(), after.end() if after else m.end())
    return None


def _read_loss_of_function(text: str, lo: int, hi: int, lof: tuple[int, int]) -> str | None:
    """Without the subject, is the object's effect lost (supports) or kept (contradicts)?"""
    for part_lo, part_hi in ((lo, lof[0]), (lof[1], hi)):
        part = text[part_lo:part_hi]
        for m in _FAMILIES["down"].finditer(part):
            return "contradicts" if _NEGATOR_BEFORE.search(part[: m.start()]) else "supports"
    parts = text[lo : lof[0]] + " " + text[lof[1] : hi]
    if _PRESERVED.search(parts):
        return "contradicts"
    if _ABSENT.search(parts):
        return "supports"
    return None
