"""Word lists the trained lexical judge reads (:mod:`evtrack.judge_features`).

Entries are plain words; :mod:`evtrack.judge_features` stems them on import, so "increase" also
covers "increased", "increases" and "increasing". The lists are ours; how much each one counts is
learned from data (``scripts/train_judge.py``).
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: Words that carry no content for overlap: function words and the prose of reporting.
STOPWORDS = _words("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me most my of off on
once only or other our out over own same she should so some such than that the their them then
there these they this those through to too under until very was we were what when where which
while who whom why will with would you your yet via per among within upon whether either however
thus therefore although though whereas us one may might must shall also another et al use used
using show shown shows showed study studies result results find found finding findings data
report reported here present demonstrate demonstrated suggest suggests observed including
""")

#: Negation: the statement is denied.
NEGATION = _words("""
not no never neither nor none without cannot fail fails failed lack lacks lacking absent
absence unable nothing n't
""")

#: A result in the "more" direction.
UP = _words("""
increase elevate elevation enhance enhancement upregulate up-regulate upregulation raise rise
rose risen higher greater more larger gain boost augment promote activate stimulate induce
potentiate accelerate improve exceed expand amplify facilitate strengthen extend prolong longer
double triple high overexpression overexpressed
""")

#: A result in the "less" direction.
DOWN = _words("""
decrease reduce reduction lower low less fewer smaller decline diminish attenuate suppress inhibit
block downregulate down-regulate downregulation impair loss lost abolish abrogate prevent deplete
shorter shorten weaken slow delay drop fell fall worsen halve repress antagonize antagonise
dampen blunt restrict limit protect protective
""")

#: No effect, no difference, no association: a null result.
NULL = _words("""
unchanged unaffected unaltered similar comparable independent unrelated insignificant
nonsignificant non-significant equivalent indistinguishable dispensable ineffective irrelevant
uncorrelated stable constant same
""")

#: Hypothesis or hedge: the sentence does not assert a finding.
HEDGE = _words("""
may might could possible possibly potential potentially hypothesis hypothesize hypothesise
speculate suggest propose perhaps presumably putative unclear unknown whether likely appear
thought believe indicate seem question debate controversial postulate
""")

#: Words that mark a measured outcome: the sentence reports what the study found.
RESULT = _words("""
significant significantly associated association p ci hr or rr ratio confidence interval odds
hazard risk correlated correlation demonstrate reveal observe identify conclude conclusion
indicate show found evidence confirm establish compared versus vs difference effect required
essential necessary sufficient dependent mediate
""")

#: Comparison words: the claim or the sentence ranks two things.
COMPARISON = _words("""
than versus vs compared relative superior inferior better worse higher lower more less greater
fewer exceed
""")

#: Absolutes: a claim stated this strongly is easy to contradict.
ABSOLUTE = _words("all every always never only sole exclusively entirely completely alone "
                  "universal")

#: Opposites: a claim word whose opposite (but not itself) stands in the rationale is the
#: commonest way a claim and its evidence disagree.
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("increase", "decrease"), ("increase", "reduce"), ("increase", "lower"),
    ("higher", "lower"), ("high", "low"), ("more", "less"), ("more", "fewer"),
    ("greater", "smaller"), ("greater", "less"), ("larger", "smaller"), ("raise", "lower"),
    ("rise", "decline"), ("rise", "fall"), ("gain", "loss"), ("positive", "negative"),
    ("enhance", "impair"), ("enhance", "reduce"), ("improve", "worsen"), ("improve", "impair"),
    ("promote", "inhibit"), ("promote", "suppress"), ("promote", "prevent"),
    ("activate", "inhibit"), ("activate", "suppress"), ("activate", "inactivate"),
    ("stimulate", "inhibit"), ("induce", "inhibit"), ("induce", "suppress"),
    ("induce", "prevent"), ("upregulate", "downregulate"), ("accelerate", "slow"),
    ("accelerate", "delay"), ("longer", "shorter"), ("long", "short"), ("early", "late"),
    ("earlier", "later"), ("benefit", "harm"), ("beneficial", "harmful"),
    ("beneficial", "detrimental"), ("protective", "risk"), ("safe", "harmful"),
    ("resistant", "sensitive"), ("resistant", "susceptible"), ("presence", "absence"),
    ("present", "absent"), ("success", "failure"), ("effective", "ineffective"),
    ("significant", "insignificant"), ("major", "minor"), ("strong", "weak"), ("fast", "slow"),
    ("rapid", "slow"), ("common", "rare"), ("agonist", "antagonist"), ("male", "female"),
    ("men", "women"), ("young", "old"), ("younger", "older"), ("above", "below"),
    ("over", "under"), ("before", "after"), ("required", "dispensable"),
    ("dependent", "independent"), ("correlated", "uncorrelated"), ("related", "unrelated"),
    ("associated", "unassociated"), ("affected", "unaffected"), ("altered", "unaltered"),
    ("changed", "unchanged"), ("mortality", "survival"), ("death", "survival"),
    ("tolerant", "intolerant"), ("upstream", "downstream"), ("maximum", "minimum"),
    ("most", "least"), ("inside", "outside"), ("gain", "lose"), ("enable", "disable"),
)
