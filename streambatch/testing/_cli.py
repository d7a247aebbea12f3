"""`streambatch emulator`: placeholder until the emulator lands."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""


def run(args: argparse.Namespace) -> int:
    """Serve the emulator until interrupted; return the exit code."""
    raise NotImplementedError
