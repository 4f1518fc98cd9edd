"""Independent groups: papers whose author lists overlap are one line of evidence, not several.

Ten papers from one lab share its methods, its animals and its blind spots; a replication means
something only when somebody else did it. Authors are compared as *last name + first initial*
with accents and case folded ("Réus GZ" and "Reus G" are one author). Two papers are linked
when they share at least ``min_shared`` authors — or, for a paper with fewer authors than that,
all of its authors — and a group is a connected component of those links (union–find).

Why two shared authors and not one: a single shared name is weak evidence of a common lab
(common surnames such as Li Y, Wang J or Zhang L collide across unrelated labs, and one
collaborator can sit on papers of many groups), whereas two people publishing together again is
the usual signature of one lab or one standing collaboration. Why an overlap count and not a
Jaccard ratio: a five-author lab paper and a forty-author multicentre trial led by the same two
people have a tiny Jaccard index yet are not independent. Components are transitive, so a
collaboration paper can join two labs into one group; that errs towards "less independent",
the conservative direction for a support score.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations


def author_name(last_name: str | None, fore_name: str | None = None,
                initials: str | None = None, collective_name: str | None = None) -> str | None:
    """An author as evtrack compares them: ``"Monteggia L"``; None when there is no name.

    A collective author ("APA Council of Research …") is kept whole: the same consortium on
    two papers is a shared author too.
    """
    if last_name and last_name.strip():
        first = (initials or fore_name or "").strip()[:1]
        return f"{last_name.strip()} {first.upper()}".strip()
    if collective_name and collective_name.strip():
        return collective_name.strip()
    return None


@lru_cache(maxsize=1 << 16)  # names recur across papers and claims; folding them is not free
def author_key(name: str) -> str:
    """The folded form used for matching: no accents, no case, no punctuation."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).strip()


@dataclass(frozen=True)
class AuthorGroup:
    """Papers that count as one independent line of evidence."""

    key: str  # the group's first PMID (numerically smallest): stable as long as that paper is in
    pmids: tuple[str, ...]  # numerically sorted
    shared_authors: tuple[str, ...]  # authors on two or more of its papers, most frequent first

    @property
    def label(self) -> str:
        """``"Kavalali E, Monteggia L"``; the PMID for a paper on its own."""
        return group_label(self.key, self.shared_authors)


def _pmid_order(pmid: str) -> tuple[int, str]:
    return (len(pmid), pmid)  # numeric order for digit strings without parsing them


def independent_groups(papers: Mapping[str, Iterable[str]],
                       min_shared: int = 2) -> list[AuthorGroup]:
    """Partition ``papers`` (PMID → author names as :func:`author_name` gives them) into
    independent groups.

    >>> groups = independent_groups({"1": ["Kavalali E", "Monteggia L"],
    ...                              "2": ["Monteggia L", "Kavalali E", "Autry A"],
    ...                              "3": ["Duman RS"]})
    >>> [g.pmids for g in groups]
    [('1', '2'), ('3',)]
    """
    if min_shared < 1:
        raise ValueError("min_shared must be at least 1")
    authors = {pmid: {k for k in map(author_key, papers[pmid]) if k} for pmid in papers}

    parent = {p: p for p in authors}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    # Count shared authors only for pairs that share at least one (an inverted index), so a
    # claim with hundreds of papers does not compare every pair.
    by_author: dict[str, list[str]] = defaultdict(list)
    for pmid, keys in authors.items():
        for k in keys:
            by_author[k].append(pmid)
    shared: Counter[tuple[str, str]] = Counter()
    for pmids in by_author.values():
        if len(pmids) < 2:  # most authors are on one paper of a claim's
            continue
        for a, b in combinations(sorted(pmids, key=_pmid_order), 2):
            shared[(a, b)] += 1
    for (a, b), n in shared.items():
        if n >= min(min_shared, len(authors[a]), len(authors[b])):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb, key=_pmid_order)] = min(ra, rb, key=_pmid_order)

    members: dict[str, list[str]] = defaultdict(list)
    for pmid in authors:
        members[find(pmid)].append(pmid)
    # One paper shares nobody with itself, and most groups are one paper.
    groups = [AuthorGroup(key=root, pmids=tuple(sorted(pmids, key=_pmid_order)),
                          shared_authors=shared_authors({p: papers[p] for p in pmids}))
              if len(pmids) > 1 else AuthorGroup(key=root, pmids=(root,), shared_authors=())
              for root, pmids in members.items()]
    groups.sort(key=lambda g: _pmid_order(g.key))
    return groups


def shared_authors(papers: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Authors on two or more of ``papers``, most frequent first (first spelling met)."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for pmid in sorted(papers, key=_pmid_order):
        keys = set()
        for name in papers[pmid]:
            k = author_key(name)
            if k:
                keys.add(k)
                shown.setdefault(k, name)
        counts.update(keys)
    common = sorted((k for k, n in counts.items() if n >= 2), key=lambda k: (-counts[k], shown[k]))
    return tuple(shown[k] for k in common)


def group_label(key: str, shared: Iterable[str]) -> str:
    """``"Kavalali E, Monteggia L"`` (three names at most); ``"PMID …"`` for a lone paper."""
    names = list(shared)
    if not names:
        return f"PMID {key}"
    more = len(names) - 3
    return ", ".join(names[:3]) + (f" +{more}" if more > 0 else "")
