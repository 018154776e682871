"""A one-line progress bar on stderr (redrawn in place on a terminal, a line a step otherwise)."""

import sys
import time


class Progress:
    def __init__(self, total: int, width: int = 30) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.width = width
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, label: str, advance: int = 1) -> None:
        """Count ``advance`` steps as done and show ``label`` as what runs now."""
        self.done = min(self.total, self.done + advance)
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        line = (f"[{bar}] {100 * self.done // self.total:3d}% "
                f"{time.monotonic() - self.started:5.0f}s  {label}")
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line[:160])
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
