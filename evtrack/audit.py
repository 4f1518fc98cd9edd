"""The audit: a review queue of claim–paper links, walked one keystroke per link.

The order puts first the links whose verdict matters most:

1. links nobody has given a verdict on, those the automatic judge decided (or nobody did) before
   those the curator decided, then links other reviewers already judged;
2. within each group, by **impact**: the largest change in the claim's support score that any
   answer (supports / contradicts / mentions / irrelevant, as a verdict) could make — see
   :func:`answer_impact`. A retracted paper counts for nothing, so its impact is 0.

After every verdict the claim's links are re-ranked, because the score they would move has moved.
A reviewer never sees a link again that they already judged (``evtrack verdict`` revises one).

With ``blind``, other reviewers' verdicts are neither shown nor counted, so two reviewers get the
same queue and judge the same links independently — what Cohen's kappa needs.

Nothing here touches a terminal: :func:`run_audit` talks to a :class:`Terminal` (the CLI passes
one built on click; tests pass a script), so the loop's logic is tested without one.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from evtrack.refresh import CURATED_METHOD
from evtrack.report import Report, build_report
from evtrack.scoring import Evidence, Scorer, support_score
from evtrack.store.models import Judgement, Link, Paper, Verdict
from evtrack.verdicts import ERROR_TAGS, VerdictError, parse_tag, record_verdict

#: One keystroke per answer. Anything else re-shows the legend.
KEYS: dict[str, str] = {"s": "supports", "c": "contradicts", "m": "mentions", "i": "irrelevant"}
SKIP_KEYS = frozenset({"n", " "})
QUIT_KEYS = frozenset({"q", ""})  # "" is end of input (a closed pipe, a test's exhausted script)
KEY_LEGEND = ("[s]upports  [c]ontradicts  [m]entions  [i]rrelevant  "
              "[n]ext (skip)  [q]uit")
TAG_PROMPT = ("Error tag? " + "  ".join(f"{i} {t}" for i, t in enumerate(ERROR_TAGS, 1))
              + " (Enter: none)")

#: Answers a verdict can give in the audit; :func:`answer_impact` tries each.
ANSWERS: tuple[str, ...] = tuple(KEYS.values())

# Queue groups, in order.
UNREVIEWED_AUTOMATIC, UNREVIEWED_CURATED, REVIEWED_BY_OTHERS = 0, 1, 2


@dataclass(frozen=True)
class Action:
    """What one keystroke asks for."""

    kind: Literal["stance", "skip", "quit"]
    stance: str | None = None


def parse_key(key: str) -> Action | None:
    """The action for a keystroke, or None for a key that means nothing (case-insensitive)."""
    k = key.lower() if key.strip() else key
    if k in KEYS:
        return Action("stance", KEYS[k])
    if k in SKIP_KEYS:
        return Action("skip")
    if k in QUIT_KEYS:
        return Action("quit")
    return None


#: Scores a claim's evidence; the queue passes the report's own scorer (with the judge's error
#: rate learnt from verdicts) so that impacts are in the report's units.
ScoreFn = Callable[[Sequence[Evidence]], float]


def _default_score(evidence: Sequence[Evidence]) -> float:
    return support_score(evidence).score


def answer_impact(evidence: Sequence[Evidence], index: int,
                  answers: Sequence[str] = ANSWERS, score: ScoreFn = _default_score) -> float:
    """How far a verdict on ``evidence[index]`` could move the claim's support score.

    The largest ``|score(with the verdict) − score(now)|`` over the possible answers, the
    link's decider becoming ``verdict``. Only calls the score function, so it follows whatever
    the score formula is.
    """
    now = score(evidence)
    rest = list(evidence)
    best = 0.0
    for answer in answers:
        rest[index] = dataclasses.replace(evidence[index], stance=answer, decider="verdict")
        best = max(best, abs(score(rest) - now))
    return best


#: Stances that can count toward the score (docs/scoring.md: the others add nothing).
_COUNTING = frozenset({"supports", "contradicts", "mixed"})


def _group_of(e: Evidence) -> str:
    return getattr(e, "group", None) or e.pmid  # a paper without a group is its own


def _kind_of(e: Evidence) -> tuple[object, ...]:
    """What a paper is, apart from its identity (PMID, group name) and its current stance."""
    anonymous = {"pmid": "", "stance": "", "decider": ""}
    if hasattr(e, "group"):
        anonymous["group"] = ""
    return dataclasses.astuple(dataclasses.replace(e, **anonymous))  # type: ignore[arg-type]


def claim_impacts(evidence: Sequence[Evidence], score: ScoreFn = _default_score,
                  answers: Sequence[str] = ANSWERS) -> list[float]:
    """:func:`answer_impact` for every link of one claim, with far fewer and smaller scorings.

    The score is at least quadratic in the number of papers and every link is scored once per
    answer, so the plain definition takes minutes on a claim with hundreds of links. Evidence
    that adds nothing (unjudged, unclear, mentions, irrelevant, retracted: docs/scoring.md) is
    left out of every variant, and an answer that adds nothing is the link's removal, scored
    once. Both rest on that documented property, which is checked once per claim: if leaving
    the evidence out changes the score, every link gets the plain definition.
    """
    core_idx = [i for i, e in enumerate(evidence) if e.stance in _COUNTING and not e.retracted]
    core = [evidence[i] for i in core_idx]
    now = score(evidence)
    if len(core) < len(evidence) and not math.isclose(score(core), now, rel_tol=0,
                                                       abs_tol=1e-12):
        return [answer_impact(evidence, i, answers, score) for i in range(len(evidence))]
    counting = [a for a in answers if a in _COUNTING]
    silent = len(counting) < len(answers)  # some answer adds nothing: the link's removal
    position = {i: k for k, i in enumerate(core_idx)}
    # A link outside the core whose group has no paper in the core is one more paper of its
    # own: what it adds depends on what it is (tier, judge …), not on its PMID or group name,
    # so links alike share one scoring. This is what makes hundreds of unjudged links cheap.
    core_groups = {_group_of(c) for c in core}
    alike: dict[tuple[object, ...], float] = {}
    out = []
    for i, e in enumerate(evidence):
        if e.retracted:
            out.append(0.0)  # counts for nothing whatever the answer
            continue
        k = position.get(i)
        key = (_kind_of(e) if k is None and _group_of(e) not in core_groups else None)
        if key is not None and key in alike:
            out.append(alike[key])
            continue
        others = core if k is None else core[:k] + core[k + 1:]
        at = len(others) if k is None else k
        scores = [score([*others[:at], dataclasses.replace(e, stance=a, decider="verdict"),
                         *others[at:]]) for a in counting]
        if silent:
            scores.append(now if k is None else score(others))
        impact = max((abs(x - now) for x in scores), default=0.0)
        if key is not None:
            alike[key] = impact
        out.append(impact)
    return out


@dataclass(frozen=True)
class Opinion:
    """One stance already on record for a link."""

    kind: str  # judge | curator | verdict
    who: str
    stance: str
    text: str | None  # the judge's rationale sentence, the curator's note, the reviewer's note
    confidence: float | None = None


@dataclass(frozen=True)
class QueueItem:
    """One link to review, with everything the reviewer needs on screen."""

    claim_id: str
    claim_text: str
    claim_score: float
    pmid: str
    title: str
    year: int | None
    journal: str | None
    abstract: str
    tier: str
    tier_source: str  # "curator" or "inferred: <why>"
    retracted: bool
    stance: str  # in force now (as this reviewer may see it)
    decider: str  # verdict | curator | judge | none
    decided_by: str
    rationale: str | None  # the automatic judge's rationale sentence, verbatim
    opinions: tuple[Opinion, ...]
    impact: float
    group: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.claim_id, self.pmid)


def queue_order(item: QueueItem) -> tuple[int, float, str, str]:
    """Sort key: group, then impact (largest first), then claim and PMID for stability."""
    return (item.group, -round(item.impact, 12), item.claim_id, item.pmid)


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Keep IN lists under SQLite's bound-parameter limit."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def report_score(report: Report, *, blind: bool = False) -> ScoreFn:
    """Score as ``report`` did: same priors, same trust in each automatic judge.

    That trust is learnt from every verdict, so a blind review keeps to the priors' trust,
    which other reviewers' verdicts cannot move.
    """
    scorer = Scorer() if blind else Scorer(judges=report.judges)

    def score(evidence: Sequence[Evidence]) -> float:
        return support_score(evidence, scorer).score
    return score


def build_queue(engine: Engine, reviewer: str, claim_ids: Sequence[str] | None = None, *,
                blind: bool = False) -> list[QueueItem]:
    """The review queue for ``reviewer``, in order; links they already judged are left out."""
    report = build_report(engine, list(claim_ids) if claim_ids else None)
    score_fn = report_score(report, blind=blind)
    ids = [c.id for c in report.claims]
    with Session(engine) as s:
        papers = {(cid, pmid): (lid, abstract) for lid, cid, pmid, abstract in s.execute(
            select(Link.id, Link.claim_id, Paper.pmid, Paper.abstract)
            .join(Paper, Paper.id == Link.paper_id).where(Link.claim_id.in_(ids)))}
        link_ids = [lid for lid, _a in papers.values()]
        judged: dict[tuple[int, str], Judgement] = {}
        verdicts: dict[int, list[Verdict]] = {}
        for chunk in _chunks(link_ids):
            for (j,) in s.execute(select(Judgement).where(Judgement.link_id.in_(chunk))
                                  .order_by(Judgement.id)):
                judged[(j.link_id, "curator" if j.method == CURATED_METHOD else "judge")] = j
            for (v,) in s.execute(select(Verdict).where(Verdict.link_id.in_(chunk))
                                  .order_by(Verdict.created_at, Verdict.id)):
                verdicts.setdefault(v.link_id, []).append(v)
    items: list[QueueItem] = []
    for claim in report.claims:
        rows, evidence, pending = [], [], []
        for row in claim.links:
            lid, abstract = papers[(claim.id, row.pmid)]
            cur, auto = judged.get((lid, "curator")), judged.get((lid, "judge"))
            mine = [v for v in verdicts.get(lid, []) if v.reviewer == reviewer]
            others = [v for v in verdicts.get(lid, []) if v.reviewer != reviewer]
            stance, decider, who = row.stance, row.decider, row.decided_by
            if blind and decider == "verdict":
                # Only this reviewer's own verdicts count; else what stands beneath a verdict.
                src = (mine[-1] if mine else None)
                stance, decider, who = (
                    (src.stance, "verdict", src.reviewer) if src
                    else (cur.stance, "curator", cur.decided_by) if cur
                    else (auto.stance, "judge", auto.decided_by) if auto
                    else ("unjudged", "none", ""))
            evidence.append(dataclasses.replace(row.evidence, stance=stance, decider=decider))
            if mine:
                continue
            opinions = [Opinion(kind, j.decided_by, j.stance, j.rationale, j.confidence)
                        for kind, j in (("judge", auto), ("curator", cur)) if j is not None]
            if not blind:
                opinions += [Opinion("verdict", v.reviewer, v.stance, v.note) for v in others]
            group = (REVIEWED_BY_OTHERS if others and not blind
                     else UNREVIEWED_CURATED if decider == "curator"
                     else UNREVIEWED_AUTOMATIC)
            rows.append(len(evidence) - 1)
            pending.append(QueueItem(
                claim_id=claim.id, claim_text=claim.text, claim_score=0.0, pmid=row.pmid,
                title=row.title, year=row.year, journal=row.journal, abstract=abstract or "",
                tier=row.tier, tier_source=row.tier_source, retracted=row.retracted,
                stance=stance, decider=decider, decided_by=who,
                rationale=auto.rationale if auto else None, opinions=tuple(opinions),
                impact=0.0, group=group))
        impacts, now = claim_impacts(evidence, score_fn), score_fn(evidence)
        for index, item in zip(rows, pending, strict=True):
            items.append(dataclasses.replace(item, claim_score=now, impact=impacts[index]))
    return sorted(items, key=queue_order)


class ReviewSession:
    """A walk through the queue: hands out the next link, records verdicts, re-ranks.

    Each verdict is committed at once, so quitting (or a crash) loses nothing already said.
    """

    def __init__(self, engine: Engine, reviewer: str, claim_ids: Sequence[str] | None = None,
                 *, blind: bool = False) -> None:
        self.engine, self.reviewer, self.blind = engine, reviewer, blind
        self._claim_ids = list(claim_ids) if claim_ids else None
        self._queue = build_queue(engine, reviewer, self._claim_ids, blind=blind)
        self._skipped: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return sum(1 for q in self._queue if q.key not in self._skipped)

    def next(self) -> QueueItem | None:
        return next((q for q in self._queue if q.key not in self._skipped), None)

    def skip(self, item: QueueItem) -> None:
        self._skipped.add(item.key)

    def decide(self, item: QueueItem, stance: str, note: str | None, tag: str | None) -> int:
        """Record the verdict, then re-rank the claim's remaining links; returns the verdict id."""
        with self.engine.begin() as conn:
            vid = record_verdict(conn, item.claim_id, item.pmid, stance=stance,
                                 reviewer=self.reviewer, note=note, tag=tag)
        fresh = build_queue(self.engine, self.reviewer, [item.claim_id], blind=self.blind)
        self._queue = sorted([q for q in self._queue if q.claim_id != item.claim_id] + fresh,
                             key=queue_order)
        return vid


class Terminal(Protocol):
    """What the audit loop needs from a terminal."""

    def show(self, text: str) -> None: ...

    def key(self, prompt: str) -> str:
        """One keystroke; "" at end of input."""
        ...

    def line(self, prompt: str) -> str:
        """One line of text ("" for just Enter). Raises EOFError at end of input."""
        ...


@dataclass
class AuditOutcome:
    shown: int = 0
    decided: list[tuple[str, str, str, int]] = field(default_factory=list)  # claim,pmid,stance,id
    skipped: int = 0
    quit: bool = False
    remaining: int = 0


def run_audit(session: ReviewSession, terminal: Terminal, *, limit: int | None = None,
              highlight: Callable[[str], str] = str) -> AuditOutcome:
    """Walk the queue: show a link, read one key, then optionally a note and an error tag."""
    out = AuditOutcome()
    total = len(session) if limit is None else min(limit, len(session))
    while limit is None or out.shown < limit:
        item = session.next()
        if item is None:
            break
        out.shown += 1
        terminal.show(render_item(item, out.shown, total, highlight=highlight))
        try:
            action = _read_action(terminal)
            if action.kind == "quit":
                out.quit = True
                break
            if action.kind == "skip" or action.stance is None:
                session.skip(item)
                out.skipped += 1
                continue
            note = terminal.line("Note (Enter: none)").strip() or None
            tag = _read_tag(terminal)
        except (EOFError, KeyboardInterrupt):
            out.quit = True  # nothing half-said is stored
            break
        vid = session.decide(item, action.stance, note, tag)
        out.decided.append((item.claim_id, item.pmid, action.stance, vid))
        terminal.show(f"Saved verdict {vid}: {item.claim_id} × PMID {item.pmid} = {action.stance}"
                      + (f" [{tag}]" if tag else ""))
    out.remaining = len(session)
    return out


def _read_action(terminal: Terminal) -> Action:
    while True:
        action = parse_key(terminal.key(KEY_LEGEND))
        if action is not None:
            return action
        terminal.show(f"Keys: {KEY_LEGEND}")


def _read_tag(terminal: Terminal) -> str | None:
    while True:
        try:
            return parse_tag(terminal.line(TAG_PROMPT), numbers=True)
        except VerdictError as exc:
            terminal.show(str(exc))


def _who(o: Opinion) -> str:
    return f"{o.who}'s verdict" if o.kind == "verdict" else o.who


def _in_force(item: QueueItem) -> Opinion | None:
    """The opinion whose stance is in force (the newest verdict shown, the curator, the judge)."""
    kinds = {"verdict": "verdict", "curator": "curator", "judge": "judge"}
    matching = [o for o in item.opinions if o.kind == kinds.get(item.decider)]
    return matching[-1] if matching else None


MARK_OPEN, MARK_CLOSE = "»", "«"


def mark_rationale(text: str, rationale: str | None) -> tuple[str, bool]:
    """``text`` with the rationale sentence wrapped in »…«; and whether it was found there."""
    if not rationale or rationale not in text:
        return text, False
    return text.replace(rationale, f"{MARK_OPEN}{rationale}{MARK_CLOSE}", 1), True


def _styled(lines: list[str], highlight: Callable[[str], str]) -> list[str]:
    """Apply ``highlight`` to the »…« spans, which may run across wrapped lines."""
    out, inside = [], False
    for line in lines:
        parts, buf = [], ""
        for ch in line:
            if ch == MARK_OPEN:
                parts.append(buf)
                buf, inside = ch, True
            elif ch == MARK_CLOSE and inside:
                parts.append(highlight(buf + ch))
                buf, inside = "", False
            else:
                buf += ch
        parts.append(highlight(buf) if inside and buf else buf)
        out.append("".join(parts))
    return out


def render_item(item: QueueItem, position: int, total: int, *,
                highlight: Callable[[str], str] = str, width: int = 100) -> str:
    """The screen for one link. The rationale sentence is marked »…« (and ``highlight``-ed, so
    the CLI can make it bold and coloured; the markers keep it visible without colour)."""
    wrap = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent="  ")
    where = ", ".join(str(x) for x in (item.journal, item.year) if x)
    lines = [f"── [{position}/{total}] {item.claim_id} (score {item.claim_score:.2f}): "
             f"{item.claim_text}",
             f"PMID {item.pmid}" + (f" · {where}" if where else "")
             + ("  ⚠ RETRACTED" if item.retracted else "")]
    title, in_title = mark_rationale(item.title, item.rationale)
    abstract, in_abstract = mark_rationale(item.abstract, item.rationale)
    lines += _styled(wrap.wrap(title), highlight)
    lines.append(f"design: {item.tier} ({item.tier_source})")
    in_force = _in_force(item)
    if in_force is None:
        lines.append(f"now: {item.stance} (nobody has judged this link)")
    for o in sorted(item.opinions, key=lambda o: o is not in_force):
        prefix = "now:" if o is in_force else "also:"
        conf = f" (confidence {o.confidence:.2f})" if o.kind == "judge" and o.confidence else ""
        text = f" — {o.text}" if o.text and o.kind != "judge" else ""
        lines += textwrap.wrap(f"{prefix} {o.stance}, by {_who(o)}{conf}{text}", width=width,
                               subsequent_indent="      ")
    lines.append(f"a verdict could move the score by up to {item.impact:.2f}")
    if abstract:
        lines += _styled(wrap.wrap(abstract), highlight)
    else:
        lines.append("  (no abstract in the store)")
    if item.rationale and not (in_title or in_abstract):
        lines += _styled(wrap.wrap(f"rationale: {MARK_OPEN}{item.rationale}{MARK_CLOSE}"),
                         highlight)
    elif not item.rationale:
        lines.append("  (the judge found no rationale sentence)")
    return "\n".join(lines)
