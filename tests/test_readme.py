"""The README's "Your own tables" runs as written: its SQL and Python blocks become a service
folder (each block starts with a comment naming its file), migrated and run on a fresh database."""

import re
import subprocess
import sys
from pathlib import Path

from tenantdb.testing import MigratedDatabase
from tenantdb.urls import with_user

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```(sql|python)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_FILE_COMMENT = re.compile(r"(?:--|#) ([\w./-]+\.(?:sql|py))$")


def section(heading: str) -> str:
    """The text of the README's ``## heading`` section, up to the next ``## ``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def write_blocks(text: str, folder: Path) -> list[str]:
    """Write every ```sql/```python block of ``text`` to the file its first line names."""
    written = []
    for _, code in _BLOCK.findall(text):
        first_line = code.splitlines()[0]
        named = _FILE_COMMENT.fullmatch(first_line)
        assert named, f"a README block must start with a comment naming its file: {first_line}"
        path = folder / named.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
        written.append(named.group(1))
    return written


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_your_own_tables_runs_as_written(tmp_path: Path, empty_database: str) -> None:
    written = write_blocks(section("Your own tables"), tmp_path)
    assert written == ["migrations/myservice_0001_notes.sql",
                       "migrations/myservice_0001_notes.rollback.sql",
                       "notes.sql", "notes.py", "example.py"]
    cli = [sys.executable, "-m", "tenantdb.cli"]
    migrated = _run([*cli, "migrate", "--migrations", "./migrations"], tmp_path,
                    DATABASE_URL=empty_database)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.splitlines()[-1] == "applied myservice_0001_notes"
    checked = _run([*cli, "check", "--schema", "myservice"], tmp_path,
                   DATABASE_URL=empty_database)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    example = _run([sys.executable, "example.py"], tmp_path,
                   DATABASE_URL=with_user(empty_database, "tenantdb_app"))
    assert example.returncode == 0, example.stderr

    rolled = _run([*cli, "rollback"], tmp_path, DATABASE_URL=empty_database,
                  TENANTDB_MIGRATIONS="./migrations")
    assert rolled.stdout == "rolled back myservice_0001_notes\n", rolled.stderr


def test_the_quickstart_runs_as_written(tmp_path: Path, database: MigratedDatabase) -> None:
    written = write_blocks(section("Quickstart for a service"), tmp_path)
    assert written == ["quickstart.py", "quickstart_async.py"]
    for script in written:
        ran = _run([sys.executable, script], tmp_path, DATABASE_URL=database.app_url)
        assert ran.returncode == 0, ran.stderr
