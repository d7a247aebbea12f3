"""`streambatch emulator`: serve the emulator until SIGINT or SIGTERM.

Every field of `Faults` and `Limits` is a flag (``--item-error-rate 0.1``,
``--openai-max-requests 1000000``), generated from the dataclasses so no knob
can be missed. Imports stdlib and the testing package only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ._config import OPENAI_QUIRKS, EmulatorConfig, Faults, Limits, Timings


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_docs(cls: type[Any]) -> dict[str, str]:
    """The ``Attributes:`` section of a class's docstring, by field name."""
    docs: dict[str, str] = {}
    name = None
    in_section = False
    for line in (cls.__doc__ or "").splitlines():
        text = line.strip()
        if text == "Attributes:":
            in_section = True
            continue
        if not in_section or not text:
            continue
        head, sep, rest = text.partition(": ")
        if sep and head.isidentifier() and len(line) - len(line.lstrip()) <= 8:
            name = head
            docs[name] = rest
        elif name is not None:
            docs[name] += " " + text
    return docs


def _add_fields(group: Any, cls: type[Any], prefix: str) -> None:
    """Add one flag per dataclass field, typed by its default, its help text from
    the class's docstring."""
    docs = _field_docs(cls)
    for item in dataclasses.fields(cls):
        default = item.default
        dest = f"{prefix}{item.name}"
        about = docs.get(item.name, item.name.replace("_", " ")).rstrip(".")
        if isinstance(default, bool):
            group.add_argument(
                _flag(item.name), dest=dest, action="store_true", help=about
            )
        else:
            kind = int if isinstance(default, int) else float
            group.add_argument(
                _flag(item.name),
                dest=dest,
                type=kind,
                default=default,
                metavar=kind.__name__.upper(),
                help=f"{about} (default {default})",
            )


def _quirks(text: str) -> frozenset[str]:
    chosen = frozenset(q.strip() for q in text.split(",") if q.strip())
    unknown = sorted(chosen - set(OPENAI_QUIRKS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown quirk {', '.join(unknown)} (known: {', '.join(OPENAI_QUIRKS)})"
        )
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--allow-remote", action="store_true", help="permit a non-loopback --host"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="keep state here and reload it on restart (default: a temporary "
        "directory)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="require the key held in this environment variable",
    )
    parser.add_argument(
        "--clock",
        choices=("instant", "fast", "realistic"),
        default="instant",
        help="how long batches take: no time, realistic at 600x, or realistic "
        "(default instant)",
    )
    parser.add_argument(
        "--time-scale", type=float, help="emulated seconds per real second"
    )
    parser.add_argument(
        "--reply-words",
        type=int,
        default=12,
        help="words in each generated reply, at most max_tokens (default 12)",
    )
    parser.add_argument(
        "--embedding-dims",
        type=int,
        default=8,
        help="length of each generated embedding (default 8)",
    )
    parser.add_argument(
        "--openai-quirks",
        type=_quirks,
        default=frozenset(),
        metavar="QUIRK,...",
        help="serve the OpenAI routes as an OpenAI-compatible host would, with "
        f"these quirks: {', '.join(OPENAI_QUIRKS)} (statuses in capitals, ISO "
        'timestamps, batches wrapped in {"job": ...}, output lines with batch_id '
        "for id, any completion window); default none",
    )
    _add_fields(parser.add_argument_group("faults"), Faults, "fault_")
    _add_fields(parser.add_argument_group("limits"), Limits, "limit_")


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    """Build an `EmulatorConfig` from parsed arguments.

    Raises:
        ValueError: For a bad clock, or a key variable that is unset.
    """
    values = vars(args)

    def pick(cls: type[Any], prefix: str) -> dict[str, Any]:
        return {f.name: values[prefix + f.name] for f in dataclasses.fields(cls)}

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ValueError(f"environment variable {args.api_key_env} is not set")
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        state_dir=args.state_dir,
        api_key=api_key,
        timings=Timings.named(args.clock, args.time_scale),
        limits=Limits(**pick(Limits, "limit_")),
        faults=Faults(**pick(Faults, "fault_")),
        reply_words=args.reply_words,
        embedding_dims=args.embedding_dims,
        openai_quirks=args.openai_quirks,
    )


async def _serve(config: EmulatorConfig) -> None:
    from ._emulator import Emulator  # the server's imports only when serving

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Emulator(config) as emulator:
        print(emulator.url, flush=True)
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    """Serve the emulator until interrupted; return the exit code."""
    try:
        config = config_from(args)
        if config.state_dir is not None:
            config.state_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(_serve(config))
    except (ValueError, OSError) as exc:
        print(f"streambatch emulator: {exc}", file=sys.stderr)
        return 2
    return 0
