"""Generate the sync engine, tenantdb/db.py, from the async one, tenantdb/aio.py.

    python scripts/async_to_sync.py           # write tenantdb/db.py
    python scripts/async_to_sync.py --check   # exit 1 if tenantdb/db.py is stale

The async engine is the source, as in psycopg: names are mapped (``AsyncDatabase`` to
``Database``, ``async_io`` to ``sync_io``, ...), ``async`` and ``await`` are dropped, token by
token, so comments and layout stay as written. A test runs ``--check``, so a stale sync engine
fails CI.
"""

import argparse
import io
import re
import sys
import tokenize
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
SOURCE = TOP / "tenantdb" / "aio.py"
TARGET = TOP / "tenantdb" / "db.py"

NAMES = {
    "AsyncDatabase": "Database",
    "AsyncScope": "Scope",
    "AsyncTransaction": "Transaction",
    "AsyncTx": "Tx",
    "AsyncConnection": "Connection",
    "AsyncConnectionPool": "ConnectionPool",
    "async_io": "sync_io",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "asynccontextmanager": "contextmanager",
    "AsyncIterator": "Iterator",
}
# Words in docstrings and comments that only hold on one side.
PHRASES = {
    "for asyncio": "for threads",
    "async with": "with",
    "an asyncio task, or a thread": "a thread",
    "A task or thread it starts": "A thread it starts",
    "The sync engine, :mod:`tenantdb.db`, is generated from this file by":
    "Generated from the async engine, :mod:`tenantdb.aio`, by",
}
HEADER = "# Generated from tenantdb/aio.py by scripts/async_to_sync.py: edit that file instead.\n"
_WORD = re.compile(r"\b(" + "|".join(map(re.escape, NAMES)) + r")\b")


def _text(value: str) -> str:
    """A string's or comment's text on the sync side."""
    for phrase, replacement in PHRASES.items():
        value = value.replace(phrase, replacement)
    return _WORD.sub(lambda m: NAMES[m.group(1)], value)


def to_sync(source: str) -> str:
    offsets = [0]  # where each line starts in ``source``
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []  # start, end (offsets in source), new text
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        start = offsets[token.start[0] - 1] + token.start[1]
        end = offsets[token.end[0] - 1] + token.end[1]
        if token.type == tokenize.NAME and token.string in ("async", "await"):
            edits.append((start, end + (source[end:end + 1] == " "), ""))
        elif token.type == tokenize.NAME and token.string in NAMES:
            edits.append((start, end, NAMES[token.string]))
        elif token.type in (tokenize.STRING, tokenize.COMMENT):
            edits.append((start, end, _text(token.string)))
    text = source
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    text = re.sub(r"Awaitable\[(\w+)\]", r"\1", text)  # what a sync callback returns
    text = re.sub(r"^(from \S+ import )([^(\n]+)$", _sorted_import, text, flags=re.M)
    text = re.sub(r"^(from \S+ import \(\n)((?:    \w+,\n)+)(?=\))", _sorted_block, text,
                  flags=re.M)
    return HEADER + text


def _in_order(names: list[str]) -> list[str]:
    """Imported names in isort's order (constants, classes, functions), without those the sync
    side does not use."""
    kept = [n for n in names if n != "Awaitable"]
    return sorted(kept, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))


def _sorted_import(match: re.Match[str]) -> str:
    return match.group(1) + ", ".join(_in_order(match.group(2).split(", ")))


def _sorted_block(match: re.Match[str]) -> str:
    names = _in_order([line.strip().rstrip(",") for line in match.group(2).splitlines()])
    return match.group(1) + "".join(f"    {name},\n" for name in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that db.py is current")
    args = parser.parse_args()
    generated = to_sync(SOURCE.read_text(encoding="utf-8"))
    if args.check:
        if TARGET.read_text(encoding="utf-8") != generated:
            print(f"{TARGET} is stale: run python scripts/async_to_sync.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(generated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
