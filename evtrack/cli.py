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
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from evtrack import __version__
from evtrack.claims import STANCES, ClaimSet, load_claims
from evtrack.config import Settings, resolve_settings
from evtrack.errors import EvtrackError
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.sources import EvidenceSource

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
                              tool=self.settings.tool)
        from evtrack.offline import OfflineSource
        from evtrack.store.papers import load_records
        with self.engine.connect() as conn:
            stored = list(load_records(conn))
        return OfflineSource.from_files([*snapshot_files(), *extra_dirs], extra=stored)


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
@click.pass_context
def cli(ctx: click.Context, db: str | None, claims: tuple[str, ...], email: str | None,
        api_key: str | None) -> None:
    """evtrack: a living evidence ledger for mechanistic claims.

    \b
    Example (offline, bundled snapshot, default database):
      evtrack refresh && evtrack report && evtrack export --out reports/
    """
    try:
        settings = resolve_settings(db=db, email=email, api_key=api_key, claims=claims)
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
    from evtrack.store.db import current_revision
    rev = current_revision(app.engine)
    click.echo(f"Database ready at {app.settings.db_url} (schema {rev}).")


@cli.command()
@click.option("--offline", is_flag=True, help="Use the bundled snapshot even with an NCBI email.")
@click.option("--source-dir", multiple=True, type=click.Path(exists=True), metavar="PATH",
              help="Offline only: also search these PubMed XML files/directories.")
@click.option("--no-links", is_flag=True, help="Do not follow ELink refs/cited-by of cited papers.")
@pass_app
@_errors_to_click
def refresh(app: App, offline: bool, source_dir: tuple[str, ...], no_links: bool) -> None:
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
    claim_set = app.claims()
    source = app.source(source_dir)
    if source.name == "offline":
        why = "--offline" if offline else "no NCBI email set"
        click.echo(f"Offline ({why}): searching the bundled snapshot"
                   f"{' and ' + ', '.join(source_dir) if source_dir else ''} "
                   f"plus papers already stored ({len(source)} records).", err=True)  # type: ignore[arg-type]
    summary = run_refresh(app.engine, claim_set, source, follow_links=not no_links,
                          step=_progress)
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
@pass_app
@_errors_to_click
def ingest(app: App, paths: tuple[str, ...]) -> None:
    """Import PubMed EFetch XML files or directories into the database.

    \b
    Example:
      evtrack ingest ~/Downloads/pubmed_result.xml ~/pubmed-xml/
    """
    from evtrack.ingest import ingest_files
    result = ingest_files(app.engine, paths, step=_progress)
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
    click.echo(f"Database: {app.settings.db_url}")
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


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--claim", "claim_ids", multiple=True, metavar="ID", help="Only these claims.")
@click.option("--summary", is_flag=True, help="Table format: the summary table only.")
@pass_app
@_errors_to_click
def report(app: App, fmt: str, output: str | None, claim_ids: tuple[str, ...],
           summary: bool) -> None:
    """Report how much support each claim has.

    \b
    Example:
      evtrack report
      evtrack report --format html --output report.html
    """
    from evtrack.render import render
    from evtrack.report import build_report
    text = render(build_report(app.engine, list(claim_ids) or None), fmt, details=not summary)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports",
              show_default=True, help="Directory for the CSV files.")
@pass_app
@_errors_to_click
def export(app: App, out_dir: str) -> None:
    """Write the report as CSV files: claims.csv (one row per claim), links.csv (one per link).

    \b
    Example:
      evtrack export --out reports/
    """
    from evtrack.export import export_csv
    from evtrack.report import build_report
    for path, n in export_csv(build_report(app.engine), Path(out_dir)):
        click.echo(f"Wrote {path} ({n} rows)")


@cli.command()
@click.argument("claim_id")
@click.argument("pmid")
@click.option("--stance", type=click.Choice([*STANCES, "irrelevant"]), required=True)
@click.option("--note", help="Why.")
@click.option("--tag", help="Error tag, e.g. polarity, wrong_relation, context_mismatch.")
@click.option("--reviewer", envvar="EVTRACK_REVIEWER", help="Who [env EVTRACK_REVIEWER; "
              "default: git user.name].")
@pass_app
@_errors_to_click
def verdict(app: App, claim_id: str, pmid: str, stance: str, note: str | None, tag: str | None,
            reviewer: str | None) -> None:
    """Record your verdict on a claim–paper link; it overrides the machine, and no refresh
    changes it.

    \b
    Example:
      evtrack verdict C6 21677641 --stance supports --note "BDNF knockouts unresponsive"
    """
    from evtrack.store.ledger import add_verdict
    who = reviewer or _git_user() or os.environ.get("USER") or "unknown"
    with app.engine.begin() as conn:
        vid = add_verdict(conn, claim_id, pmid, stance=stance, reviewer=who, note=note, tag=tag)
    click.echo(f"Verdict {vid}: {claim_id} × PMID {pmid} = {stance} (by {who})")


def _git_user() -> str | None:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def main() -> None:
    cli(prog_name="evtrack")
