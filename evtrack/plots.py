"""Inline SVG for the HTML report: the claim-chain diagram and the evidence-over-time plot.

Hand-written SVG rather than matplotlib, on purpose: the page must work offline and in print,
and these are two small, fixed kinds of picture. Written by hand, every label is real ``<text>``
(selectable, read by screen readers, sharp at any zoom and in print, styled by the page's own
CSS), each picture carries a ``<title>``/``<desc>`` and is a few kilobytes, the bytes are the
same on every run (no timestamps or random ids, so pages diff cleanly), and the chain diagram —
which no plotting library draws for us — shares one palette and one set of helpers with the
plot. Colours follow the Okabe–Ito palette (distinguishable with colour-vision deficiencies),
and every colour is doubled by a text label or a line pattern.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from evtrack.timeline import Cumulative

#: Stance colours and dash patterns: colour is never the only cue.
STANCE_STYLE: Mapping[str, tuple[str, str]] = {
    "supports": ("#0072B2", ""),  # blue, solid
    "contradicts": ("#D55E00", "7 4"),  # vermillion, dashed
    "mixed": ("#E69F00", "2 3"),  # orange, dotted
}

#: Support bands for the chain's nodes: (lowest score, name, fill colour).
SUPPORT_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.75, "strong", "#8fc1e3"),
    (0.5, "moderate", "#cfe3f3"),
    (0.25, "thin", "#fde9a9"),
    (0.0, "weak", "#f8c9ad"),
)
WEAKEST_COLOUR = "#a4161a"


def support_band(score: float) -> tuple[str, str]:
    """(name, fill) of the band a score falls in."""
    for low, name, fill in SUPPORT_BANDS:
        if score >= low:
            return name, fill
    return SUPPORT_BANDS[-1][1:]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _open(ident: str, width: float, height: float, title: str, desc: str, cls: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" id="{ident}" '
            f'viewBox="0 0 {width:g} {height:g}" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" preserveAspectRatio="xMinYMin meet">'
            f'<title id="{ident}-title">{_e(title)}</title>'
            f'<desc id="{ident}-desc">{_e(desc)}</desc>')


def nice_step(span: float, max_ticks: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 … that puts at most ``max_ticks`` ticks on ``span``."""
    for mag in range(0, 9):
        for base in (1, 2, 5):
            step = base * 10 ** mag
            if span / step <= max_ticks:
                return step
    return 10 ** 9


# --- evidence over time -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A vertical line on the year axis: ``at`` is a decimal year (2014.76)."""

    at: float
    label: str


def evidence_over_time(ident: str, series: Mapping[str, Cumulative], *, first_year: int,
                       last_year: int, marks: Sequence[Mark] = (), title: str = "",
                       desc: str = "") -> str:
    """A step plot of cumulative papers per stance by publication year.

    A paper dated only to a year counts from the start of that year, as ``--as-of`` counts it.
    Each line ends in its stance and total; each mark shows the totals reached by then.
    """
    w, h = 560.0, 230.0
    left, right, top, bottom = 50.0, 118.0, 30.0, 30.0
    x0, x1 = float(first_year), float(last_year + 1)
    ymax = max([s.total for s in series.values()] + [1])
    ystep = nice_step(ymax, 5)
    ytop = math.ceil(ymax / ystep) * ystep

    def x(year: float) -> float:
        return left + (year - x0) / (x1 - x0) * (w - left - right)

    def y(n: float) -> float:
        return top + (1 - n / ytop) * (h - top - bottom)

    out = [_open(ident, w, h, title, desc, "plot")]
    for n in range(0, ytop + 1, ystep):  # horizontal grid and y labels
        out.append(f'<line class="grid" x1="{left:g}" x2="{w - right:g}" y1="{y(n):.1f}" '
                   f'y2="{y(n):.1f}" stroke="#ddd"/>'
                   f'<text class="tick" x="{left - 6:g}" y="{y(n) + 4:.1f}" '
                   f'text-anchor="end">{n}</text>')
    xstep = nice_step(x1 - x0, 7)
    for year in range(math.ceil(x0 / xstep) * xstep, int(x1) + 1, xstep):
        out.append(f'<line x1="{x(year):.1f}" x2="{x(year):.1f}" y1="{h - bottom:g}" '
                   f'y2="{h - bottom + 4:g}" stroke="#555"/>'
                   f'<text class="tick" x="{x(year):.1f}" y="{h - bottom + 16:g}" '
                   f'text-anchor="middle">{year}</text>')
    mid = (top + h - bottom) / 2
    out.append(f'<line x1="{left:g}" x2="{w - right:g}" y1="{h - bottom:g}" y2="{h - bottom:g}" '
               f'stroke="#555"/><text class="axis-label" x="{12:g}" y="{mid:.1f}" '
               f'text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">papers, cumulative'
               '</text>')
    ends: list[tuple[float, str, str]] = []
    for stance, s in series.items():
        colour, dash = STANCE_STYLE.get(stance, ("#555", ""))
        pts = [f"M{x(x0):.1f},{y(0):.1f}"]
        for year, total in s.steps:
            pts.append(f"H{x(year):.1f}V{y(total):.1f}")
        pts.append(f"H{x(x1):.1f}")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path class="series series-{_e(stance)}" d="{"".join(pts)}" fill="none" '
                   f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        ends.append((y(s.total), f"{stance} {s.total}", colour))
    for ypos, label, colour in _spread(ends, 13.0):  # line-end labels, kept apart
        out.append(f'<text class="series-label" x="{w - right + 6:g}" y="{ypos + 4:.1f}" '
                   f'fill="{colour}">{_e(label)}</text>')
    for i, m in enumerate(marks):
        if not x0 <= m.at <= x1:
            continue
        mx = x(m.at)
        lx = min(max(mx, left + 50), w - right - 50)  # keep the label inside the plot
        out.append(f'<line class="mark" x1="{mx:.1f}" x2="{mx:.1f}" y1="{top - 6:g}" '
                   f'y2="{h - bottom:g}" stroke="#222" stroke-width="1.2" '
                   f'stroke-dasharray="3 3"/><text class="mark-label" x="{lx:.1f}" '
                   f'y="{top - 10 - 11 * i:g}" text-anchor="middle">{_e(m.label)}</text>')
        for stance, s in series.items():
            colour = STANCE_STYLE.get(stance, ("#555", ""))[0]
            n = s.by(m.at)
            out.append(f'<circle cx="{mx:.1f}" cy="{y(n):.1f}" r="3.5" fill="{colour}"/>')
    out.append("</svg>")
    return "".join(out)


def _spread(items: list[tuple[float, str, str]], gap: float) -> list[tuple[float, str, str]]:
    """Move labels apart vertically so that none is closer than ``gap`` to the next."""
    placed: list[tuple[float, str, str]] = []
    for ypos, label, colour in sorted(items):
        if placed and ypos - placed[-1][0] < gap:
            ypos = placed[-1][0] + gap
        placed.append((ypos, label, colour))
    return placed


# --- the claim chain --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainNode:
    id: str
    score: float
    certainty: str
    summary: str  # "ketamine blocks NMDA receptor"
    then: float | None = None  # the score as of an earlier date, when shown


def chain_layout(nodes: Sequence[str], leads_to: Mapping[str, Sequence[str]],
                 questions: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, float]]:
    """Claim → (column, row): columns by longest ``leads_to`` path from a root; a claim that
    only questions another sits one column right of it. Rows follow the parents' rows
    (barycentres), pushed apart to one row per claim."""
    col: dict[str, int] = {}

    def depth(c: str, seen: frozenset[str] = frozenset()) -> int:
        if c not in col:
            parents = [p for p in nodes if c in leads_to.get(p, ()) and p not in seen]
            col[c] = max((depth(p, seen | {c}) + 1 for p in parents), default=0)
        return col[c]

    for c in nodes:
        depth(c)
    parents_of: dict[str, list[str]] = {c: [p for p in nodes if c in leads_to.get(p, ())]
                                         for c in nodes}
    for c in nodes:
        targets = [t for t in questions.get(c, ()) if t in col]
        if targets and not parents_of[c] and not leads_to.get(c):
            col[c] = max(col[t] for t in targets) + 1
            parents_of[c] = targets
    row: dict[str, float] = {}
    for k in range(max(col.values(), default=-1) + 1):
        layer = [c for c in nodes if col[c] == k]
        want = {c: (sum(row[p] for p in parents_of[c] if p in row)
                    / max(1, sum(1 for p in parents_of[c] if p in row))) for c in layer}
        ordered = sorted(layer, key=lambda c: (want[c], nodes.index(c)))
        placed: list[float] = []
        for c in ordered:
            placed.append(want[c] if not placed else max(want[c], placed[-1] + 1))
        shift = (sum(want.values()) - sum(placed)) / len(placed) if placed else 0.0
        row.update({c: r + shift for c, r in zip(ordered, placed, strict=True)})
    return {c: (col[c], row[c]) for c in nodes}


def chain_diagram(ident: str, nodes: Sequence[ChainNode], leads_to: Mapping[str, Sequence[str]],
                  questions: Mapping[str, Sequence[str]], weakest: str | None, *,
                  then_label: str | None = None, title: str = "", desc: str = "") -> str:
    """The claim chain, left to right: each claim a box coloured by its support band and
    labelled with its score and certainty (and its earlier score when ``then_label`` is
    given); ``weakest`` outlined and tagged; ``questions`` edges dashed. Each box links to
    ``#claim-<id>``."""
    ids = [n.id for n in nodes]
    pos = chain_layout(ids, leads_to, questions)
    bw, bh, gx, gy, pad = 184.0, 92.0 if then_label else 78.0, 56.0, 26.0, 14.0
    rows = [r for _c, r in pos.values()] or [0.0]
    rmin = min(rows)
    ncols = max((c for c, _r in pos.values()), default=0) + 1
    w = pad * 2 + ncols * bw + (ncols - 1) * gx
    h = pad * 2 + 18 + (max(rows) - rmin) * (bh + gy) + bh

    def box(c: str) -> tuple[float, float]:
        col, r = pos[c]
        return pad + col * (bw + gx), pad + 18 + (r - rmin) * (bh + gy)

    out = [_open(ident, w, h, title, desc, "chain"),
           '<defs><marker id="' + ident + '-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0L10,5L0,10z" fill="#444"/></marker></defs>']
    for src in ids:
        for dst in leads_to.get(src, ()):
            if dst in pos:
                out.append(_edge(ident, box(src), box(dst), bw, bh, dashed=False))
        for dst in questions.get(src, ()):
            if dst in pos:
                out.append(_edge(ident, box(src), box(dst), bw, bh, dashed=True))
    for n in nodes:
        out.append(_node(n, *box(n.id), bw, bh, n.id == weakest, then_label))
    out.append("</svg>")
    return "".join(out)


def _edge(ident: str, a: tuple[float, float], b: tuple[float, float], bw: float, bh: float,
          dashed: bool) -> str:
    (ax, ay), (bx, by) = a, b
    if bx > ax:  # forward: right side to left side
        x1, y1, x2, y2 = ax + bw, ay + bh / 2, bx, by + bh / 2
    else:  # backward (a "questions" edge): left side to right side
        x1, y1, x2, y2 = ax, ay + bh / 2, bx + bw, by + bh / 2
    mid = (x1 + x2) / 2
    path = f"M{x1:.1f},{y1:.1f}C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    style = ' stroke-dasharray="6 4"' if dashed else ""
    label = (f'<text class="edge-label" x="{mid:.1f}" y="{(y1 + y2) / 2 - 5:.1f}" '
             f'text-anchor="middle">questions</text>') if dashed else ""
    return (f'<path class="edge{" edge-questions" if dashed else ""}" d="{path}" fill="none" '
            f'stroke="#444" stroke-width="1.6"{style} marker-end="url(#{ident}-arrow)"/>{label}')


def _wrap(text: str, width: int, lines: int) -> list[str]:
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][:width - 1].rstrip() + "…"
    return out


def _node(n: ChainNode, x: float, y: float, bw: float, bh: float, weakest: bool,
          then_label: str | None) -> str:
    band, fill = support_band(n.score)
    stroke, sw = (WEAKEST_COLOUR, 4.0) if weakest else ("#333", 1.2)
    label = (f"{n.id}: score {n.score:.2f}, {band} support, certainty {n.certainty}"
             + (", the weakest link" if weakest else "") + f". {n.summary}")
    parts = [f'<a href="#claim-{_e(n.id)}" class="node{" weakest" if weakest else ""}" '
             f'aria-label="{_e(label)}" data-claim="{_e(n.id)}">',
             f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:g}" height="{bh:g}" rx="7" '
             f'fill="{fill}" stroke="{stroke}" stroke-width="{sw:g}"/>',
             f'<text class="node-id" x="{x + 9:.1f}" y="{y + 19:.1f}">{_e(n.id)}</text>',
             f'<text class="node-score" x="{x + bw - 9:.1f}" y="{y + 19:.1f}" '
             f'text-anchor="end">{n.score:.2f} · {band}</text>']
    for i, line in enumerate(_wrap(n.summary, 26, 2)):
        parts.append(f'<text class="node-text" x="{x + 9:.1f}" y="{y + 37 + i * 14:.1f}">'
                     f'{_e(line)}</text>')
    parts.append(f'<text class="node-cert" x="{x + 9:.1f}" y="{y + 71:.1f}">certainty: '
                 f'{_e(n.certainty)}</text>')
    if then_label and n.then is not None:
        parts.append(f'<text class="node-then" x="{x + 9:.1f}" y="{y + 85:.1f}">'
                     f'{_e(then_label)}: {n.then:.2f}</text>')
    if weakest:
        parts.append(f'<rect x="{x + bw - 96:.1f}" y="{y - 11:.1f}" width="92" height="18" '
                     f'rx="9" fill="{WEAKEST_COLOUR}"/><text class="weakest-tag" '
                     f'x="{x + bw - 50:.1f}" y="{y + 2:.1f}" text-anchor="middle" '
                     f'fill="#fff">weakest link</text>')
    parts.append("</a>")
    return "".join(parts)
