"""The cue-rule judge's lexicons: regular expressions for relation cues, negation and hedges.

Data for :mod:`evtrack.judge_rules`, kept apart so that the rules read as logic.
"""

from __future__ import annotations

import re


def cues(*stems: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(stems) + r")", re.IGNORECASE)


FAMILIES: dict[str, re.Pattern[str]] = {
    "up": cues(
        r"increas\w*", r"elevat\w*", r"enhanc\w*", r"up-?regulat\w*", r"rais(?:e|ed|es|ing)\b",
        r"induc\w*", r"potentiat\w*", r"boost\w*", r"augment\w*", r"stimulat\w*", r"activat\w*",
        r"promot\w*", r"facilitat\w*", r"amplif\w*", r"ris(?:e|es|ing)\b", r"rose\b",
        r"higher\b", r"greater\b",
    ),
    "down": cues(
        r"decreas\w*", r"reduc\w*", r"attenuat\w*", r"suppress\w*", r"inhibit\w*", r"block\w*",
        r"antagoni[sz]\w*", r"abolish\w*", r"prevent\w*", r"impair\w*", r"lower(?:ed|ing|s)?\b",
        r"diminish\w*", r"down-?regulat\w*", r"declin\w*", r"blunt\w*", r"abrogat\w*",
        r"deplet\w*", r"fewer\b", r"dampen\w*",
    ),
    "null": cues(
        r"no (?:significant |detectable |measurable )?(?:effect|change|difference|alteration)s?",
        r"unchanged\b", r"unaltered\b", r"unaffected\b", r"had no\b",
        r"(?:(?:did|does|do) not|fail(?:s|ed)? to) (?:significantly )?"
        r"(?:alter|affect|change|modify|influence|differ)\b",
        r"neither \w+(?: \w+)? nor \w+",
        r"lack of (?:an? )?effect", r"without (?:an? |any )?(?:significant )?effect",
        r"(?:was|were|is|are|remained) (?:similar|comparable)\b",
    ),
    "require": cues(
        r"requir\w*", r"necessary\b", r"necessity\b", r"essential\b", r"indispensable\b",
        r"(?<!dose-)(?<!time-)(?<!age-)(?<!concentration-)depend(?:s|ed|ent|ence)?\b",
        r"mediat\w*", r"critical for\b", r"crucial for\b", r"needed\b",
    ),
    "independent": cues(r"independent\w*", r"dispensable\b", r"dissociat\w*"),
    "sufficient": cues(
        r"sufficien\w*", r"mimic\w*", r"recapitulat\w*", r"induc\w*", r"produc\w*",
        r"elicit\w*", r"trigger\w*", r"evok\w*",
    ),
    "insufficient": cues(r"insufficien\w*"),
    "cause": cues(
        r"caus\w*", r"induc\w*", r"lead(?:s)? to\b", r"led to\b", r"result(?:s|ed)? in\b",
        r"trigger\w*", r"produc\w*", r"evok\w*", r"elicit\w*", r"responsible for\b",
    ),
    "bind": cues(r"bind\w*", r"bound\b", r"affinit\w*", r"interact\w*", r"dock\w*", r"occup\w*"),
    "explain": cues(
        r"explain\w*", r"account(?:s|ed|ing)? for\b", r"underli\w*", r"mediat\w*",
        r"responsible for\b", r"requir\w*", r"necessary\b",
    ),
}
# Nouns naming a drug class ("the NMDA receptor antagonist ketamine") and hyphenated
# participles ("ketamine-induced BDNF release") presuppose the mechanism rather than test it.
NOMINAL = re.compile(
    r"(antagonist|inhibitor|blocker|agonist|activator|enhancer|potentiator|inducer)s?$|"
    r"(inhibitory|stimulatory|inducible|activatable)$",
    re.I,
)
PRESUPPOSED_PARTICIPLE = re.compile(r"(induc|evok|elicit|trigger|stimulat|mediat)ed$", re.I)
# "ketamine reversed the stress-induced decrease in BDNF" is an increase: the verb flips the cue.
REVERSAL_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:revers\w*|rescu\w*|restor\w*|normali[sz]\w*|counteract\w*|prevent\w*|"
    r"abolish\w*|block\w*|attenuat\w*|abrogat\w*)(?:[^\w,;]+[\w-]+){0,3}[^\w,;]*$",
    re.IGNORECASE,
)
NEGATOR_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:not(?! only)|no|never|neither|nor|without|cannot|fail(?:s|ed)? to|"
    r"unable to|insufficient to|lack of|absence of)(?:[^\w,;]+\w+){0,3}[^\w,;]*$",
    re.IGNORECASE,
)
NEGATOR_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,4}?(?:(?:was|were|is|are) not (?:observed|detected|found|seen|"
    r"significant)|not (?:statistically )?significant|did not reach (?:statistical )?significance)",
    re.IGNORECASE,
)
HYPOTHESIS = re.compile(
    r"(?<![A-Za-z])(?:may|might|could|would|we (?:propose|speculate|postulate)|hypothes\w*|"
    r"speculat\w*|whether|putative\w*|possib\w*|potential(?:ly)?|remains? (?:unclear|unknown|"
    r"to be)|thought to|believed to)(?![A-Za-z])",
    re.IGNORECASE,
)
SOFT_HEDGE = re.compile(
    r"(?<![A-Za-z])(?:suggest\w*|indicat\w*|appear\w*|likely|impl(?:y|ies|ied))", re.IGNORECASE
)
LOF_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:lacking|lack of|deficien\w*|delet\w*|knock(?:ed)?[- ]?(?:out|down)|loss of|"
    r"absence of|ablat\w*|block\w*|inhibit\w*|neutrali[sz]\w*|antagoni[sz]\w*|silenc\w*|"
    r"without)(?:\W+\w+){0,2}\W*$",
    re.IGNORECASE,
)
LOF_AFTER = re.compile(
    r"(?:\s*[+\-−]\s*/\s*[+\-−]|\W*(?:\w+\W+)?(?:knock-?out|KO|cKO|knock-?down|deficien\w*|"
    r"null|mutant|delet\w*|antagonist|inhibitor|blockade|inhibition|antibod\w*|siRNA|shRNA)"
    r"(?![A-Za-z]))",
    re.IGNORECASE,
)
PRESERVED = re.compile(
    r"(?<![A-Za-z])(?:persist\w*|preserv\w*|intact|still|remained|unaffected|unaltered|"
    r"unchanged)(?![A-Za-z])",
    re.IGNORECASE,
)
ABSENT = re.compile(r"(?<![A-Za-z])(?:no|not|failed to|absent|lost)(?![A-Za-z])", re.IGNORECASE)
# "Shorter telomere length ... higher risk" says that *less* subject goes with more object.
LESS_OF_SUBJECT = re.compile(
    r"(?<![A-Za-z])(?:shorter|lower|reduced|decreased|diminished|less|loss of)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
CLAUSE_SPLIT = re.compile(r";|,\s*(?:but|whereas|while|although|however)\b|\s+whereas\s+")
# "… than in ketamine-treated rats": a comparative whose subject stands after "than" says the
# opposite of the same sentence with the subject first.
COMPARATIVE = re.compile(r"(?:higher|greater|larger|more|lower|less|smaller|fewer)$", re.I)
THAN = re.compile(r"(?<![A-Za-z])than(?![A-Za-z])", re.IGNORECASE)
# "Memantine, but not ketamine, increased BDNF": the finding is denied for the subject.
NEGATED_ENTITY_BEFORE = re.compile(r"(?<![A-Za-z])(?:but not|not|unlike)\s+(?:the\s+)?$",
                                   re.IGNORECASE)
# A denial of significance in the clause after the finding ("…, although not significantly").
NOT_SIGNIFICANT_AFTER = re.compile(
    r"^\W*(?:but|although|though|albeit|yet|however)\W+(?:\w+\W+){0,2}?not\s+"
    r"(?:statistically\s+)?significant", re.IGNORECASE)
# Verbs that reverse a direction cue following them ("prevented the reduction of").
REVERSAL_VERB = re.compile(
    r"(?:revers|rescu|restor|normali[sz]|counteract|prevent|abolish|block|attenuat|abrogat)\w*$",
    re.IGNORECASE)
