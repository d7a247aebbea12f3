from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"

# The batches jobs have claimed (streambatch._io.claims) go to a folder of this
# test run's, not the user's; subprocesses inherit it.
_STATE = tempfile.TemporaryDirectory(prefix="streambatch-state-")
os.environ["STREAMBATCH_STATE_DIR"] = _STATE.name


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES
