"""One measurement, in a fresh interpreter: ``python benchmarks/_child.py METHOD PROVIDER PATH``.

Prints one JSON object: ``seconds`` (the parse only; imports and setup are not
timed), ``lines``, ``bytes``, ``checksum`` (see ``_methods.Tally``), and three
memory figures:

- ``peak_rss_kib``: the process's peak RSS, ``VmHWM`` from ``/proc/self/status``
  (the high-water mark of this process's own address space, which ``execve``
  starts afresh) where it exists, else ``ru_maxrss``;
- ``setup_rss_kib``: ``VmRSS`` after imports and setup, just before the timed
  run (0 where /proc is missing); peak minus this is what the parse itself added;
- ``ru_maxrss_kib``: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``. On Linux it is
  *not* reset by ``execve``: a child spawned by ``subprocess`` reports at least the
  parent's peak at the time of the fork, so it is kept for reference only.

Only the standard library is imported before the method's own setup runs.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from a plain checkout
    sys.path.insert(0, str(_ROOT))


def proc_kib(field: str) -> int | None:
    """A ``VmXXX:`` figure of /proc/self/status in KiB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(method: str, provider: str, path: str) -> dict[str, Any]:
    """Set ``method`` up, time one run over ``path``, and report."""
    from benchmarks._methods import METHODS

    run = METHODS[method](provider)
    setup_rss = proc_kib("VmRSS")
    start = time.perf_counter()
    tally = run(path)
    seconds = time.perf_counter() - start
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "lines": tally.lines,
        "bytes": os.path.getsize(path),
        "peak_rss_kib": proc_kib("VmHWM") or ru_maxrss,
        "setup_rss_kib": setup_rss or 0,
        "ru_maxrss_kib": ru_maxrss,
        "checksum": tally.checksum(),
    }


if __name__ == "__main__":
    method, provider, path = sys.argv[1:4]
    print(json.dumps(measure(method, provider, path)))
