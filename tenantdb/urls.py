"""Rewriting PostgreSQL URLs (``postgresql://user@host:port/db?param=value``)."""

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

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
