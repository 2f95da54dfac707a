"""Progress for long runs (big loads, builds of many sheets), on stderr so stdout stays parseable.

On a terminal the line is redrawn in place; in a log (CI, a pipe) a line is printed at most every
few seconds, so a long run neither floods the log nor looks hung.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A bar over ``total`` (bytes read, files …) with a rate in ``unit`` (triples …): ``update(done, count)``."""

    def __init__(self, label: str, total: float | None = None, unit: str = "", stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.1 if self.tty else 5.0  # seconds between lines: a log file gets few
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        self.done = 0.0
        self.count = 0.0
        self.note = ""

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        parts = [self.label]
        if self.total:
            share = min(1.0, self.done / self.total)
            parts.append(f"[{'#' * int(30 * share):<30}] {share:4.0%}")
        if self.unit:
            rate = f" ({self.count / elapsed:,.0f}/s)" if elapsed > 0.5 else ""
            parts.append(f"{self.count:,.0f} {self.unit}{rate}")
        if self.note:
            parts.append(self.note)
        parts.append(f"{elapsed:.0f} s")
        return "  ".join(parts)

    def update(self, done: float, count: float | None = None, note: str = "") -> None:
        self.done, self.note = done, note or self.note
        self.count = done if count is None else count
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            self._write()

    def _write(self, end: str = "") -> None:
        if self.tty:
            print(f"\r{self.line()}\033[K", end=end, file=self.stream, flush=True)
        else:
            print(self.line(), file=self.stream, flush=True)

    def finish(self, count: float | None = None) -> None:
        if count is not None:
            self.count = count
        if self.total:
            self.done = self.total
        if self.enabled:
            self._write(end="\n")


class Stages:
    """Named steps of a build, each printed with its time when it ends: `  records  0.4 s`."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        if self.enabled:
            print(f"  {what:<48} {now - self.last:6.1f} s", file=self.stream, flush=True)
        self.last = now
