"""The ``evtrack`` command line: each command parses options, calls the library, prints.

User mistakes surface as ``Error: …`` (exit 1; usage mistakes exit 2). Library errors are
:class:`~evtrack.errors.EvtrackError` and are translated here, once.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from evtrack import __version__
from evtrack.claims import ClaimSet, load_claims
from evtrack.config import Settings, resolve_settings
from evtrack.errors import EvtrackError
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.sources import EvidenceSource
from evtrack.verdicts import ERROR_TAGS, VERDICT_STANCES

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _errors_to_click(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EvtrackError as exc:
            raise click.ClickException(str(exc)) from exc
    return wrapper  # type: ignore[return-value]


class App:
    """What every command gets: resolved settings, and lazily the store and claims."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from evtrack.store.db import open_store
            self._engine = open_store(self.settings.db_url)
        return self._engine

    def claims(self) -> ClaimSet:
        paths = self.settings.claims_paths or (default_claims_dir(),)
        return load_claims(list(paths))

    def source(self, extra_dirs: Sequence[str] = ()) -> EvidenceSource:
        if self.settings.online:
            from evtrack.entrez import NcbiSource
            return NcbiSource(email=self.settings.email or "", api_key=self.settings.api_key,
                              tool=self.settings.tool, base_url=self.settings.eutils_url)
        from evtrack.offline import OfflineSource
        # The stored papers are searched in the database, not loaded (any size of store).
        return OfflineSource.for_store(self.engine, [*snapshot_files(), *extra_dirs])


pass_app = click.make_pass_decorator(App)


def _progress(label: str, items: Sequence[T], /) -> Iterator[T]:
    if not items:
        return
    with click.progressbar(items, label=f"{label:<10}", file=sys.stderr, show_pos=True,
                           width=30) as bar:
        yield from bar


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evtrack")
@click.option("--db", envvar="EVTRACK_DB", metavar="URL|PATH",
              help="Database: a SQLAlchemy URL or a SQLite file path "
                   "[env EVTRACK_DB; default db/evtrack.sqlite].")
@click.option("--claims", "claims", multiple=True, metavar="PATH",
              help="Claims file or directory (repeatable) [default: the bundled ketamine set].")
@click.option("--email", envvar="NCBI_EMAIL", help="Your email for NCBI [env NCBI_EMAIL]. "
              "Without it evtrack works offline.")
@click.option("--api-key", envvar="NCBI_API_KEY", help="NCBI API key [env NCBI_API_KEY].")
@click.option("--eutils-url", envvar="EVTRACK_EUTILS_URL", metavar="URL",
              help="E-utilities base URL: a mirror, a proxy or a local stand-in "
                   "[env EVTRACK_EUTILS_URL; default NCBI's].")
@click.pass_context
def cli(ctx: click.Context, db: str | None, claims: tuple[str, ...], email: str | None,
        api_key: str | None, eutils_url: str | None) -> None:
    """evtrack: a living evidence ledger for mechanistic claims.

    \b
    Example (offline, bundled snapshot, default database):
      evtrack refresh && evtrack report && evtrack export --out reports/
    """
    try:
        settings = resolve_settings(db=db, email=email, api_key=api_key, claims=claims,
                                    eutils_url=eutils_url)
    except EvtrackError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.obj = App(settings)


@cli.command()
@pass_app
@_errors_to_click
def init(app: App) -> None:
    """Create or migrate the database.

    \b
    Example:
      evtrack --db sqlite:///lab.sqlite init
    """
    from evtrack.store.db import current_revision, display_url
    rev = current_revision(app.engine)
    click.echo(f"Database ready at {display_url(app.settings.db_url)} (schema {rev}).")


@cli.command()
@click.option("--offline", is_flag=True, help="Use the bundled snapshot even with an NCBI email.")
@click.option("--source-dir", multiple=True, type=click.Path(exists=True), metavar="PATH",
              help="Offline only: also search these PubMed XML files/directories.")
@click.option("--no-links", is_flag=True, help="Do not follow ELink refs/cited-by of cited papers.")
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="If a refresh or ingest is running on this database, wait up to SECONDS for it "
                   "[default: refuse at once].")
@click.option("--judge", type=click.Choice(["lexical", "embed"]), default="lexical",
              envvar="EVTRACK_JUDGE", show_default=True, show_envvar=True,
              help="Stance judge: lexical (built in) or embed (the evtrack[embed] extra, "
                   "docs/judge.md).")
@pass_app
@_errors_to_click
def refresh(app: App, offline: bool, source_dir: tuple[str, ...], no_links: bool,
            wait: float, judge: str) -> None:
    """Find, fetch, store, link and judge the evidence for every claim.

    Online with an NCBI email (--email or NCBI_EMAIL); otherwise on the bundled snapshot.

    \b
    Example:
      NCBI_EMAIL=you@lab.org evtrack refresh
      evtrack refresh --offline --source-dir ~/pubmed-xml/
    """
    from evtrack.refresh import refresh as run_refresh
    if offline and not app.settings.offline:
        app.settings = dataclasses.replace(app.settings, offline=True)
    if source_dir and app.settings.online:
        raise click.UsageError("--source-dir is for offline refreshes; add --offline")
    if judge == "embed":
        from evtrack.judge_embed import EMBED_METHOD, load_embed_model, require
        require()
        click.echo(f"Judging with the embedding judge ({EMBED_METHOD} "
                   f"{load_embed_model().version}, {load_embed_model().encoder}).", err=True)
    claim_set = app.claims()
    source = app.source(source_dir)
    if source.name == "offline":
        why = "--offline" if offline else "no NCBI email set"
        click.echo(f"Offline ({why}): searching the bundled snapshot"
                   f"{' and ' + ', '.join(source_dir) if source_dir else ''} "
                   f"plus papers already stored ({len(source)} records).", err=True)  # type: ignore[arg-type]
    summary = run_refresh(app.engine, claim_set, source, follow_links=not no_links,
                          step=_progress, wait=wait,
                          notify=lambda message: click.echo(message, err=True), judge=judge)
    click.echo(_summary_text(summary))


def _summary_text(s: Any) -> str:
    reqs = ", ".join(f"{k} {v}" for k, v in sorted(s.requests.items())) or "none"
    kind = "requests to NCBI" if s.source == "ncbi" else "local look-ups"
    lines = [f"Refresh run {s.run_id} ({s.source}) done: {kind}: {reqs}.",
             f"Records: {s.counts.new} new, {s.counts.updated} updated, "
             f"{s.counts.unchanged} unchanged. Links: {s.links_new} new.",
             f"{'claim':<6}{'hits':>6}{'linked':>8}{'new':>6}"]
    for cid, st in s.per_claim.items():
        lines.append(f"{cid:<6}{sum(st.query_hits.values()):>6}{st.linked:>8}{st.links_new:>6}")
    unresolved = [c for c in s.citations if c[3] is None]
    for cid, key, status, _p in unresolved:
        lines.append(f"Citation {key} ({cid}) not resolved: {status}")
    lines.extend(f"Note: {w}" for w in s.warnings)
    return "\n".join(lines)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="If a refresh or ingest is running on this database, wait up to SECONDS for "
                   "it [default: refuse at once].")
@pass_app
@_errors_to_click
def ingest(app: App, paths: tuple[str, ...], wait: float) -> None:
    """Import PubMed EFetch XML files or directories into the database.

    \b
    Example:
      evtrack ingest ~/Downloads/pubmed_result.xml ~/pubmed-xml/
    """
    from evtrack.ingest import ingest_files
    result = ingest_files(app.engine, paths, step=_progress, wait=wait,
                          notify=lambda message: click.echo(message, err=True))
    c = result.counts
    click.echo(f"Ingest run {result.run_id}: {result.files} files, {c.new} new, {c.updated} "
               f"updated, {c.unchanged} unchanged"
               + (f", {c.stale} older than the stored revision (kept out)" if c.stale else "")
               + " records.")
    for path, message in result.failures:
        click.echo(f"Error: {message}" if str(path) in message else f"Error: {path}: {message}",
                   err=True)
    if result.failures:
        raise SystemExit(1)


@cli.command()
@pass_app
@_errors_to_click
def status(app: App) -> None:
    """Show what the database holds and the last runs.

    \b
    Example:
      evtrack status
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from evtrack.store.ledger import count_rows
    from evtrack.store.models import RefreshRun
    with Session(app.engine) as session:
        counts = count_rows(session.connection())
        runs = list(session.scalars(select(RefreshRun).order_by(RefreshRun.id.desc()).limit(5)))
    from evtrack.store.db import display_url
    click.echo(f"Database: {display_url(app.settings.db_url)}")
    click.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for r in runs:
        when = f"{r.started_at:%Y-%m-%d %H:%M}"
        click.echo(f"run {r.id} {r.kind} {r.source} {when} {r.status}: {r.records_new} new, "
                   f"{r.records_updated} updated, {r.links_new} links new"
                   + (f" — {r.error}" if r.error else ""))


@cli.group()
def claims() -> None:
    """List or show the claims in the claims files."""


@claims.command("list")
@pass_app
@_errors_to_click
def claims_list(app: App) -> None:
    """List the claims.

    \b
    Example:
      evtrack claims list
    """
    for c in app.claims().claims:
        click.echo(f"{c.id:<6}{c.text}")


@claims.command("show")
@click.argument("claim_id")
@pass_app
@_errors_to_click
def claims_show(app: App, claim_id: str) -> None:
    """Show one claim: structure, aliases, queries, citations, curated evidence.

    \b
    Example:
      evtrack claims show C6
    """
    try:
        c = app.claims().get(claim_id)
    except KeyError:
        raise click.ClickException(f"no claim {claim_id!r} (see `evtrack claims list`)") from None
    click.echo(f"{c.id}: {c.text}\n  {c.subject} —{c.relation}→ {c.object}  ({c.source_file})")
    for k, v in c.context.items():
        click.echo(f"  context {k}: {v}")
    for entity, names in c.aliases.items():
        click.echo(f"  aliases of {entity}: {', '.join(names)}")
    for q in c.queries:
        click.echo(f"  query {q.name}: {q.term}")
    for t in c.leads_to:
        click.echo(f"  leads to {t}")
    for t in c.questions:
        click.echo(f"  questions {t}")
    for r in c.cited:
        click.echo(f"  cited: {r.author} {r.journal} {r.year};{r.volume}:{r.first_page} "
                   f"PMID {r.pmid or '?'} ({r.pmid_status})")
    for e in c.curated:
        click.echo(f"  curated {e.stance}: {e.label} PMID {e.pmid or '?'} — {e.note}")


# The support score's priors are data (docs/scoring.md): another file is another scorer.
_PRIORS_OPTION = click.option(
    "--priors", type=click.Path(exists=True, dir_okay=False), metavar="TOML",
    help="Score priors file to use instead of the packaged evtrack/data/score_priors.toml.")


class _RunOrDate(click.ParamType):
    """``--since``: a refresh run number (``3``) or a day (``2026-01-31``)."""

    name = "RUN|DATE"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int | date:
        if isinstance(value, int | date):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is neither a run number nor a date (YYYY-MM-DD)", param, ctx)


_SINCE_HELP = ("Compare with the state this refresh run left, or with the start of this day "
               "[default: the state before the last refresh].")


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)  # reports/ on a fresh clone
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("--format", "fmt", default="table", show_default=True,
              type=click.Choice(["table", "json", "csv", "html", "ris", "bibtex"]),
              help="html: one self-contained page with the chain diagram and plots; ris, "
                   "bibtex: the evidence for a reference manager, stance and tier in the notes.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--claim", "claim_ids", multiple=True, metavar="ID", help="Only these claims.")
@click.option("--summary", is_flag=True, help="Table format: the summary table only.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Count only evidence published by DATE (YYYY-MM-DD). With --format html the "
                   "page shows both: now, and as of DATE [html default: the article's date].")
@click.option("--since", type=_RunOrDate(), metavar="RUN|DATE",
              help="html: the \"what changed\" section's baseline. " + _SINCE_HELP)
@_PRIORS_OPTION
@pass_app
@_errors_to_click
def report(app: App, fmt: str, output: str | None, claim_ids: tuple[str, ...],
           summary: bool, as_of: datetime | None, since: int | date | None,
           priors: str | None) -> None:
    """Report how much support each claim has: score, certainty, independent groups, the
    papers that moved the score, retractions, the claim chain's weakest link, and whether
    the article's citations support the claims they are cited for.

    \b
    Example:
      evtrack report
      evtrack report --format html --output reports/ketamine.html
      evtrack report --as-of 2014-10-04 --summary
      evtrack report --format ris --claim C6 --output c6.ris
    """
    from evtrack.report import build_report
    from evtrack.scoring import load_priors
    ids, when = list(claim_ids) or None, as_of.date() if as_of else None
    scoring = load_priors(Path(priors)) if priors else None
    if fmt == "html":
        from evtrack.html_report import build_html
        _emit(build_html(app.engine, app.claims(), claim_ids=ids, as_of=when, since=since,
                         priors=scoring), output)
        return
    if fmt in ("table", "csv") and not ids and when is None:
        # Every claim, now: kept in the store until the ledger changes (evtrack.report_cache).
        from evtrack.report_cache import rendered_summary
        _emit(rendered_summary(app.engine, fmt, details=not summary, priors=scoring), output)
        return
    # The table and the claims CSV need no link beyond those they name: SQL aggregates count
    # the rest (evtrack.store.summary). JSON and reference lists list every link.
    built = build_report(app.engine, ids, priors=scoring, as_of=when,
                         full=fmt not in ("table", "csv"))
    if fmt in ("ris", "bibtex"):
        from evtrack.bibexport import load_entries, render_references
        _emit(render_references(load_entries(app.engine, built), fmt), output)
    else:
        from evtrack.render import render
        _emit(render(built, fmt, details=not summary), output)


@cli.command()
@click.option("--since", type=_RunOrDate(), metavar="RUN|DATE", help=_SINCE_HELP)
@click.option("--claim", "claim_ids", multiple=True, metavar="ID", help="Only these claims.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--summary", is_flag=True, help="Table format: one headline per claim only.")
@pass_app
@_errors_to_click
def diff(app: App, since: int | date | None, claim_ids: tuple[str, ...], fmt: str,
         output: str | None, summary: bool) -> None:
    """What changed since the last refresh, a run or a date: new papers per claim by stance
    and design tier, stance changes, score and certainty changes, new retractions and
    correction notices, and researchers' verdicts added.

    \b
    Example:
      evtrack refresh && evtrack diff
      evtrack diff --since 3 --claim C6
      evtrack diff --since 2026-01-01 --format csv --output changes.csv
    """
    from evtrack.changes import changes_text, diff_since
    from evtrack.csvsafe import to_csv_text
    from evtrack.export import changes_frame
    changes = diff_since(app.engine, since, claim_ids=list(claim_ids) or None)
    _emit(changes_text(changes, details=not summary) if fmt == "table"
          else to_csv_text(changes_frame(changes)), output)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports",
              show_default=True, help="Directory for the files.")
@_PRIORS_OPTION
@click.option("--csv-only", is_flag=True,
              help="Only claims.csv and links.csv (the same files), from the kept summary "
                   "report with the links read straight from the store: for a large store, "
                   "a fraction of the full export's time and memory.")
@pass_app
@_errors_to_click
def export(app: App, out_dir: str, priors: str | None, csv_only: bool) -> None:
    """Write the report as files: claims.csv (one row per claim), links.csv (one per link),
    verdicts.csv (the audit trail: one row per verdict, with the stance it overrode),
    citations.csv (does each cited paper support its claim?), changes.csv (what the last
    refresh changed), and evidence.ris / evidence.bib for reference managers.

    \b
    Example:
      evtrack export --out reports/
      evtrack export --csv-only --out reports/
    """
    from evtrack.export import (
        export_audit_trail,
        export_csv,
        export_review_files,
        export_tables,
    )
    from evtrack.report import build_report
    from evtrack.scoring import load_priors
    from evtrack.verdicts import audit_trail
    chosen = load_priors(Path(priors)) if priors else None
    if csv_only:
        written = export_tables(app.engine, Path(out_dir), chosen)
    else:
        built = build_report(app.engine, priors=chosen)
        written = export_csv(built, Path(out_dir))
        written.append(export_audit_trail(audit_trail(app.engine), Path(out_dir)))
        written += export_review_files(app.engine, built, Path(out_dir))
    for path, n in written:
        click.echo(f"Wrote {path} ({n} {'entries' if path.suffix in ('.ris', '.bib') else 'rows'})")


_REVIEWER_HELP = ("Who is judging [env EVTRACK_REVIEWER; default: git config user.name, "
                  "then the login name].")


@cli.command()
@click.argument("claim_id")
@click.argument("pmid")
@click.option("--stance", type=click.Choice(VERDICT_STANCES), required=True,
              help="irrelevant: the paper does not bear on the claim at all.")
@click.option("--note", help="Why.")
@click.option("--tag", type=click.Choice(ERROR_TAGS, case_sensitive=False),
              help="What the automatic judgement got wrong (INDRA-style error tag).")
@click.option("--reviewer", metavar="NAME", help=_REVIEWER_HELP)
@pass_app
@_errors_to_click
def verdict(app: App, claim_id: str, pmid: str, stance: str, note: str | None, tag: str | None,
            reviewer: str | None) -> None:
    """Record your verdict on a claim–paper link; it overrides the machine, and no refresh
    changes it. Verdicts are never edited: a newer one on the same link wins.

    \b
    Example:
      evtrack verdict C6 21677641 --stance supports --note "BDNF knockouts unresponsive"
      evtrack verdict C3 21867718 --stance irrelevant --tag context_mismatch
    """
    from evtrack.verdicts import record_verdict, resolve_reviewer
    who = resolve_reviewer(reviewer, os.environ, _git_user)
    with app.engine.begin() as conn:
        vid = record_verdict(conn, claim_id, pmid, stance=stance, reviewer=who, note=note,
                             tag=tag)
    click.echo(f"Verdict {vid}: {claim_id} × PMID {pmid} = {stance}"
               + (f" [{tag}]" if tag else "") + f" (by {who})")


class _ClickTerminal:
    """The audit loop's terminal: one keystroke with click.getchar, lines with click.prompt."""

    def show(self, text: str) -> None:
        click.echo(text)

    def key(self, prompt: str) -> str:
        click.echo(f"{prompt} ? ", nl=False)
        try:
            key = click.getchar()
        except OSError as exc:  # no controlling terminal (cron, CI, a pipe without /dev/tty)
            click.echo()
            raise click.ClickException(
                "evtrack audit needs a terminal; in scripts use "
                "`evtrack verdict CLAIM PMID --stance …`") from exc
        click.echo(repr(key) if key.isspace() or not key.isprintable() else key)
        return key

    def line(self, prompt: str) -> str:
        try:
            return str(click.prompt(prompt, default="", show_default=False))
        except click.Abort as exc:  # end of input or Ctrl-C inside a prompt: stop cleanly
            raise EOFError from exc


@cli.command()
@click.option("--claim", "claim_ids", multiple=True, metavar="ID", help="Only these claims.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N links.")
@click.option("--reviewer", metavar="NAME", help=_REVIEWER_HELP)
@click.option("--blind", is_flag=True, help="Hide and ignore other reviewers' verdicts, so "
              "every reviewer gets the same queue (for `evtrack agreement`).")
@pass_app
@_errors_to_click
def audit(app: App, claim_ids: tuple[str, ...], limit: int | None, reviewer: str | None,
          blind: bool) -> None:
    """Review claim–paper links in the terminal, one keystroke each.

    Links come in the order a verdict would move the support score most: those nobody has
    judged, automatic judgements before the curator's, then those other reviewers judged.
    Keys: s supports, c contradicts, m mentions, i irrelevant, n skip, q quit; then an
    optional note and error tag (Enter skips). Each verdict is saved at once.

    \b
    Example:
      evtrack audit --claim C6 --limit 10
      EVTRACK_REVIEWER="A. Reviewer" evtrack audit --blind --limit 20
    """
    from evtrack.audit import ReviewSession, run_audit
    from evtrack.verdicts import resolve_reviewer
    who = resolve_reviewer(reviewer, os.environ, _git_user)
    session = ReviewSession(app.engine, who, list(claim_ids) or None, blind=blind)
    click.echo(f"Auditing as {who}: {len(session)} links in the queue"
               + (" (blind: other reviewers' verdicts hidden)" if blind else "") + ".")
    outcome = run_audit(session, _ClickTerminal(), limit=limit,
                        highlight=lambda text: click.style(text, bold=True, fg="yellow"))
    n = len(outcome.decided)
    click.echo(f"{n} verdict{'' if n == 1 else 's'} recorded, {outcome.skipped} skipped, "
               f"{outcome.remaining} left in the queue.")


@cli.command()
@click.option("--claim", "claim_ids", multiple=True, metavar="ID", help="Only these claims.")
@click.option("--reviewers", metavar="A,B[,C…]",
              help="Only these reviewers (default: everyone with verdicts); each pair is reported.")
@pass_app
@_errors_to_click
def agreement(app: App, claim_ids: tuple[str, ...], reviewers: str | None) -> None:
    """Cohen's kappa between reviewers who judged the same links (each pair), with the observed
    agreement, the number of links and the confusion table.

    \b
    Example:
      evtrack agreement
      evtrack agreement --claim C6 --reviewers "A. Reviewer,B. Reviewer"
    """
    from evtrack.agreement import (
        AgreementError,
        format_agreement,
        pairwise_agreement,
        reviewer_ratings,
    )
    names = [n.strip() for n in reviewers.split(",") if n.strip()] if reviewers else None
    if names is not None and len(set(names)) < 2:
        raise click.UsageError("--reviewers needs at least two names, separated by commas")
    pairs = pairwise_agreement(reviewer_ratings(app.engine, list(claim_ids) or None), names)
    click.echo(format_agreement(pairs), nl=False)
    if all(p.kappa is None for p in pairs):
        raise AgreementError("no two reviewers judged a link in common, so there is no kappa")


def _git_user() -> str | None:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def main() -> None:
    cli(prog_name="evtrack")
