"""A progress line on standard error for long builds (no dependency: one line, redrawn).

Only drawn on a terminal: piped or captured output gets no control characters.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None: ...


class TerminalProgress:
    """``[#########...........]  45%  reading articles  13,001/28,868 files`` (≤ 10 redraws/s)."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < self.min_interval:
            return
        self._last = now
        share = done / total if total else 1.0
        filled = int(share * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {share:4.0%}  {stage}  {done:,}/{total:,} files\x1b[K")
        self._drawn = True
        self.stream.flush()

    def close(self) -> None:
        """End the line so the next output starts on a fresh one."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
