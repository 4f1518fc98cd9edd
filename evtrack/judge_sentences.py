"""Title and abstract as role-tagged sentences, for the stance judge.

Sentences are split verbatim: the splitter does not break after abbreviations ("et al.", "e.g.",
"i.e.", "vs.", "Fig.", …), inside decimals ("0.05"), or before a lowercase word unless it looks like
a gene name ("mTOR", "eEF2"). Each sentence gets a role: its structured-abstract label
(BACKGROUND/OBJECTIVE → background, METHODS → methods, RESULTS, CONCLUSIONS), or, in an
unstructured abstract, background for an opening sentence without "we/here/this study",
conclusion for the last, body otherwise; lexical cues ("has been reported", "we examined
whether", "in conclusion") override the position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evtrack.records import PaperRecord


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



def text_sentences(sentences: Sequence[str], title: str | None = None) -> list[Sentence]:
    """Role-tagged sentences of an abstract already split into sentences (SciFact's form).

    The title, when given, comes first with index 0; abstract sentences keep their order.
    """
    out = [Sentence(t, "title", i) for i, t in enumerate(split_sentences(title or ""))]
    n = len(sentences)
    for pos, text in enumerate(sentences):
        if pos == n - 1 and pos > 0:
            role = "conclusion"
        elif pos == 0 and n >= 3 and not _OWN_WORK_CUE.search(text):
            role = "background"
        else:
            role = "body"
        if _BACKGROUND_CUE.search(text):
            role = "background"
        elif role == "body" and _CONCLUSION_CUE.search(text):
            role = "conclusion"
        out.append(Sentence(text, role, len(out)))
    return out
