"""Show a job's progress on the command line: a bar on a terminal, lines otherwise.

The bar is tqdm's (the optional ``progress`` extra); without tqdm, or when stderr
is not a terminal, a plain line is printed at most every ``interval`` seconds.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

from ._core.jobstate import Progress

__all__ = ("ProgressView", "describe")


def describe(progress: Progress) -> str:
    """One line: ``done/total requests; batches: N completed, M in_progress``."""
    return f"{progress.done}/{progress.requests} requests done; batches: {_states(progress)}"


def _states(progress: Progress) -> str:
    return ", ".join(f"{n} {state}" for state, n in progress.batches.items())


_SHORT = {"validating": "val", "in_progress": "run", "finalizing": "fin"}


def _short_states(progress: Progress) -> str:
    """The states in few columns, for the bar: ``2 run 1 fin 3 completed``."""
    return " ".join(
        f"{n} {_SHORT.get(state, state)}" for state, n in progress.batches.items()
    )


class ProgressView:
    """Receives progress snapshots and shows them.

    Args:
        first: the snapshot to start from.
        quiet: show nothing.
        interval: the least time between two plain lines, in seconds.
    """

    def __init__(
        self, first: Progress, *, quiet: bool = False, interval: float = 10.0
    ) -> None:
        self._quiet = quiet
        self._interval = interval
        self._last_line = 0.0
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                # At most 80 columns; the states go after the bar, short.
                width = min(80, shutil.get_terminal_size((80, 24)).columns)
                self._bar = tqdm(
                    total=first.requests,
                    unit="req",
                    ncols=width,
                    bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                    "{elapsed}{postfix}",
                )
        self.update(first)

    @property
    def live(self) -> bool:
        """Whether a bar is shown (its clock wants a :meth:`tick` now and then)."""
        return self._bar is not None

    def tick(self) -> None:
        """Redraw the bar, so its clock moves while the counts do not (Anthropic
        reports counts only when a batch ends)."""
        if self._bar is not None:
            self._bar.refresh()

    def update(self, progress: Progress) -> None:
        """Show ``progress``."""
        if self._quiet:
            return
        if self._bar is not None:
            self._bar.n = progress.done
            self._bar.set_postfix_str(_short_states(progress), refresh=True)
            return
        now = time.monotonic()
        if now - self._last_line >= self._interval or progress.finished:
            self._last_line = now
            stamp = time.strftime("%H:%M:%S")
            line = f"streambatch: {stamp} {describe(progress)}"
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Finish the bar, if there is one."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
