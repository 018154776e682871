"""Rewriting PostgreSQL URLs (``postgresql://user@host:port/db?param=value``)."""

import math
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tenantdb.config import Settings
from tenantdb.errors import ConfigurationError

_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")


def _parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port, raising on a malformed one
    except ValueError as e:
        raise ConfigurationError(f"malformed database URL: {e}") from e
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(f"expected a postgresql:// URL, not {parts.scheme or url!r}")
    return parts.scheme, parts.netloc, parts.path, dict(parse_qsl(parts.query))


def _join(scheme: str, netloc: str, path: str, query: dict[str, str]) -> str:
    return urlunsplit((scheme, netloc, path, urlencode(query, quote_via=quote), ""))


def with_user(url: str, user: str) -> str:
    """``url`` logging in as ``user``, without a password."""
    scheme, netloc, path, query = _parts(url)
    query.pop("password", None)
    return _join(scheme, f"{quote(user)}@{netloc.rpartition('@')[2]}", path, query)


def with_database(url: str, dbname: str) -> str:
    scheme, netloc, _, query = _parts(url)
    return _join(scheme, netloc, f"/{quote(dbname)}", query)


def with_session_role(url: str, role: str) -> str:
    """``url`` whose sessions ``SET ROLE`` to ``role`` at login (the login role must be allowed)."""
    scheme, netloc, path, query = _parts(url)
    query["options"] = f"{query.get('options', '')} -c role={role}".strip()
    return _join(scheme, netloc, path, query)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def for_yoyo(url: str) -> str:
    """``url`` with yoyo's scheme for psycopg 3."""
    _, netloc, path, query = _parts(url)
    return _join("postgresql+psycopg", netloc, path, query)


# libpq's TCP keepalives (Settings' defaults) for the connections the CLI and the migrations
# open, so a peer that vanished mid-command surfaces as an error instead of a hang (ignored on
# Unix sockets).
TCP_KEEPALIVES = {
    name: str(value) for name, value in Settings.model_construct().keepalives().items()
}


def with_connect_timeout(url: str, seconds: float) -> str:
    """``url`` that gives up connecting after ``seconds`` (libpq counts whole seconds, at least
    2) and uses :data:`TCP_KEEPALIVES`; parameters already in the URL win."""
    scheme, netloc, path, query = _parts(url)
    defaults = {"connect_timeout": str(max(1, math.ceil(seconds)))} | TCP_KEEPALIVES
    return _join(scheme, netloc, path, defaults | query)


def without_password(url: str) -> str:
    """``url`` with its password removed, for messages."""
    scheme, netloc, path, query = _parts(url)
    query.pop("password", None)
    userinfo, at, host = netloc.rpartition("@")
    return _join(scheme, f"{userinfo.partition(':')[0]}{at}{host}", path, query)
