"""The command line's table options: requests from a table (``--prompt`` ...) and
results as a table (``--format``, ``--join-input``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from typing import Any

from .._core.tables import RequestParams
from .._errors import ConfigError
from .._io.reader import file_chunks
from .render import Renderer, rendered_blocks
from .source import open_table
from .worker import Worker

__all__ = (
    "ARROW_POOL_ENV",
    "add_result_options",
    "add_table_options",
    "check_table_args",
    "input_blocks",
    "prefer_system_allocator",
    "table_kwargs",
)

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_system_allocator() -> None:
    """Have pyarrow, once imported, allocate with the C library's allocator
    unless the user chose one (``ARROW_DEFAULT_MEMORY_POOL``). The command
    line's process is its own: its peak memory reading and writing tables is
    about a fifth lower so (docs/tables.md)."""
    os.environ.setdefault(ARROW_POOL_ENV, "system")


_REQUEST_OPTIONS = {
    "id_column": "--id-column",
    "system": "--system",
    "max_tokens": "--max-tokens",
}


def _tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def add_table_options(parser: argparse.ArgumentParser, *, model: bool) -> None:
    """``--prompt``, ``--id-column``, ``--system``, ``--max-tokens`` (and
    ``--model`` where the subcommand has none yet)."""
    group = parser.add_argument_group(
        "requests from a table (INPUT is Parquet, CSV or JSONL rows)"
    )
    group.add_argument(
        "--prompt",
        metavar="TEMPLATE",
        help="make one request per row: its prompt is this jinja2 template, "
        "e.g. 'Summarise: {{ text }}' (a missing column is an error)",
    )
    group.add_argument(
        "--id-column",
        metavar="COL",
        help="the column of each row's custom_id (unique); default: a hash of the row",
    )
    if model:
        group.add_argument("--model", help="the requests' model (with --prompt)")
    group.add_argument("--system", metavar="TEXT", help="the requests' system prompt")
    group.add_argument(
        "--max-tokens",
        type=_tokens,
        metavar="N",
        help="the requests' token limit (anthropic needs one)",
    )


def add_result_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--join-input`` of ``results`` and ``run``."""
    parser.add_argument(
        "--format",
        choices=["jsonl", "parquet", "csv"],
        help="the results' format (default: from -o's extension, .parquet or "
        ".csv; a directory, ending in /, is a Parquet dataset; else JSONL)",
    )
    parser.add_argument(
        "--join-input",
        action="store_true",
        help="put each result beside its input row's columns (a job made from a table)",
    )


def check_table_args(args: argparse.Namespace) -> None:
    """Request options given without ``--prompt``.

    Raises:
        ConfigError: one was.
    """
    if getattr(args, "prompt", None) is not None:
        return
    for name, option in _REQUEST_OPTIONS.items():
        if getattr(args, name, None) is not None:
            raise ConfigError(f"{option} is for requests made from a table (--prompt)")


def table_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``Client.submit`` for ``--prompt`` and its
    options (none without ``--prompt``)."""
    if getattr(args, "prompt", None) is None:
        return {}
    return {
        "prompt": args.prompt,
        "id_column": args.id_column,
        "model": args.model,
        "system": args.system,
        "max_tokens": args.max_tokens,
    }


async def input_blocks(args: argparse.Namespace) -> AsyncIterator[bytes]:
    """The native request lines of ``args.input``: the file's bytes, or the
    lines rendered from its rows with ``--prompt`` (for ``estimate``)."""
    if getattr(args, "prompt", None) is None:
        async for block in file_chunks(args.input):
            yield block
        return
    params = RequestParams(
        model=args.model or "", system=args.system, max_tokens=args.max_tokens
    )
    renderer = Renderer(args.prompt, args.provider, params, args.id_column)
    with Worker() as worker:
        table = open_table(args.input)
        async for lines, _, _ in rendered_blocks(table, renderer, worker):
            yield lines
