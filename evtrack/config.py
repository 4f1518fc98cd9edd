"""Settings: flag > environment > config file > default, resolved once into :class:`Settings`.

Nothing here runs at import time; :func:`resolve_settings` is called by the CLI (or a notebook)
and the resulting object is passed to everything that needs it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from evtrack.errors import ConfigError

#: The default database: ``db/evtrack.sqlite`` under the current directory (created on first use).
DEFAULT_DB_PATH = Path("db") / "evtrack.sqlite"

#: Where an optional config file is looked for when ``EVTRACK_CONFIG`` is not set.
DEFAULT_CONFIG_FILE = Path("evtrack.toml")

# api_key is deliberately not read from files: config files get committed and shared.
_FILE_KEYS = {"db", "email", "tool", "claims", "reviewer", "eutils_url"}

#: The E-utilities base URL Biopython hard-codes; ``EVTRACK_EUTILS_URL`` replaces it.
NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


def eutils_base_url(value: str) -> str:
    """Check an E-utilities base URL (a mirror, a proxy, a local stand-in) and normalise it.

    The URL is the folder holding ``esearch.fcgi``, ``efetch.fcgi``, …, e.g.
    ``http://127.0.0.1:8080/entrez/eutils/``; a trailing slash is added when missing.
    """
    text = value.strip()
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok, parts = False, urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
            or parts.query or parts.fragment:
        # Shown without any query string: someone may have put the API key there.
        raise ConfigError(f"EVTRACK_EUTILS_URL / --eutils-url must be an http(s) base URL "
                          "without a query, such as https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
                          f", not {text.split('?')[0]!r}")
    return text.rstrip("/") + "/"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about its environment.

    ``api_key`` is kept out of ``repr`` so it never lands in logs or tracebacks.
    """

    db_url: str
    email: str | None = None
    api_key: str | None = field(default=None, repr=False)
    tool: str = "evtrack"
    claims_paths: tuple[Path, ...] = ()
    offline: bool = False
    #: E-utilities base URL (mirror, proxy, local stand-in); None means NCBI itself.
    eutils_url: str | None = None

    @property
    def online(self) -> bool:
        """Live NCBI is used only with an email address (NCBI's rule) and not forced offline."""
        return bool(self.email) and not self.offline


def db_url_from(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as SQLite)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser()}"


def _read_config_file(path: Path) -> Mapping[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML config file: {exc}") from exc
    section = data.get("evtrack", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [evtrack] must be a table")
    unknown = set(section) - _FILE_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_FILE_KEYS))}; the API key belongs in NCBI_API_KEY)"
        )
    return section


def resolve_settings(
    *,
    db: str | None = None,
    email: str | None = None,
    api_key: str | None = None,
    tool: str | None = None,
    claims: tuple[str, ...] = (),
    offline: bool = False,
    eutils_url: str | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Combine flags, environment and config file (in that order of precedence)."""
    env = os.environ if env is None else env
    path = config_file or Path(env.get("EVTRACK_CONFIG", DEFAULT_CONFIG_FILE))
    conf = _read_config_file(path)

    def pick(flag: str | None, env_name: str, key: str) -> str | None:
        if flag:
            return flag
        if env.get(env_name):
            return env[env_name]
        value = conf.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string")
        return value

    db_value = pick(db, "EVTRACK_DB", "db") or str(DEFAULT_DB_PATH)
    claim_values: tuple[str, ...] = claims
    if not claim_values:
        conf_claims = conf.get("claims")
        if isinstance(conf_claims, str):
            claim_values = (conf_claims,)
        elif isinstance(conf_claims, list) and all(isinstance(c, str) for c in conf_claims):
            claim_values = tuple(conf_claims)
        elif conf_claims is not None:
            raise ConfigError(f"{path}: claims must be a path or a list of paths")
    return Settings(
        db_url=db_url_from(db_value),
        email=pick(email, "NCBI_EMAIL", "email"),
        api_key=api_key or env.get("NCBI_API_KEY") or None,
        tool=pick(tool, "EVTRACK_TOOL", "tool") or "evtrack",
        claims_paths=tuple(Path(c) for c in claim_values),
        offline=offline,
        eutils_url=_eutils_url(pick(eutils_url, "EVTRACK_EUTILS_URL", "eutils_url")),
    )


def _eutils_url(value: str | None) -> str | None:
    """None for NCBI itself (unset, or its own address), else the checked mirror URL."""
    if not value:
        return None
    url = eutils_base_url(value)
    return None if url == NCBI_EUTILS_URL else url
