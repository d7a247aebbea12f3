from __future__ import annotations

import compileall
import os
import pathlib
import tempfile

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
PACKAGE = pathlib.Path(__file__).parent.parent / "streambatch"


def _compile_the_package() -> None:
    """Write the package's bytecode once, before the workers start.

    The suite starts some fifty interpreters (its workers, the command lines it
    kills, the results workers), and each compiled the package from source
    where PYTHONDONTWRITEBYTECODE is set: 0.1-0.16 s of CPU for each command
    line, against 0.25 s to compile it once here. Only the run's first process does it (not
    each ``pytest -n`` worker); an up-to-date file is left as it is.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        compileall.compile_dir(PACKAGE, quiet=2)


_compile_the_package()


def _memory_backed_temp() -> None:
    """Put this run's temporary files (tmp_path, the emulator's state, the job
    directories) on tmpfs when there is one and TMPDIR does not say otherwise.

    A job directory fsyncs every manifest it writes: on a disk shared with other
    work each fsync costs milliseconds, and they were most of the suite's time;
    on tmpfs they cost nothing. What the tests check is the same on either.
    Subprocesses inherit it through TMPDIR.
    """
    shm = pathlib.Path("/dev/shm")
    if os.environ.get("TMPDIR") or not (shm.is_dir() and os.access(shm, os.W_OK)):
        return
    root = shm / "streambatch-tests"
    root.mkdir(mode=0o700, exist_ok=True)
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)


_memory_backed_temp()

# The batches jobs have claimed (streambatch._io.claims) go to a folder of this
# test run's, not the user's; subprocesses inherit it.
_STATE = tempfile.TemporaryDirectory(prefix="streambatch-state-")
os.environ["STREAMBATCH_STATE_DIR"] = _STATE.name


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the long scale tests first: spread over ``pytest -n auto``'s workers,
    one of them starts each at once while the others take the short tests,
    rather than the suite waiting for it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
