"""Where migrations come from: tenantdb's own folder first, then a service's sources.

A source is a folder (``path/to/migrations``) or a package resource (``mypkg:migrations``,
found with :mod:`importlib.resources`). A service configures its sources once: ``tenantdb
--migrations SOURCE`` (repeatable), ``TENANTDB_MIGRATIONS`` in the environment, or the pytest ini
option ``tenantdb_migrations``. yoyo reads every folder together, so a service's migrations order
themselves after tenantdb's with ``-- depends: 0004_tenancy_helper``. A migration id (its file
name without ``.sql``/``.py``) must be unique across all folders.
"""

import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pydantic

from tenantdb.config import Settings
from tenantdb.errors import ConfigurationError
from tenantdb.paths import MIGRATIONS_DIR

_PACKAGE_RESOURCE = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([^:]+)")


def split_sources(text: str) -> list[str]:
    """The sources in a ``TENANTDB_MIGRATIONS`` value: separated by commas, or by os.pathsep
    between folders (a ``package:resource`` item keeps its colon)."""
    sources: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if _PACKAGE_RESOURCE.fullmatch(item):
            sources.append(item)
        else:
            sources.extend(path.strip() for path in item.split(os.pathsep) if path.strip())
    return sources


def configured_sources() -> list[str]:
    """The sources named by ``TENANTDB_MIGRATIONS`` (none when it is unset)."""
    try:
        return split_sources(Settings().migrations)
    except pydantic.ValidationError as e:
        raise ConfigurationError(f"invalid settings: {e}") from e


def resolve_source(source: str, base: Path | None = None) -> Path:
    """The folder of one source; a relative folder is taken from ``base`` (default: the
    current directory). An existing folder wins over a ``package:resource`` reading."""
    path = Path(source).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_dir():
        return path.resolve()
    if match := _PACKAGE_RESOURCE.fullmatch(source):
        package, resource = match.groups()
        try:
            folder = resources.files(package).joinpath(resource)
        except (ModuleNotFoundError, TypeError) as e:  # TypeError: a module, not a package
            raise ConfigurationError(f"migrations {source!r}: no package {package!r}") from e
        if isinstance(folder, Path) and folder.is_dir():
            return folder.resolve()
        raise ConfigurationError(
            f"migrations {source!r}: package {package!r} has no folder {resource!r} on disk")
    raise ConfigurationError(f"migrations {source!r}: no such folder")


def migration_folders(sources: Sequence[str] | None = None) -> list[Path]:
    """tenantdb's migrations folder, then the folders of ``sources`` (None: the configured
    ones). Raises ConfigurationError for a missing folder or a migration id found twice."""
    chosen = configured_sources() if sources is None else sources
    folders = [MIGRATIONS_DIR, *(resolve_source(source) for source in chosen)]
    unique_ids(folders)  # refuses duplicates
    return folders


def unique_ids(folders: Sequence[Path]) -> list[str]:
    """The ids of the migrations in ``folders``: folder by folder, sorted within each."""
    found: dict[str, Path] = {}
    for folder in folders:
        for migration in _ids_in(folder):
            if migration in found:
                raise ConfigurationError(
                    f"migration {migration} is in both {found[migration]} and {folder}: ids must "
                    "be unique across migration folders (prefix a service's with its name)")
            found[migration] = folder
    return list(found)


def _ids_in(folder: Path) -> list[str]:
    """Migration ids as yoyo reads them: ``*.sql`` and ``*.py`` files, not ``*.rollback.sql``."""
    return sorted(p.stem for p in folder.iterdir()
                  if p.is_file() and p.suffix in (".sql", ".py")
                  and not p.name.endswith(".rollback.sql"))
