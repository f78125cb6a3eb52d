"""The progress of a long run on stderr: a bar on a terminal, a line per stage otherwise."""

from __future__ import annotations

import shutil
import sys
import time


class Progress:
    """A one-line progress bar on stderr (``\\r``-updated on a terminal, plain lines otherwise)."""

    def __init__(self, total: float, stream=None, enabled: bool = True):
        self.total = max(total, 1e-9)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0.0
        self.label = ""
        self.detail = ""
        self._last_plain = None

    def update(self, done: float | None = None, label: str | None = None,
               detail: str = "") -> None:
        """Move the bar to ``done`` (of ``total``); ``label`` names the current stage and
        ``detail`` (such as ``"call 3/10"``) is shown on a terminal only."""
        if done is not None:
            self.done = min(done, self.total)
        if label is not None:
            self.label = label
            self.detail = ""
        if detail:
            self.detail = detail
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            bar_width = 24
            filled = int(bar_width * self.done / self.total)
            text = (f"[{'#' * filled}{'.' * (bar_width - filled)}] "
                    f"{100 * self.done / self.total:3.0f}% {elapsed:5.1f}s  {self.label}"
                    + (f": {self.detail}" if self.detail else ""))
            self.stream.write("\r" + text[:width].ljust(width))
            self.stream.flush()
        elif self.label != self._last_plain and self.label:
            self._last_plain = self.label
            self.stream.write(f"[{elapsed:6.1f} s, {100 * self.done / self.total:3.0f}%] "
                              f"{self.label}\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (above the bar on a terminal)."""
        if not self.enabled:
            return
        if self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
        if self.tty:
            self.update()

    def close(self) -> None:
        if self.enabled and self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()
