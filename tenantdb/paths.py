"""Where the packaged SQL lives: inside the wheel, or at the top of a source checkout."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _packaged(name: str) -> Path:
    inside = _PACKAGE / name  # a built wheel carries sql/ and migrations/ in the package
    return inside if inside.is_dir() else _PACKAGE.parent / name


SQL_DIR = _packaged("sql")
MIGRATIONS_DIR = _packaged("migrations")
