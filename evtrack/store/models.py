"""The evidence ledger's schema as SQLAlchemy 2 typed models.

Constraints live here so the database enforces them: one row per PMID, one link per
claim–paper pair, one provenance row per (link, how it was found). The Alembic migrations in
``db/migrations`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RefreshRun(Base):
    """One ``evtrack refresh`` or ``evtrack ingest``: when, from where, what it cost and found."""

    __tablename__ = "refresh_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # refresh | ingest
    source: Mapped[str] = mapped_column(String(32))  # ncbi | offline | file
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    requests_json: Mapped[str] = mapped_column(Text, default="{}")  # {"esearch": 9, ...}
    records_new: Mapped[int] = mapped_column(Integer, default=0)
    records_updated: Mapped[int] = mapped_column(Integer, default=0)
    links_new: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Paper(Base):
    __tablename__ = "papers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pmid: Mapped[str] = mapped_column(String(12), unique=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    abstract_json: Mapped[str] = mapped_column(Text, default="[]")  # [[label, category, text], ...]
    journal: Mapped[str | None] = mapped_column(Text)
    journal_iso: Mapped[str | None] = mapped_column(Text)
    volume: Mapped[str | None] = mapped_column(String(64))
    issue: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[str | None] = mapped_column(String(64))
    pub_year: Mapped[int | None] = mapped_column(Integer, index=True)
    pub_month: Mapped[int | None] = mapped_column(Integer)
    pub_day: Mapped[int | None] = mapped_column(Integer)
    pub_season: Mapped[str | None] = mapped_column(String(32))
    medline_date: Mapped[str | None] = mapped_column(String(64))
    doi: Mapped[str | None] = mapped_column(String(255), index=True)
    pmcid: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    keywords_json: Mapped[str] = mapped_column(Text, default="[]")
    other_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str | None] = mapped_column(String(32))
    date_revised: Mapped[str | None] = mapped_column(String(10))
    is_retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    design_tier: Mapped[str] = mapped_column(String(32), default="other")
    design_reason: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the parsed record: a re-fetch that changed nothing rewrites nothing
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # where the current version came from
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))
    updated_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PaperAuthor(Base):
    __tablename__ = "paper_authors"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_name: Mapped[str | None] = mapped_column(Text)
    fore_name: Mapped[str | None] = mapped_column(Text)
    initials: Mapped[str | None] = mapped_column(String(32))
    collective_name: Mapped[str | None] = mapped_column(Text)
    affiliations_json: Mapped[str] = mapped_column(Text, default="[]")
    orcid: Mapped[str | None] = mapped_column(String(64))


class PaperMesh(Base):
    __tablename__ = "paper_mesh"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    descriptor: Mapped[str] = mapped_column(Text, index=True)
    descriptor_ui: Mapped[str | None] = mapped_column(String(16))
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    qualifiers_json: Mapped[str] = mapped_column(Text, default="[]")  # [[name, ui, major], ...]


class PaperPubType(Base):
    __tablename__ = "paper_pub_types"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    ui: Mapped[str | None] = mapped_column(String(16))


class PaperCorrection(Base):
    """CommentsCorrections: retractions, errata, comments, expressions of concern."""

    __tablename__ = "paper_corrections"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref_type: Mapped[str] = mapped_column(String(64))
    ref_source: Mapped[str | None] = mapped_column(Text)
    ref_pmid: Mapped[str | None] = mapped_column(String(12), index=True)


class PaperReference(Base):
    """The paper's own reference list (what it cites), where PubMed has it."""

    __tablename__ = "paper_references"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    citation: Mapped[str] = mapped_column(Text)
    ref_pmid: Mapped[str | None] = mapped_column(String(12), index=True)
    doi: Mapped[str | None] = mapped_column(String(255))
    pmcid: Mapped[str | None] = mapped_column(String(32))


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_set: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    relation: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(Text)
    context_json: Mapped[str] = mapped_column(Text, default="{}")
    source_file: Mapped[str] = mapped_column(Text)


class ClaimQuery(Base):
    __tablename__ = "claim_queries"
    __table_args__ = (UniqueConstraint("claim_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    term: Mapped[str] = mapped_column(Text)
    last_count: Mapped[int | None] = mapped_column(Integer)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))


class ClaimEdge(Base):
    __tablename__ = "claim_edges"
    from_claim: Mapped[str] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True)
    to_claim: Mapped[str] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # leads_to | questions


class CitedReference(Base):
    """A reference the article itself cites for a claim, and what resolving it found."""

    __tablename__ = "cited_references"
    __table_args__ = (UniqueConstraint("claim_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    citation: Mapped[str] = mapped_column(Text)  # "Seamans J. Nat Chem Biol 2008;4:91"
    given_pmid: Mapped[str | None] = mapped_column(String(12))
    given_pmid_status: Mapped[str] = mapped_column(String(16))  # verified | unverified
    doi: Mapped[str | None] = mapped_column(String(255))
    resolved_pmid: Mapped[str | None] = mapped_column(String(12))
    # Free text without a width (migration 0003): PostgreSQL enforces VARCHAR widths.
    resolution: Mapped[str] = mapped_column(Text, default="pending")
    # pending | found | in_store | NOT_FOUND | AMBIGUOUS | … (ECitMatch's words)


class CuratedRef(Base):
    """A curator's stance on a paper for a claim, as the claims file gives it.

    Kept even when the paper has no PMID or is not in the store, so reports can show it.
    """

    __tablename__ = "curated_refs"
    __table_args__ = (UniqueConstraint("claim_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(Text)
    pmid: Mapped[str | None] = mapped_column(String(12))
    pmid_status: Mapped[str] = mapped_column(String(16))
    doi: Mapped[str | None] = mapped_column(String(255))
    stance: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    design: Mapped[str | None] = mapped_column(String(32))


class Link(Base):
    """A claim–paper link. Its provenance rows say how the paper was found."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("claim_id", "paper_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)


class LinkProvenance(Base):
    __tablename__ = "link_provenance"
    link_id: Mapped[int] = mapped_column(
        ForeignKey("links.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # cited | query | elink_refs | elink_citedin | curated
    # query name, source PMID, curator's label …: free text, no width (migration 0003)
    detail: Mapped[str] = mapped_column(Text, primary_key=True)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_runs.id"))


class Judgement(Base):
    """A machine's or the curated file's stance on a link. Refresh may replace these."""

    __tablename__ = "judgements"
    __table_args__ = (UniqueConstraint("link_id", "method"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(64))  # cue-rules | curated-file
    version: Mapped[str] = mapped_column(String(64))
    stance: Mapped[str] = mapped_column(String(16))
    rationale: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    decided_by: Mapped[str] = mapped_column(Text)  # "judge cue-rules 1" / "curator (ketamine.toml)"
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Verdict(Base):
    """A researcher's verdict. Overrides every judgement; no refresh ever writes this table."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    stance: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)



class ClaimSnapshot(Base):
    """A claim's figures as a refresh left them, so ``evtrack diff`` can say what changed since.

    ``links_json`` keeps each linked paper's state at the time — stance, tier, decider,
    retracted, [notice, …] (RetractionIn, ErratumIn, ExpressionOfConcernIn, …) — as
    :func:`evtrack.changes.links_json` writes it: the claim's distinct states once, each PMID
    with the position of its own.
    """

    __tablename__ = "claim_snapshots"
    __table_args__ = (UniqueConstraint("run_id", "claim_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"))
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(DateTime)
    score: Mapped[float] = mapped_column(Float)
    support: Mapped[float] = mapped_column(Float)
    contradiction: Mapped[float] = mapped_column(Float)
    certainty: Mapped[str] = mapped_column(String(16))
    independent_groups: Mapped[int] = mapped_column(Integer)
    links_json: Mapped[str] = mapped_column(Text)


class LedgerState(Base):
    """One row: the ledger's generation, bumped by database triggers on every write to a table
    the support report reads (migration 0004). Equal generations, equal report."""

    __tablename__ = "ledger_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class ReportCache(Base):
    """The summary report as computed at ``generation`` (:mod:`evtrack.report_cache`), one row
    per key (the priors, evtrack's version and the cache's format)."""

    __tablename__ = "report_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    payload: Mapped[str] = mapped_column(Text)


class ClaimMark(Base):
    """Per claim, the ledger generation of the newest write that can change its report
    (migration 0006's triggers): a kept part older than its claim's mark is rebuilt."""

    __tablename__ = "claim_marks"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class ReportPart(Base):
    """One claim's part of the kept summary report, read in a snapshot at ``generation`` and
    scored with the judges whose fingerprint is ``judges`` (:mod:`evtrack.report_cache`)."""

    __tablename__ = "report_parts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    judges: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)


class ExportPart(Base):
    """One claim's rows of links.csv as ``evtrack export`` wrote them (zlib-compressed UTF-8,
    ``rows`` of them), read in a snapshot at ``generation`` with the judges whose fingerprint
    is ``judges``: kept and checked like its :class:`ReportPart` (:mod:`evtrack.report_cache`)."""

    __tablename__ = "export_parts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    judges: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
