"""The audit: verdict validation, the review queue's order, the keystroke loop (with a scripted
terminal and through the CLI), the audit trail export, and verdicts surviving refreshes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, text

from evtrack import cli as cli_module
from evtrack.audit import (
    REVIEWED_BY_OTHERS,
    UNREVIEWED_AUTOMATIC,
    UNREVIEWED_CURATED,
    Action,
    Opinion,
    QueueItem,
    ReviewSession,
    answer_impact,
    build_queue,
    claim_impacts,
    mark_rationale,
    parse_key,
    render_item,
    report_score,
    run_audit,
)
from evtrack.claims import ClaimSet, load_claims
from evtrack.cli import cli
from evtrack.errors import ConfigError, NotFoundError
from evtrack.export import TRAIL_COLUMNS
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.report import build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.scoring import Evidence, support_score
from evtrack.store.db import open_store
from evtrack.store.models import Judgement, Link, Paper, Verdict
from evtrack.verdicts import (
    ERROR_TAGS,
    VerdictError,
    audit_trail,
    parse_tag,
    record_verdict,
    resolve_reviewer,
)

# -- pure decisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "action"), [
    ("s", Action("stance", "supports")), ("S", Action("stance", "supports")),
    ("c", Action("stance", "contradicts")), ("m", Action("stance", "mentions")),
    ("i", Action("stance", "irrelevant")), ("n", Action("skip")), (" ", Action("skip")),
    ("q", Action("quit")), ("", Action("quit")), ("x", None), ("\r", None), ("1", None),
])
def test_one_keystroke_per_answer(key: str, action: Action | None) -> None:
    assert parse_key(key) == action


@pytest.mark.parametrize(("typed", "numbers", "tag"), [
    ("", False, None), ("   ", True, None), (None, False, None),
    ("polarity", False, "polarity"), (" Context-Mismatch ", False, "context_mismatch"),
    ("negative result", False, "negative_result"), ("2", True, "polarity"), ("6", True, "other"),
])
def test_error_tags_by_name_or_number(typed: str | None, numbers: bool, tag: str | None) -> None:
    assert parse_tag(typed, numbers=numbers) == tag


@pytest.mark.parametrize(("typed", "numbers"), [("2", False), ("7", True), ("0", True),
                                                ("wrong", False), ("correct", True)])
def test_unknown_error_tags_are_refused_with_the_choices(typed: str, numbers: bool) -> None:
    with pytest.raises(VerdictError, match="wrong_relation, .*other"):
        parse_tag(typed, numbers=numbers)


def no_git() -> str | None:
    return None


@pytest.mark.parametrize(("flag", "env", "git", "who"), [
    ("Flag", {"EVTRACK_REVIEWER": "Env"}, "Git", "Flag"),
    (None, {"EVTRACK_REVIEWER": "Env"}, "Git", "Env"),
    ("  ", {"EVTRACK_REVIEWER": " "}, "Git", "Git"),
    (None, {}, "Git User", "Git User"),
])
def test_reviewer_is_flag_then_environment_then_git(flag: str | None, env: dict[str, str],
                                                    git: str, who: str) -> None:
    assert resolve_reviewer(flag, env, lambda: git) == who


def test_reviewer_falls_back_to_the_login_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "login")
    assert resolve_reviewer(None, {}, no_git) == "login"

    def nobody() -> str:
        raise OSError("no login name")
    monkeypatch.setattr("getpass.getuser", nobody)
    with pytest.raises(ConfigError, match="--reviewer NAME or set EVTRACK_REVIEWER"):
        resolve_reviewer(None, {}, no_git)


def ev(pmid: str, stance: str, tier: str = "animal-in-vivo", decider: str = "judge",
       retracted: bool = False) -> Evidence:
    return Evidence(pmid, stance, tier, decider, retracted)


def test_impact_of_a_lone_unjudged_link_is_the_score_a_supporting_verdict_gives() -> None:
    # Nothing supports the claim yet (score 0): "contradicts" and "mentions" leave it at 0,
    # "supports" raises it to what one verdict-backed paper of that tier is worth.
    evidence = [ev("1", "unjudged", decider="none")]
    expected = support_score([ev("1", "supports", decider="verdict")]).score
    assert expected > 0
    assert answer_impact(evidence, 0) == pytest.approx(expected)


def test_a_retracted_paper_has_no_impact() -> None:
    evidence = [ev("1", "supports", tier="rct", retracted=True), ev("2", "supports")]
    assert answer_impact(evidence, 0) == 0.0
    assert answer_impact(evidence, 1) > 0


def test_stronger_designs_have_more_impact() -> None:
    evidence = [ev("1", "unclear", tier="rct"), ev("2", "unclear", tier="in-vitro")]
    assert answer_impact(evidence, 0) > answer_impact(evidence, 1) > 0


def test_impact_looks_at_every_answer_not_only_a_flip() -> None:
    # A supporting paper among others: turning it into "contradicts" moves the score most.
    evidence = [ev("1", "supports", tier="rct", decider="curator"), ev("2", "supports")]
    now = support_score(evidence).score
    flipped = support_score([evidence[0], ev("2", "contradicts", decider="verdict")]).score
    assert answer_impact(evidence, 1) == pytest.approx(abs(now - flipped))


def item(**changes: object) -> QueueItem:
    base = QueueItem(
        claim_id="C6", claim_text="BDNF is necessary for the effect.", claim_score=0.55,
        pmid="21677641", title="NMDA receptor blockade at rest triggers rapid responses.",
        year=2011, journal="Nature", abstract="", tier="animal-in-vivo",
        tier_source='inferred: MeSH "Mice"', retracted=False, stance="mentions",
        decider="judge", decided_by="judge cue-rules 1.0", rationale=None,
        opinions=(Opinion("judge", "judge cue-rules 1.0", "mentions", None, 0.5),),
        impact=0.24, group=UNREVIEWED_AUTOMATIC)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


ABSTRACT = ("Ketamine has rapid antidepressant effects. In BDNF knockout mice the effect of "
            "ketamine was absent, showing that BDNF is required for the antidepressant effect. "
            "These data point to protein synthesis.")
RATIONALE = ("In BDNF knockout mice the effect of ketamine was absent, showing that BDNF is "
             "required for the antidepressant effect.")


def test_the_screen_shows_claim_paper_design_stance_and_the_marked_rationale() -> None:
    screen = render_item(item(abstract=ABSTRACT, rationale=RATIONALE), 3, 40, width=60)
    flat = " ".join(screen.split())
    assert screen.startswith("── [3/40] C6 (score 0.55): BDNF is necessary for the effect.")
    assert "PMID 21677641 · Nature, 2011" in screen
    assert 'design: animal-in-vivo (inferred: MeSH "Mice")' in screen
    assert "now: mentions, by judge cue-rules 1.0 (confidence 0.50)" in screen
    assert "could move the score by up to 0.24" in screen
    assert f"effects. »{RATIONALE}« These data" in flat  # marked in place, in the abstract
    assert "rationale:" not in screen


def test_highlighting_covers_the_rationale_across_wrapped_lines_only() -> None:
    screen = render_item(item(abstract=ABSTRACT, rationale=RATIONALE), 1, 1, width=50,
                         highlight=lambda s: f"<{s}>")
    marked = [line for line in screen.splitlines() if "<" in line]
    assert len(marked) >= 2  # the sentence wraps; every piece of it is highlighted
    assert marked[0].strip().endswith(">") and "effects. <»In" in marked[0]
    assert marked[-1].strip().startswith("<") and "effect.«>" in marked[-1]
    assert "<Ketamine" not in screen and "<These" not in screen


def test_a_rationale_outside_the_stored_text_is_shown_on_its_own() -> None:
    screen = render_item(item(rationale="A sentence from elsewhere."), 1, 1)
    assert "rationale: »A sentence from elsewhere.«" in screen
    assert "(no abstract in the store)" in screen
    assert "(the judge found no rationale sentence)" in render_item(item(), 1, 1)
    assert mark_rationale("abc", "zz") == ("abc", False)


def test_the_screen_shows_retraction_and_every_opinion_on_record() -> None:
    screen = render_item(item(
        retracted=True, stance="supports", decider="verdict", decided_by="Ann",
        opinions=(Opinion("judge", "judge cue-rules 1.0", "mentions", None, 0.5),
                  Opinion("curator", "curator (ketamine.toml)", "contradicts", "kept effect"),
                  Opinion("verdict", "Ann", "supports", "re-read the figures"))), 1, 1)
    lines = screen.splitlines()
    assert "⚠ RETRACTED" in lines[1]
    opinion_lines = [ln for ln in lines if ln.startswith(("now:", "also:"))]
    assert opinion_lines == [
        "now: supports, by Ann's verdict — re-read the figures",
        "also: mentions, by judge cue-rules 1.0 (confidence 0.50)",
        "also: contradicts, by curator (ketamine.toml) — kept effect",
    ]


# -- on the ketamine store --------------------------------------------------------------------


@pytest.fixture(scope="module")
def claim_set() -> ClaimSet:
    return load_claims([default_claims_dir()])


@pytest.fixture(scope="module")
def store_url(databases: object, claim_set: ClaimSet) -> Iterator[str]:
    """A refreshed ketamine store shared by this module's tests (each cleans its verdicts)."""
    url: str = databases.create()  # type: ignore[attr-defined]
    engine = open_store(url)
    refresh(engine, claim_set, OfflineSource.from_files(snapshot_files()))
    engine.dispose()
    yield url
    databases.drop(url)  # type: ignore[attr-defined]


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = open_store(store_url)
    yield eng
    with eng.begin() as conn:
        conn.execute(delete(Verdict))
        if eng.dialect.name == "postgresql":
            # SQLite numbers an emptied table from 1 again; a PostgreSQL sequence does not, and
            # the next test expects "Verdict 1".
            conn.execute(text("ALTER SEQUENCE verdicts_id_seq RESTART"))
    eng.dispose()


def verdict(engine: Engine, claim: str, pmid: str, stance: str, reviewer: str,
            note: str | None = None, tag: str | None = None) -> int:
    with engine.begin() as conn:
        return record_verdict(conn, claim, pmid, stance=stance, reviewer=reviewer, note=note,
                              tag=tag)


def test_record_verdict_validates_stance_tag_link_and_reviewer(engine: Engine) -> None:
    with pytest.raises(VerdictError, match="unknown stance 'loves'"):
        verdict(engine, "C6", "21677641", "loves", "ann")
    with pytest.raises(VerdictError, match="unknown error tag 'wrong'"):
        verdict(engine, "C6", "21677641", "supports", "ann", tag="wrong")
    with pytest.raises(NotFoundError, match="no link between claim C6 and PMID 1"):
        verdict(engine, "C6", "1", "supports", "ann")
    with pytest.raises(VerdictError, match="reviewer"):
        verdict(engine, "C6", "21677641", "supports", "  ")
    vid = verdict(engine, "C6", "21677641", "irrelevant", " ann ", note="  ", tag="Polarity")
    with engine.connect() as conn:
        row = conn.execute(select(Verdict).where(Verdict.id == vid)).one()
    assert (row.stance, row.reviewer, row.note, row.tag) == ("irrelevant", "ann", None,
                                                             "polarity")


def test_the_queue_puts_automatic_before_curated_and_larger_impact_first(
        engine: Engine) -> None:
    queue = build_queue(engine, "ann")
    report = build_report(engine)
    assert len(queue) == sum(len(c.links) for c in report.claims)
    groups = [q.group for q in queue]
    assert groups == sorted(groups)
    assert {UNREVIEWED_AUTOMATIC, UNREVIEWED_CURATED} <= set(groups)
    assert all(q.decider in ("judge", "none") for q in queue if q.group == UNREVIEWED_AUTOMATIC)
    assert all(q.decider == "curator" for q in queue if q.group == UNREVIEWED_CURATED)
    for g in set(groups):
        impacts = [q.impact for q in queue if q.group == g]
        assert impacts == sorted(impacts, reverse=True), g
    assert queue[0].impact > queue[-1].impact


@pytest.mark.parametrize("claim_id", ["C1", "C6"])
def test_the_queue_impact_is_the_score_change_a_verdict_could_make(engine: Engine,
                                                                   claim_id: str) -> None:
    queue = build_queue(engine, "ann", [claim_id])
    report = build_report(engine, [claim_id])
    claim = report.claims[0]
    score = report_score(report)
    evidence = [row.evidence for row in claim.links]
    assert score(evidence) == pytest.approx(claim.score.score)
    assert [q.claim_id for q in queue] == [claim_id] * len(claim.links)
    for q in queue:
        index = next(i for i, row in enumerate(claim.links) if row.pmid == q.pmid)
        assert q.impact == pytest.approx(answer_impact(evidence, index, score=score), abs=1e-12)
        assert q.claim_score == pytest.approx(claim.score.score)


EVIDENCE = st.builds(
    Evidence, pmid=st.sampled_from([str(n) for n in range(100, 112)]),
    stance=st.sampled_from(["supports", "contradicts", "mixed", "mentions", "unclear",
                            "irrelevant", "unjudged"]),
    tier=st.sampled_from(["rct", "animal-in-vivo", "in-vitro", "review"]),
    decider=st.sampled_from(["verdict", "curator", "judge", "none"]),
    retracted=st.booleans(), group=st.sampled_from([None, "g1", "g2"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(EVIDENCE, max_size=9, unique_by=lambda e: e.pmid))
def test_the_fast_impacts_equal_the_definition(evidence: list[Evidence]) -> None:
    fast = claim_impacts(evidence)
    assert fast == pytest.approx([answer_impact(evidence, i) for i in range(len(evidence))],
                                 abs=1e-12)


def test_a_reviewer_never_sees_their_own_judged_links_and_others_come_last(
        engine: Engine) -> None:
    first = build_queue(engine, "ann", ["C6"])[0]
    verdict(engine, "C6", first.pmid, "contradicts", "ann", note="not a knockout")
    assert first.pmid not in [q.pmid for q in build_queue(engine, "ann", ["C6"])]
    bob = build_queue(engine, "bob", ["C6"])
    assert bob[-1].pmid == first.pmid and bob[-1].group == REVIEWED_BY_OTHERS
    assert (bob[-1].stance, bob[-1].decider, bob[-1].decided_by) == ("contradicts", "verdict",
                                                                     "ann")
    assert Opinion("verdict", "ann", "contradicts", "not a knockout") in bob[-1].opinions
    assert all(q.group != REVIEWED_BY_OTHERS for q in bob[:-1])


def test_blind_review_hides_and_ignores_other_reviewers(engine: Engine) -> None:
    before = build_queue(engine, "bob", ["C6", "C7"], blind=True)
    judged = next(q for q in before[1:] if q.decider == "judge")
    verdict(engine, before[0].claim_id, before[0].pmid, "irrelevant", "ann")
    verdict(engine, judged.claim_id, judged.pmid, "supports", "ann")
    after = build_queue(engine, "bob", ["C6", "C7"], blind=True)
    assert after == before  # same links, order, stances and impacts: ann is invisible
    assert all(o.kind != "verdict" for q in after for o in q.opinions)
    seen = build_queue(engine, "bob", ["C6", "C7"])
    assert next(q for q in seen if q.pmid == before[0].pmid).stance == "irrelevant"
    assert seen[-1].group == REVIEWED_BY_OTHERS


def test_an_unknown_claim_is_an_error(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no claim C99"):
        build_queue(engine, "ann", ["C99"])


class Script:
    """A terminal that plays back keystrokes and lines, and records what was shown."""

    def __init__(self, *inputs: str) -> None:
        self.inputs = list(inputs)
        self.shown: list[str] = []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def key(self, prompt: str) -> str:
        return self.inputs.pop(0) if self.inputs else ""

    def line(self, prompt: str) -> str:
        if not self.inputs:
            raise EOFError
        return self.inputs.pop(0)


def test_the_loop_records_skips_and_quits(engine: Engine) -> None:
    session = ReviewSession(engine, "ann", ["C6"])
    order = [q.pmid for q in build_queue(engine, "ann", ["C6"])]
    term = Script("x", "s", " hedged but clear ", "9", "2",  # bad key, then a tag retry
                  "n",  # skip the next link
                  "c", "", "",  # contradicts, no note, no tag
                  "q")
    out = run_audit(session, term)
    assert out.quit and out.shown == 4 and out.skipped == 1
    assert [(c, p, s) for c, p, s, _ in out.decided] == [("C6", order[0], "supports"),
                                                         ("C6", out.decided[1][1], "contradicts")]
    assert any(s.startswith("Keys: [s]upports") for s in term.shown)
    assert any("unknown error tag '9'" in s for s in term.shown)
    with engine.connect() as conn:
        rows = conn.execute(select(Verdict.stance, Verdict.reviewer, Verdict.note, Verdict.tag)
                            .order_by(Verdict.id)).all()
    assert [tuple(r) for r in rows] == [("supports", "ann", "hedged but clear", "polarity"),
                                        ("contradicts", "ann", None, None)]
    assert out.remaining == len(order) - 2 - 1  # two judged, one skipped this session


def test_the_queue_is_reranked_after_each_verdict(engine: Engine) -> None:
    session = ReviewSession(engine, "ann", ["C6"])
    stale = {q.pmid: q.impact for q in build_queue(engine, "ann", ["C6"])}
    first = session.next()
    assert first is not None
    session.decide(first, "contradicts", None, None)
    fresh = build_queue(engine, "ann", ["C6"])
    assert session.next() == fresh[0]
    assert any(q.impact != pytest.approx(stale[q.pmid]) for q in fresh)


def test_end_of_input_inside_the_prompts_stores_nothing_half_said(engine: Engine) -> None:
    out = run_audit(ReviewSession(engine, "ann", ["C6"]), Script("s", "a note"))
    assert out.quit and out.decided == []
    with engine.connect() as conn:
        assert conn.execute(select(Verdict)).all() == []


def test_limit_stops_after_n_links(engine: Engine) -> None:
    out = run_audit(ReviewSession(engine, "ann"), Script("n", "n", "n", "n"), limit=2)
    assert (out.shown, out.skipped, out.quit) == (2, 2, False)


# -- the audit trail --------------------------------------------------------------------------


def test_the_trail_says_what_each_verdict_overrode(engine: Engine) -> None:
    queue = build_queue(engine, "ann", ["C9"])
    curated = next(q for q in queue if q.decider == "curator")
    verdict(engine, "C9", curated.pmid, "contradicts", "ann", note="small n", tag="polarity")
    verdict(engine, "C9", curated.pmid, "mentions", "bob")
    trail = audit_trail(engine)
    assert [(t.reviewer, t.stance, t.stance_before, t.current) for t in trail] == [
        ("ann", "contradicts", curated.stance, False),
        ("bob", "mentions", "contradicts", True)]
    assert trail[0].decided_before == curated.decided_by
    assert trail[1].decided_before == "verdict by ann"
    assert trail[0].curator_stance == curated.stance
    assert audit_trail(engine, ["C6"]) == []


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def run(engine: Engine, store_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG", "EVTRACK_REVIEWER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EVTRACK_DB", store_url)
    monkeypatch.setattr(cli_module, "_git_user", lambda: "Git User")
    yield CliRunner()


def test_cli_audit_walks_the_queue_by_keystroke(run: CliRunner, engine: Engine) -> None:
    first = build_queue(engine, "Git User", ["C6"])[0]
    result = run.invoke(cli, ["audit", "--claim", "C6", "--limit", "3"],
                        input="s" "Autry-like design\n" "polarity\n" "n" "q")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Auditing as Git User: 5 links in the queue.")
    assert f"PMID {first.pmid}" in out and "design: " in out and "now: " in out
    assert f"Saved verdict 1: C6 × PMID {first.pmid} = supports [polarity]" in out
    assert "1 verdict recorded, 1 skipped, 3 left in the queue." in out
    with engine.connect() as conn:
        row = conn.execute(select(Verdict.reviewer, Verdict.note, Verdict.tag)).one()
    assert tuple(row) == ("Git User", "Autry-like design", "polarity")


def test_cli_audit_marks_the_rationale_and_styles_it_when_colour_is_on(
        run: CliRunner, engine: Engine) -> None:
    # C6 × 21867718: the judge's rationale is the title itself (the snapshot has no abstracts).
    target = next(q for q in build_queue(engine, "x", ["C6"]) if q.rationale)
    assert target.rationale == target.title
    plain = run.invoke(cli, ["audit", "--claim", "C6"], input="q", color=False)
    coloured = run.invoke(cli, ["audit", "--claim", "C6"], input="q", color=True)
    assert "»" + target.title.split()[0] in plain.output and "\x1b[" not in plain.output
    assert "\x1b[1m" in coloured.output or "\x1b[33m" in coloured.output


def test_cli_verdict_validates_tags_and_takes_irrelevant(run: CliRunner, engine: Engine) -> None:
    bad = run.invoke(cli, ["verdict", "C6", "21677641", "--stance", "supports", "--tag", "typo"])
    assert bad.exit_code == 2 and "Invalid value for '--tag'" in bad.output
    assert "context_mismatch" in bad.output
    ok = run.invoke(cli, ["verdict", "C6", "21677641", "--stance", "irrelevant", "--tag",
                          "Context_Mismatch", "--note", "about rats"],
                    env={"EVTRACK_REVIEWER": "Env Rev"})
    assert ok.exit_code == 0, ok.output
    assert ok.output == ("Verdict 1: C6 × PMID 21677641 = irrelevant [context_mismatch] "
                         "(by Env Rev)\n")
    flagged = run.invoke(cli, ["verdict", "C6", "21677641", "--stance", "supports",
                               "--reviewer", "Flag Rev"], env={"EVTRACK_REVIEWER": "Env Rev"})
    assert flagged.output.endswith("(by Flag Rev)\n")
    row = next(r for r in build_report(engine, ["C6"]).claims[0].links if r.pmid == "21677641")
    assert (row.stance, row.decider, row.decided_by) == ("supports", "verdict", "Flag Rev")


def test_cli_agreement(run: CliRunner, engine: Engine) -> None:
    none = run.invoke(cli, ["agreement"])
    assert none.exit_code == 1
    assert "Error: agreement needs verdicts from two reviewers" in none.output
    one = run.invoke(cli, ["agreement", "--reviewers", "ann"])
    assert one.exit_code == 2 and "at least two names" in one.output
    unknown = run.invoke(cli, ["agreement", "--claim", "C99"])
    assert (unknown.exit_code, unknown.output) == (1, "Error: no claim C99 in the store "
                                                      "(see `evtrack claims list`)\n")
    pmids = [q.pmid for q in build_queue(engine, "x", ["C6"])]
    verdict(engine, "C6", pmids[0], "supports", "ann")
    verdict(engine, "C9", build_queue(engine, "x", ["C9"])[0].pmid, "supports", "bob")
    apart = run.invoke(cli, ["agreement"])
    assert apart.exit_code == 1
    assert apart.output.startswith(
        "ann × bob: no link judged by both (ann alone: 1, bob alone: 1)")
    assert "Error: no two reviewers judged a link in common" in apart.output
    # ann: S S C ; bob: S C C on the same three C6 links -> p_o 2/3, p_e = (2·1 + 1·2)/9 = 4/9,
    # κ = (6/9 − 4/9) / (5/9) = 0.40; SE = √((2/3)(1/3) / (3 (5/9)²)) = √0.24 = 0.49,
    # so the 95% interval 0.40 ± 0.96 is cut at 1: -0.56 to 1.00.
    for pmid, a, b in zip(pmids[1:3], ["supports", "contradicts"], ["contradicts", "contradicts"],
                          strict=True):
        verdict(engine, "C6", pmid, a, "ann")
        verdict(engine, "C6", pmid, b, "bob")
    verdict(engine, "C6", pmids[0], "supports", "bob")
    both = run.invoke(cli, ["agreement", "--claim", "C6", "--reviewers", "ann,bob"])
    assert both.exit_code == 0, both.output
    assert both.output.splitlines()[:2] == [
        "ann × bob: 3 links judged by both (ann alone: 0, bob alone: 0)",
        "  observed agreement 0.67, chance 0.44, Cohen's κ = 0.40 (fair, 95% CI -0.56 to 1.00)"]


def test_cli_export_writes_the_audit_trail(run: CliRunner, engine: Engine,
                                           tmp_path: Path) -> None:
    empty = run.invoke(cli, ["export", "--out", "empty"])
    assert "Wrote empty/verdicts.csv (0 rows)" in empty.output
    assert list(pd.read_csv(tmp_path / "empty" / "verdicts.csv").columns) == TRAIL_COLUMNS
    pmid = build_queue(engine, "x", ["C6"])[0].pmid
    verdict(engine, "C6", pmid, "contradicts", "ann", note="dose, not gene; ≠ Autry", tag="other")
    verdict(engine, "C6", pmid, "supports", "bob")
    result = run.invoke(cli, ["export", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "Wrote out/verdicts.csv (2 rows)" in result.output
    trail = pd.read_csv(tmp_path / "out" / "verdicts.csv", dtype={"pmid": str},
                        keep_default_na=False)
    assert list(trail.columns) == TRAIL_COLUMNS
    assert list(trail["reviewer"]) == ["ann", "bob"]
    assert list(trail["stance"]) == ["contradicts", "supports"]
    assert list(trail["stance_before"])[1] == "contradicts"
    assert list(trail["decided_before"])[1] == "verdict by ann"
    assert list(trail["note"]) == ["dose, not gene; ≠ Autry", ""]
    assert list(trail["tag"]) == ["other", ""]
    assert list(trail["current"]) == [False, True]
    assert set(trail["pmid"]) == {pmid} and set(trail["claim_id"]) == {"C6"}
    assert all(t.endswith("Z") and pd.Timestamp(t).year >= 2024 for t in trail["created_at"])


# -- verdicts survive every refresh ----------------------------------------------------------


def with_curated_stance(source: str, claim_id: str, pmid: str, stance: str) -> str:
    """The claims file's text with one curated entry of one claim given another stance."""
    pos = source.index(f'id = "{claim_id}"')
    while True:
        pos = source.index("[[claim.curated]]", pos + 1)
        end = source.find("\n[[", pos)
        end = len(source) if end < 0 else end
        block = source[pos:end]
        if f'pmid = "{pmid}"' in block:
            block = re.sub(r'stance = "\w+"', f'stance = "{stance}"', block, count=1)
            return source[:pos] + block + source[end:]


def test_refresh_never_changes_a_verdict(db_url: str, claim_set: ClaimSet,
                                         tmp_path: Path) -> None:
    engine = open_store(db_url)
    refresh(engine, claim_set, OfflineSource.from_files(snapshot_files()))
    curated = next(q for q in build_queue(engine, "x", ["C9"]) if q.decider == "curator")
    verdict(engine, "C9", curated.pmid, "contradicts", "Ann", note="n = 18; «open-label»",
            tag="context_mismatch")
    verdict(engine, "C6", "21677641", "irrelevant", "Bob")
    verdict(engine, "C6", "21677641", "supports", "Ann", tag="other")

    def raw_verdicts() -> list[tuple[object, ...]]:
        # Every column as the database returns it (SQLite: the stored text), not via the ORM.
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT * FROM verdicts ORDER BY id"))]

    def judgement_of(claim: str, pmid: str) -> str:
        with engine.connect() as conn:
            return str(conn.scalar(select(Judgement.stance).join(Link).join(Paper)
                                   .where(Link.claim_id == claim, Paper.pmid == pmid,
                                          Judgement.method == "curated-file")))

    before = raw_verdicts()
    assert len(before) == 3
    refresh(engine, claim_set, OfflineSource.from_files(snapshot_files()))
    assert raw_verdicts() == before
    # A claims file whose curator changed their mind: the refresh rewrites the curated
    # judgement of the verdicted link, and still leaves the verdicts alone.
    changed = tmp_path / "ketamine.toml"
    new_stance = "mentions" if curated.stance != "mentions" else "supports"
    changed.write_text(with_curated_stance(Path(claim_set.files[0]).read_text(encoding="utf-8"),
                                           "C9", curated.pmid, new_stance), encoding="utf-8")
    assert [e.stance for e in load_claims([changed]).get("C9").curated
            if e.pmid == curated.pmid] == [new_stance]
    refresh(engine, load_claims([changed]), OfflineSource.from_files(snapshot_files()))
    assert judgement_of("C9", curated.pmid) == new_stance
    assert raw_verdicts() == before
    row = next(r for r in build_report(engine, ["C9"]).claims[0].links if r.pmid == curated.pmid)
    assert (row.stance, row.decider, row.decided_by) == ("contradicts", "verdict", "Ann")
    engine.dispose()


def test_error_tags_are_the_indra_like_set() -> None:
    assert ERROR_TAGS == ("wrong_relation", "polarity", "negative_result", "hypothesis",
                          "context_mismatch", "other")
