"""The support score, its independent groups, its certainty, and the judge it learns to trust.

Properties first (hypothesis), then hand-computed examples, then the score in a real store:
retracted papers flagged in every report format, verdicts re-estimating the judge's error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from evtrack.claims import load_claims
from evtrack.cli import cli
from evtrack.design import DESIGN_TIERS
from evtrack.errors import ConfigError
from evtrack.groups import author_key, author_name, independent_groups
from evtrack.judge import JUDGE_METHOD, JUDGE_VERSION
from evtrack.pubmed_xml import iter_records
from evtrack.records import Author, Correction, PaperRecord, PubDate, PublicationType
from evtrack.refresh import CURATED_METHOD
from evtrack.reliability import (
    MeasuredError,
    VerdictCheck,
    judge_reliability,
    learn_judge_reliability,
    load_measured_error,
)
from evtrack.render import claims_frame, links_frame, render
from evtrack.report import build_report
from evtrack.resources import snapshot_files
from evtrack.scoring import (
    DEFAULT_PRIORS_FILE,
    Evidence,
    Scorer,
    default_priors,
    load_priors,
    support_score,
)
from evtrack.store import ledger
from evtrack.store.db import open_store
from evtrack.store.papers import store_records

STANCES = ("supports", "contradicts", "mixed", "mentions", "unclear", "irrelevant", "unjudged")
DECIDERS = ("verdict", "curator", "judge", "none")
EPS = 1e-12  # one paper more changes the factors themselves, so allow float rounding

# --- properties -------------------------------------------------------------------------------


ANY_STANCE = st.sampled_from(STANCES)
EITHER = st.booleans()


def evidence(pmid: st.SearchStrategy[str], stance: st.SearchStrategy[str] = ANY_STANCE,
             retracted: st.SearchStrategy[bool] = EITHER) -> st.SearchStrategy[Evidence]:
    return st.builds(Evidence, pmid=pmid, stance=stance, tier=st.sampled_from(DESIGN_TIERS),
                     decider=st.sampled_from(DECIDERS), retracted=retracted,
                     group=st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3"])))


pieces = st.lists(evidence(st.integers(1, 10**6).map(str)), max_size=25,
                  unique_by=lambda e: e.pmid)
# A newcomer's PMID is never one of the generated ones (those are at most 10**6).
newcomer = st.integers(10**7, 10**8).map(str)
counted = st.sampled_from(("verdict", "curator", "judge"))


@given(pieces)
def test_the_score_and_both_sides_stay_in_the_unit_interval(ev: list[Evidence]) -> None:
    s = support_score(ev)
    assert 0 <= s.support <= 1 and 0 <= s.contradiction <= 1
    assert 0 <= s.score <= 1
    assert math.isclose(s.score, s.support * (1 - s.contradiction), abs_tol=1e-15)


@given(pieces, evidence(newcomer, st.just("supports"), st.just(False)), counted)
def test_adding_support_never_lowers_the_score(ev: list[Evidence], new: Evidence,
                                               decider: str) -> None:
    new = dataclasses.replace(new, decider=decider)
    assert support_score([*ev, new]).score >= support_score(ev).score - EPS


@given(pieces, evidence(newcomer, st.just("contradicts"), st.just(False)), counted)
def test_adding_contradiction_never_raises_the_score(ev: list[Evidence], new: Evidence,
                                                     decider: str) -> None:
    new = dataclasses.replace(new, decider=decider)
    assert support_score([*ev, new]).score <= support_score(ev).score + EPS


@given(pieces, evidence(newcomer))
def test_a_retracted_paper_changes_nothing(ev: list[Evidence], new: Evidence) -> None:
    assert support_score([*ev, dataclasses.replace(new, retracted=True)]) == support_score(ev)


@given(pieces, evidence(newcomer, st.sampled_from(("mentions", "unclear", "irrelevant",
                                                   "unjudged"))))
def test_papers_that_do_not_take_sides_change_nothing(ev: list[Evidence], new: Evidence) -> None:
    assert support_score([*ev, new]) == support_score(ev)


@given(pieces, st.randoms(use_true_random=False))
def test_the_order_of_the_evidence_does_not_matter(ev: list[Evidence],
                                                   rnd: random.Random) -> None:
    shuffled = list(ev)
    rnd.shuffle(shuffled)
    assert support_score(shuffled) == support_score(ev)


@given(pieces, evidence(newcomer, st.just("supports"), st.just(False)), counted,
       st.sampled_from(DESIGN_TIERS))
def test_a_paper_from_a_group_already_on_record_adds_less_than_an_independent_one(
        ev: list[Evidence], new: Evidence, decider: str, tier: str) -> None:
    member = Evidence("999", "supports", tier, "curator", group="lab")
    base = [e for e in ev if e.group != "lab"] + [member]
    same_lab = dataclasses.replace(new, decider=decider, group="lab")
    elsewhere = dataclasses.replace(new, decider=decider, group="another lab")
    dup, indep = support_score([*base, same_lab]), support_score([*base, elsewhere])
    assert dup.support <= indep.support
    if indep.support < 0.999:  # not saturated: strictly less, not merely no more
        assert dup.support < indep.support
    assert dup.independent_support == indep.independent_support - 1


# --- hand-computed examples -------------------------------------------------------------------

def test_one_paper_weighs_tier_times_decider_reliability() -> None:
    # (1 − 0.20 rct error) × (1 − 0.10 curator error) = 0.72 under the packaged priors
    s = support_score([Evidence("1", "supports", "rct", "curator")])
    assert s.support == pytest.approx(0.72)
    assert s.score == pytest.approx(0.72)


def test_support_is_discounted_by_contradiction() -> None:
    s = support_score([Evidence("1", "supports", "rct", "curator"),            # 0.72
                       Evidence("2", "supports", "animal-in-vivo", "verdict"),  # 0.40 × 0.95
                       Evidence("3", "contradicts", "in-vitro", "curator")])    # 0.30 × 0.90
    support = 1 - (1 - 0.72) * (1 - 0.38)
    assert s.support == pytest.approx(support)
    assert s.contradiction == pytest.approx(0.27)
    assert s.score == pytest.approx(support * (1 - 0.27))


def test_within_a_group_each_further_paper_counts_half_as_much() -> None:
    lab = [Evidence(str(i), "supports", "rct", "curator", group="lab") for i in (1, 2, 3)]
    s = support_score(lab)
    assert s.support == pytest.approx(1 - (1 - 0.72) * (1 - 0.36) * (1 - 0.18))
    assert s.independent_support == 1
    assert [round(c.effective, 2) for c in sorted(s.contributions, key=lambda c: c.pmid)] == \
        [0.72, 0.36, 0.18]


def test_a_mixed_paper_counts_half_on_each_side() -> None:
    s = support_score([Evidence("1", "mixed", "rct", "curator")])
    assert (s.support, s.contradiction) == (pytest.approx(0.36), pytest.approx(0.36))


def test_contributions_are_leave_one_out_changes_largest_first() -> None:
    ev = [Evidence("1", "supports", "rct", "curator"),
          Evidence("2", "contradicts", "animal-in-vivo", "curator")]
    s = support_score(ev)
    assert [c.pmid for c in s.contributions] == ["1", "2"]
    assert s.contributions[0].delta == pytest.approx(s.score - 0)  # without it: no support
    assert s.contributions[1].delta == pytest.approx(s.score - 0.72)


@pytest.mark.parametrize(("ev", "label", "concerns"), [
    # two independent RCTs, nothing against: high
    ([Evidence("1", "supports", "rct", "curator"), Evidence("2", "supports", "rct", "verdict")],
     "high", []),
    # one lab only: one level off
    ([Evidence("1", "supports", "rct", "curator", group="lab"),
      Evidence("2", "supports", "rct", "curator", group="lab")], "moderate", ["few independent"]),
    # animal experiments start moderate; a strong contradiction takes two more levels off
    ([Evidence("1", "supports", "animal-in-vivo", "curator"),
      Evidence("2", "supports", "animal-in-vivo", "curator"),
      Evidence("3", "contradicts", "rct", "curator")], "very low", ["very serious"]),
    # resting on the automatic judge: one level off
    ([Evidence("1", "supports", "rct", "judge"), Evidence("2", "supports", "rct", "judge")],
     "moderate", ["automatic judge"]),
    # only reviews support it: very low from the start
    ([Evidence("1", "supports", "review", "curator"), Evidence("2", "supports", "review",
                                                                "curator")], "very low", []),
    # nothing supports it
    ([Evidence("1", "contradicts", "rct", "curator")], "very low", ["no supporting"]),
])
def test_certainty_labels(ev: list[Evidence], label: str, concerns: list[str]) -> None:
    c = support_score(ev).certainty
    assert c.label == label
    assert len(c.downgrades) == len(concerns)
    for text, concern in zip(c.downgrades, concerns, strict=True):
        assert concern in text


def test_certainty_starts_from_the_design_with_the_highest_starting_level() -> None:
    # human observational ranks above animal work as a tier, but starts lower (low vs moderate)
    c = support_score([Evidence("1", "supports", "human-observational", "curator"),
                       Evidence("2", "supports", "animal-in-vivo", "curator")]).certainty
    assert (c.start, c.best_tier, c.label) == ("moderate", "animal-in-vivo", "moderate")


# --- priors -------------------------------------------------------------------------------------

def test_the_packaged_priors_cover_every_tier() -> None:
    priors = default_priors()
    assert set(priors.tier_error) == set(DESIGN_TIERS)
    # a stronger design never carries less than a weaker one
    errors = [priors.tier_error[t] for t in DESIGN_TIERS]
    assert errors == sorted(errors)


def test_swapping_the_priors_file_swaps_the_scorer(tmp_path: Path) -> None:
    mine = tmp_path / "priors.toml"
    mine.write_text(DEFAULT_PRIORS_FILE.read_text(encoding="utf-8")
                    .replace("rct = 0.20", "rct = 0.50"), encoding="utf-8")
    ev = [Evidence("1", "supports", "rct", "curator")]
    assert Scorer(load_priors(mine)).score(ev).support == pytest.approx(0.5 * 0.9)


@pytest.mark.parametrize(("edit", "message"), [
    (("rct = 0.20", ""), "tier_error.rct must be a number"),
    (("decay = 0.5", "decay = 2"), "groups.decay must be a number in [0, 1], got 2"),
    (('rct = "high"', 'rct = "certain"'), "certainty.start.rct must be one of"),
    (("[judge_learning]", "[judge_learnin]"), "[judge_learning] is missing"),
])
def test_a_bad_priors_file_names_the_key(tmp_path: Path, edit: tuple[str, str],
                                         message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_PRIORS_FILE.read_text(encoding="utf-8").replace(*edit, 1),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: .*") as err:
        load_priors(bad)
    assert message in str(err.value)


# --- independent groups -----------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    (("Réus", "Gislaine Z", "GZ"), ("Reus", "G", "G")),
    (("Zarate", "Carlos A", "CA"), ("Zarate", None, "C")),
    (("De La Garza", "Richard", "R"), ("de la Garza", None, "R")),
])
def test_author_spellings_that_are_one_person(a: tuple[str, str | None, str],
                                              b: tuple[str, str | None, str]) -> None:
    name_a, name_b = author_name(*a), author_name(*b)
    assert name_a is not None and name_b is not None
    assert author_key(name_a) == author_key(name_b)


def test_author_names_are_last_name_and_first_initial() -> None:
    assert author_name("Monteggia", "Lisa M", "LM") == "Monteggia L"
    assert author_name(None, collective_name="APA Council") == "APA Council"
    assert author_name(None) is None


@pytest.mark.parametrize(("papers", "groups"), [
    # two shared authors: one lab
    ({"1": ["Kavalali E", "Monteggia L", "Autry A"], "2": ["Monteggia L", "Kavalali E"]},
     [("1", "2")]),
    # one shared name is not enough (Li Y, Wang J … collide across labs)
    ({"1": ["Li Y", "Smith A"], "2": ["Li Y", "Jones B"]}, [("1",), ("2",)]),
    # a single-author paper whose author is on the other paper
    ({"1": ["Seamans J"], "2": ["Seamans J", "Yang C"]}, [("1", "2")]),
    # components are transitive: a collaboration joins two labs
    ({"1": ["A A", "B B"], "2": ["A A", "B B", "C C", "D D"], "3": ["C C", "D D"]},
     [("1", "2", "3")]),
    # no authors: on its own
    ({"1": [], "2": []}, [("1",), ("2",)]),
])
def test_papers_sharing_authors_form_one_group(papers: dict[str, list[str]],
                                               groups: list[tuple[str, ...]]) -> None:
    assert [g.pmids for g in independent_groups(papers)] == groups


def test_a_group_is_keyed_by_its_numerically_first_pmid() -> None:
    groups = independent_groups({"10686270": ["A A", "B B"], "9092613": ["A A", "B B"]})
    assert groups[0].key == "9092613"
    assert groups[0].pmids == ("9092613", "10686270")
    assert groups[0].label == "A A, B B"


def test_the_monteggia_kavalali_papers_in_the_snapshot_are_one_group() -> None:
    records = {r.pmid: r for f in snapshot_files() for r in iter_records(f)}
    wanted = ["21677641", "23595756", "24912158",  # Autry 2011, Nosyreva 2013, Gideons 2014
              "20724638", "22036038"]  # Li 2010, Liu 2012 (Duman lab)
    papers = {p: [n for a in records[p].authors
                  if (n := author_name(a.last_name, a.fore_name, a.initials,
                                       a.collective_name))] for p in wanted}
    groups = {g.pmids: g for g in independent_groups(papers)}
    assert set(groups) == {("21677641", "23595756", "24912158"), ("20724638", "22036038")}
    assert {"Kavalali E", "Monteggia L"} <= set(groups[("21677641", "23595756",
                                                        "24912158")].shared_authors)



@given(st.dictionaries(st.integers(1, 10**8).map(str),
                       st.lists(st.sampled_from(["Li Y", "li y", "Wang J", "Réus G", "Reus G",
                                                 "Duman R", "Kavalali E", "Monteggia L", "",
                                                 "APA Council"]), max_size=5),
                       max_size=30),
       st.integers(1, 3))
def test_groups_partition_the_papers_and_join_every_linked_pair(
        papers: dict[str, list[str]], min_shared: int) -> None:
    groups = independent_groups(papers, min_shared)
    # The same partition whether the author lists come as lists or as (cached) tuples.
    assert independent_groups({p: tuple(a) for p, a in papers.items()}, min_shared) == groups
    assert sorted(p for g in groups for p in g.pmids) == sorted(papers)
    where = {p: g.key for g in groups for p in g.pmids}
    for g in groups:
        assert g.key == min(g.pmids, key=lambda p: (len(p), p)) == g.pmids[0]
        assert g.shared_authors == () or len(g.pmids) > 1
    keys = {p: {author_key(n) for n in names} - {""} for p, names in papers.items()}
    for a in papers:
        for b in papers:
            shared = len(keys[a] & keys[b])
            if a != b and shared and shared >= min(min_shared, len(keys[a]), len(keys[b])):
                assert where[a] == where[b]

# --- learning the judge's error from verdicts ------------------------------------------------

CHECKS = [
    VerdictCheck("animal-in-vivo", "supports", "supports"),     # right
    VerdictCheck("animal-in-vivo", "supports", "contradicts"),  # wrong
    VerdictCheck("animal-in-vivo", "contradicts", "mentions"),  # wrong
    VerdictCheck("animal-in-vivo", "supports", "irrelevant"),   # wrong
    VerdictCheck("animal-in-vivo", "mentions", "supports"),     # the score never counted it
    VerdictCheck("animal-in-vivo", "supports", "unclear"),      # the reviewer could not tell
    VerdictCheck("rct", "contradicts", "contradicts"),          # right
]


def test_verdicts_re_estimate_the_judges_error_per_tier_hand_computed() -> None:
    r = learn_judge_reliability(CHECKS, method="m", version="1", prior_error=0.4,
                                prior_by_stance={"supports": 0.3, "contradicts": 0.5},
                                prior_strength=20, prior_basis="test")
    # supports calls: Beta(0.3·20, 0.7·20) = Beta(6, 14); on animal-in-vivo papers the judge
    # said "supports" three times (counted) and was wrong twice → (6 + 2) / (20 + 3)
    assert r.error("animal-in-vivo", "supports") == pytest.approx(8 / 23)
    # contradicts calls: Beta(10, 10); animal-in-vivo 1 wrong of 1 → 11 / 21; rct 0 of 1 → 10 / 21
    assert r.error("animal-in-vivo", "contradicts") == pytest.approx(11 / 21)
    assert r.error("rct", "contradicts") == pytest.approx(10 / 21)
    # no verdicts: the stance's prior stands; a stance without its own prior gets the overall one
    assert r.error("in-vitro", "supports") == pytest.approx(0.3)
    assert r.error("in-vitro", "mixed") == pytest.approx(0.4)
    assert (r.verdicts, r.disagreements) == (5, 3)


def test_the_learnt_error_feeds_the_weight_of_automatic_judgements() -> None:
    r = learn_judge_reliability(CHECKS, method="cue-rules", version="9", prior_error=0.3,
                                prior_strength=20, prior_basis="test")
    scorer = Scorer(judges=[r])
    auto = Evidence("1", "supports", "animal-in-vivo", "judge", method="cue-rules 9")
    assert scorer.weight(auto) == pytest.approx(0.4 * (1 - 8 / 23))
    # a judgement by another judge (or an older version) gets the fallback, not this estimate
    other = dataclasses.replace(auto, method="cue-rules 8")
    assert scorer.weight(other) == pytest.approx(0.4 * 0.5)
    # evidence that does not name its judge is the only judge's; with two judges, nobody's
    unnamed = dataclasses.replace(auto, method=None)
    assert scorer.weight(unnamed) == pytest.approx(0.4 * (1 - 8 / 23))
    second = dataclasses.replace(r, method="lexical-lr")
    assert Scorer(judges=[r, second]).weight(unnamed) == pytest.approx(0.4 * 0.5)


def test_a_few_verdicts_do_not_swing_the_estimate() -> None:
    three_wrong = [VerdictCheck("rct", "supports", "contradicts")] * 3
    r = learn_judge_reliability(three_wrong, method="m", version="1", prior_error=0.2,
                                prior_strength=20, prior_basis="test")
    assert r.error("rct", "supports") == pytest.approx((4 + 3) / 23)  # 0.30, not 1.0


def test_the_measured_rate_is_the_prior_only_for_the_judge_it_measured(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    # the schema bench/scifact_eval.py --write-error-rates writes (keys beyond these ignored)
    path.write_text(json.dumps({"method": "lexical-lr", "version": "2.0", "error_rate": 0.25,
                                "measured_on": "SciFact train, 5-fold CV", "n": 800,
                                "committed": 300, "error_rate_by_stance": {"supports": 0.2}}),
                    encoding="utf-8")
    measured = load_measured_error(path)
    assert measured == [MeasuredError("lexical-lr", "2.0", 0.25, 300, "SciFact train, 5-fold CV",
                                      {"supports": 0.2})]
    same = judge_reliability([], method="lexical-lr", version="2.0", fallback_error=0.5,
                             prior_strength=20, measured=measured)
    assert (same.prior_error, same.prior_basis) == (
        0.25, "measured on SciFact train, 5-fold CV, 300 calls")
    assert (same.prior("supports"), same.prior("contradicts")) == (0.2, 0.25)
    for method, version in (("lexical-lr", "1.0"), ("cue-rules", "2.0")):
        other = judge_reliability([], method=method, version=version, fallback_error=0.5,
                                  prior_strength=20, measured=measured)
        assert other.prior_error == 0.5 and other.prior_basis.startswith("fallback")


def test_no_measured_file_means_no_measured_rate(tmp_path: Path) -> None:
    assert load_measured_error(tmp_path / "absent.json") == []


@pytest.mark.parametrize("content", [
    '{"method": "m", "version": "1", "error_rate": 1.5}',
    '{"version": "1", "error_rate": 0.2}',
    '{"method": "m", "version": "1", "error_rate": 0.2, "error_rate_by_stance": {"supports": 2}}',
    "not json", "[3]"])
def test_a_broken_measured_file_is_an_error_not_a_silent_fallback(tmp_path: Path,
                                                                   content: str) -> None:
    path = tmp_path / "rates.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="rates.json"):
        load_measured_error(path)


# --- in a store: retractions flagged everywhere, verdicts counted ----------------------------

CLAIMS_TOML = """
[set]
id = "crafted"
title = "a crafted two-claim chain"

[[claim]]
id = "X1"
text = "Drug D blocks receptor R."
subject = "drug D"
relation = "blocks"
object = "receptor R"
leads_to = ["X2"]

[[claim]]
id = "X2"
text = "Blocking receptor R raises protein P."
subject = "receptor R"
relation = "increases"
object = "protein P"
"""

LAB = (Author("Smith", "Anna", "A"), Author("Jones", "Ben", "B"))
RCT = (PublicationType("Randomized Controlled Trial"),)


def record(pmid: str, authors: tuple[Author, ...], *, pub_types: tuple[PublicationType, ...] = RCT,
           corrections: tuple[Correction, ...] = ()) -> PaperRecord:
    return PaperRecord(pmid=pmid, title=f"Paper {pmid}", authors=authors,
                       pub_date=PubDate(year=2020), publication_types=pub_types,
                       corrections=corrections)


# 101, 102: one lab; 103: another lab; 104 retracted by publication type, 105 by RetractionIn
RECORDS = [
    record("101", LAB),
    record("102", (*LAB, Author("Brown", "Carl", "C"))),
    record("103", (Author("Li", "Yan", "Y"), Author("Wang", "Jun", "J"))),
    record("104", LAB, pub_types=(*RCT, PublicationType("Retracted Publication"))),
    record("105", (Author("Novak", "Eva", "E"),),
           corrections=(Correction("RetractionIn", "J Fake. 2021;1:1", "999"),)),
]


def crafted_store(db_url: str, tmp_path: Path, links: dict[str, list[str]]) -> Engine:
    claims_file = tmp_path / "crafted.toml"
    claims_file.write_text(CLAIMS_TOML, encoding="utf-8")
    engine = open_store(db_url)
    with engine.begin() as conn:
        ledger.sync_claims(conn, load_claims([claims_file]))
        run = ledger.start_run(conn, "ingest", "file")
        store_records(conn, RECORDS, source="file", run_id=run)
        ledger.record_links(conn, [ledger.LinkRequest(cid, pmid, "query", "crafted")
                                   for cid, pmids in links.items() for pmid in pmids], run)
        ledger.finish_run(conn, run, status="ok", requests={}, new=len(RECORDS), updated=0,
                          links_new=0)
    return engine


def judge(engine: Engine, claim_id: str, pmid: str, stance: str, *, curated: bool) -> None:
    with engine.begin() as conn:
        lid = ledger.link_id_for(conn, claim_id, pmid)
        method, version = (CURATED_METHOD, "1") if curated else (JUDGE_METHOD, JUDGE_VERSION)
        ledger.save_judgements(conn, [{"link_id": lid, "method": method, "version": version,
                                       "stance": stance, "rationale": None, "confidence": 0.9,
                                       "decided_by": "test"}])


def test_a_retracted_paper_counts_for_nothing_and_is_flagged_in_every_format(
        db_url: str, tmp_path: Path) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101", "103", "104", "105"],
                                              "X2": ["104"]})
    for pmid in ("101", "103", "104", "105"):
        judge(engine, "X1", pmid, "supports", curated=True)
    with engine.begin() as conn:  # even a researcher's "supports" cannot revive it
        ledger.add_verdict(conn, "X2", "104", stance="supports", reviewer="R. Viewer")

    report = build_report(engine)
    x1, x2 = report.claims
    assert [r.pmid for r in x1.retracted] == ["104", "105"]
    assert [r.pmid for r in x2.retracted] == ["104"]
    assert x2.score.score == 0
    without = support_score([r.evidence for r in x1.links if not r.retracted])
    assert x1.score.score == pytest.approx(without.score)
    assert {c.pmid for c in x1.score.contributions} == {"101", "103"}

    table = render(report, "table", details=False)
    assert "RETRACTED: X1 links PMID 104" in table and "RETRACTED: X2 links PMID 104" in table
    assert "RETRACTED: X1 links PMID 105" in table
    assert "RETRACTED: PMID 104" in render(report, "table")
    data = json.loads(render(report, "json"))
    assert [c["retracted"] for c in data["claims"]] == [["104", "105"], ["104"]]
    claims_csv = claims_frame(report)
    assert list(claims_csv["retracted_pmids"]) == ["104 105", "104"]
    assert list(claims_csv["n_retracted"]) == [2, 1]
    links = links_frame(report).set_index(["claim_id", "pmid"])
    assert bool(links.loc[("X2", "104"), "retracted"])
    assert not bool(links.loc[("X1", "101"), "retracted"])
    assert links.loc[("X1", "104"), "score_delta"] == 0


def test_a_retracted_paper_does_not_join_two_labs_into_one(db_url: str, tmp_path: Path) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101", "102", "104"]})
    for pmid in ("101", "102", "104"):
        judge(engine, "X1", pmid, "supports", curated=True)
    (x1, _x2) = build_report(engine).claims
    groups = {r.pmid: r.group for r in x1.links}
    assert groups == {"101": "101", "102": "101", "104": None}
    assert x1.score.independent_support == 1
    assert x1.group_labels["101"] == "Jones B, Smith A"
    assert "Jones B, Smith A: 101 102" in render(build_report(engine), "table")


def test_verdicts_on_automatic_judgements_re_estimate_its_error_and_the_report_says_so(
        db_url: str, tmp_path: Path) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101", "103"], "X2": ["101", "103"]})
    for cid in ("X1", "X2"):
        for pmid in ("101", "103"):
            judge(engine, cid, pmid, "supports", curated=False)
    before = build_report(engine)
    with engine.begin() as conn:  # the judge was wrong on both links of X1
        ledger.add_verdict(conn, "X1", "101", stance="contradicts", reviewer="R. Viewer")
        ledger.add_verdict(conn, "X1", "103", stance="irrelevant", reviewer="R. Viewer")
    after = build_report(engine)
    [j] = after.judges
    assert j.key == f"{JUDGE_METHOD} {JUDGE_VERSION}"
    assert (j.verdicts, j.disagreements) == (2, 2)
    e0, n0 = j.prior_error, j.prior_strength
    assert j.error("rct", "supports") == pytest.approx((e0 * n0 + 2) / (n0 + 2))
    table = " ".join(render(after, "table", details=False).split())  # lines are wrapped
    assert "re-estimated from 2 researcher verdicts: rct supports" in table
    # X2 has no verdicts, yet its automatic judgements are now weighed by the new estimate
    x2_before, x2_after = before.claims[1].score, after.claims[1].score
    expected = 0.8 * (1 - j.error("rct", "supports"))
    assert [c.weight for c in x2_after.contributions] == pytest.approx([expected, expected])
    assert x2_after.support < x2_before.support


def test_the_report_names_the_chains_weakest_link_in_table_json_and_csv(
        db_url: str, tmp_path: Path) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101", "103"], "X2": ["103"]})
    judge(engine, "X1", "101", "supports", curated=True)
    judge(engine, "X1", "103", "supports", curated=True)
    judge(engine, "X2", "103", "supports", curated=False)  # weaker: one automatic judgement
    report = build_report(engine)
    x1, x2 = report.claims
    assert x2.score.score < x1.score.score
    assert "X1 → X2  support " + f"{x2.score.score:.2f}  weakest link: X2" in render(report,
                                                                                    "table")
    data = json.loads(render(report, "json"))
    assert data["chain"]["weakest"] == {"claims": ["X1", "X2"], "support": x2.score.score,
                                        "weakest": "X2"}
    assert list(claims_frame(report)["weakest_link"]) == [f"X1 → X2: X2 ({x2.score.score:.2f})"] * 2


def test_the_claims_csv_carries_score_certainty_and_groups(db_url: str, tmp_path: Path) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101", "102", "103"]})
    for pmid in ("101", "102", "103"):
        judge(engine, "X1", pmid, "supports", curated=True)
    path = tmp_path / "claims.csv"
    claims_frame(build_report(engine)).to_csv(path, index=False)
    row = pd.read_csv(path).iloc[0]
    assert (row["claim_id"], row["certainty"], row["independent_groups"]) == ("X1", "high", 2)
    assert row["groups"] == "Jones B, Smith A: 101 102"


# --- the command line -------------------------------------------------------------------------

def test_report_and_export_score_with_the_priors_file_given(db_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    engine = crafted_store(db_url, tmp_path, {"X1": ["101"]})
    judge(engine, "X1", "101", "supports", curated=True)
    mine = tmp_path / "mine.toml"
    mine.write_text(DEFAULT_PRIORS_FILE.read_text(encoding="utf-8")
                    .replace("rct = 0.20", "rct = 0.50"), encoding="utf-8")
    monkeypatch.delenv("EVTRACK_CONFIG", raising=False)
    runner = CliRunner()

    def score(*extra: str) -> float:
        result = runner.invoke(cli, ["--db", db_url, "report", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        return float(json.loads(result.output)["claims"][0]["score"]["score"])

    assert score() == pytest.approx(0.8 * 0.9)
    assert score("--priors", str(mine)) == pytest.approx(0.5 * 0.9)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["--db", db_url, "export", "--out", str(out), "--priors",
                                 str(mine)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "claims.csv")["score"][0] == pytest.approx(0.45)


def test_a_bad_priors_file_is_one_error_line(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[tier_error]\nrct = 2\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", db_url, "report", "--priors", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "bad.toml: tier_error." in result.output
