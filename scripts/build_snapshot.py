"""Build the bundled offline snapshot from the curated bibliography.

    python scripts/build_snapshot.py ../shared/evidence/ketamine-bibliography.json \
        evtrack/snapshot/ketamine-bibliography.xml

The snapshot holds bibliographic facts only (PMID, title, authors, journal, year, volume, pages,
DOI, PMC id, publication types) — no abstracts, no curator prose — written as PubMed EFetch XML
so that the offline source reads it with the same parser as anything fetched from NCBI.
Papers without a PMID cannot be PubMed records and are left out (the claims file still lists
them by DOI).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from evtrack.pubmed_xml import write_records
from evtrack.records import Author, PaperRecord, PubDate, PublicationType

# The bibliography's free-text study descriptions → NLM publication type names.
# Descriptions that are not an NLM type (e.g. "dose-ranging") add nothing.
PUB_TYPES = {
    "journal article": "Journal Article",
    "randomized controlled trial": "Randomized Controlled Trial",
    "randomized crossover trial (interim analysis)": "Randomized Controlled Trial",
    "meta-analysis": "Meta-Analysis",
    "systematic review": "Systematic Review",
    "review": "Review",
    "comment": "Comment",
    "commentary (news & views)": "Comment",
    "letter (correspondence with data)": "Letter",
    "research letter": "Letter",
    "phase iib": "Clinical Trial, Phase II",
}


def author(name: str) -> Author:
    # "Zarate CA Jr" → last name Zarate, initials CA (the suffix is not part of the initials)
    parts = name.split()
    if parts and parts[-1] in {"Jr", "Sr", "II", "III"}:
        parts = parts[:-1]
    if len(parts) >= 2 and parts[-1].isupper():
        return Author(last_name=" ".join(parts[:-1]), initials=parts[-1])
    return Author(last_name=name)


def record(entry: dict) -> PaperRecord:
    volume, issue = entry.get("volume"), None
    if volume and (m := re.fullmatch(r"(\w+)\((\w+)\)", volume)):
        volume, issue = m.group(1), m.group(2)
    types = [PUB_TYPES[t.lower()] for t in entry.get("pub_types", []) if t.lower() in PUB_TYPES]
    if "Journal Article" not in types:
        types.insert(0, "Journal Article")
    return PaperRecord(
        pmid=entry["pmid"],
        title=entry["title"],
        journal=entry["journal"],
        journal_iso=entry["journal"],
        volume=volume,
        issue=issue,
        pages=entry.get("pages"),
        pub_date=PubDate(year=entry["year"]),
        authors=tuple(author(a) for a in entry.get("authors", [])),
        doi=entry.get("doi"),
        pmcid=entry.get("pmcid"),
        publication_types=tuple(PublicationType(name=t) for t in dict.fromkeys(types)),
    )


def main(src: str, dest: str) -> None:
    entries = json.loads(Path(src).read_text(encoding="utf-8"))
    records = sorted((record(e) for e in entries if e.get("pmid")), key=lambda r: int(r.pmid))
    with open(dest, "wb") as out:
        n = write_records(records, out)
    print(f"wrote {n} records to {dest}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
