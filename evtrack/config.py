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

from evtrack.errors import ConfigError

#: The default database: ``db/evtrack.sqlite`` under the current directory (created on first use).
DEFAULT_DB_PATH = Path("db") / "evtrack.sqlite"

#: Where an optional config file is looked for when ``EVTRACK_CONFIG`` is not set.
DEFAULT_CONFIG_FILE = Path("evtrack.toml")

# api_key is deliberately not read from files: config files get committed and shared.
_FILE_KEYS = {"db", "email", "tool", "claims", "reviewer"}


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
    )
