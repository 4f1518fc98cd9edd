"""Domain errors. The library raises these; the CLI turns them into one ``Error: …`` line.

Each carries what the user needs to fix the problem (file and key, PMID, HTTP status).
Anything that is *not* an :class:`EvtrackError` is a bug and may show a traceback.
"""

from __future__ import annotations


class EvtrackError(Exception):
    """Base class for every failure a user can act on."""


class ConfigError(EvtrackError):
    """A setting is missing or invalid (flag, environment variable or config file)."""


class ClaimsFileError(EvtrackError):
    """A claims file is malformed. Message format: ``<file>: claim <id>: <key>: <problem>``."""

    def __init__(self, path: str, problem: str, claim: str | None = None,
                 key: str | None = None) -> None:
        self.path, self.claim, self.key, self.problem = path, claim, key, problem
        parts = [str(path)]
        if claim is not None:
            parts.append(f"claim {claim}")
        if key is not None:
            parts.append(key)
        parts.append(problem)
        super().__init__(": ".join(parts))


class QuerySyntaxError(EvtrackError):
    """A PubMed query could not be parsed (unbalanced parentheses, dangling operator, …)."""


class UnsupportedQueryError(QuerySyntaxError):
    """A PubMed query uses syntax the offline evaluator does not implement.

    Raised instead of silently giving a wrong answer; the message names the unsupported part.
    """


class RecordParseError(EvtrackError):
    """A PubMed XML document is not a usable record set (HTML error page, truncated XML, …)."""


class EntrezError(EvtrackError):
    """NCBI answered with an error, or could not be reached after retries.

    ``status`` is the HTTP status when there was one; ``utility`` the E-utility called.
    """

    def __init__(self, message: str, utility: str | None = None,
                 status: int | None = None) -> None:
        self.utility, self.status = utility, status
        super().__init__(message)


class NotFoundError(EvtrackError):
    """A claim, PMID or run the user named does not exist in the store."""


class StoreError(EvtrackError):
    """The database cannot be used (newer schema, unreachable server, …)."""


class StaleReportError(EvtrackError):
    """The ledger changed after a report was built, so files that read both would mix two
    states of it (see :func:`evtrack.export.export_csv`)."""


class RefreshLockedError(StoreError):
    """Another refresh holds this database's refresh lock (see :mod:`evtrack.lock`)."""
