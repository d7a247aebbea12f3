"""A job made from a table: render its requests into the job directory, or check
a resumed job's table; remember what the join of results needs.

Layout, beside the job's usual files::

    DIR/table/requests.jsonl   the rendered native requests: the job's input
    DIR/table/table.json       the TableSpec (template, parameters, id column,
                               the table file and its SHA-256)
    DIR/table/rows.jsonl       rows given from Python, as JSON lines (the join
                               reads them back; a file table is read again)

Resume: the input hash the manifest keeps is that of ``requests.jsonl``, which
the table, the template and the parameters determine; on resume the table
file's SHA-256 and the template and parameters are compared with the spec.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from .._core.tables import RequestParams, TableSpec, decode_spec, encode_spec
from .._errors import InvalidInput, JobError
from .._io.disk import replace_file
from .._io.jobdir import sha256_file
from .render import Renderer, write_requests

__all__ = ("TABLE_DIR", "read_spec", "rows_named", "table_requests")

TABLE_DIR = "table"
_SPEC = "table.json"
_REQUESTS = "requests.jsonl"
_ROWS = "rows.jsonl"


def read_spec(job_dir: str | os.PathLike[str]) -> TableSpec | None:
    """The table spec of a job made from a table, or None for another job.

    Raises:
        JobError: the spec is damaged.
    """
    path = Path(job_dir) / TABLE_DIR / _SPEC
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return decode_spec(data)
    except msgspec.DecodeError as exc:
        raise JobError(f"{path}: not a table spec ({exc})") from None


async def table_requests(
    source: Any,
    job_dir: Path,
    provider: str,
    *,
    resumed: bool,
    template: str,
    id_column: str | None,
    params: RequestParams,
) -> Path:
    """The native requests file of a job made from ``source``: rendered now for
    a new job, or the one rendered before for a resumed job (checked to be
    made from the same table, template and parameters).

    Call it with the job directory locked.

    Raises:
        InputError: a missing column or a bad row (nothing was submitted).
        ConfigError: the template does not parse, or a parameter is missing.
        JobError: a resumed job was made from another table or template.
    """
    folder = job_dir / TABLE_DIR
    renderer = Renderer(template, provider, params, id_column)  # checks them
    is_file = isinstance(source, str | os.PathLike)
    asked = TableSpec(
        provider=provider,
        template=template,
        id_column=id_column,
        params=params,
        rows="" if is_file else f"{TABLE_DIR}/{_ROWS}",
    )
    if is_file:
        path, is_dir = _located(source)
        digest = "" if is_dir else await sha256_file(path)  # a dataset: not hashed
        asked = msgspec.structs.replace(asked, source=path, source_sha256=digest)
    if resumed:
        recorded = read_spec(job_dir)
        if recorded is None:
            raise JobError(
                f"{job_dir}: the job was not made from a table; leave out --prompt"
            )
        _check_same(recorded, asked)
        return folder / _REQUESTS
    folder.mkdir(mode=0o700, exist_ok=True)
    spec = await write_requests(
        source,
        renderer,
        folder / _REQUESTS,
        asked,
        rows_copy=None if is_file else folder / _ROWS,
    )
    replace_file(
        folder / _SPEC, encode_spec(spec), durable=True, temp=folder / (_SPEC + ".tmp")
    )
    return folder / _REQUESTS


def _located(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """A table's absolute path, and whether it is a directory (a dataset)."""
    return os.path.abspath(path), os.path.isdir(path)


def _check_same(recorded: TableSpec, asked: TableSpec) -> None:
    if not recorded.same_request(asked):
        raise JobError(
            "the job was made with another prompt template, id column or request "
            "parameters; use a new --job-dir for new requests"
        )
    if asked.source and asked.source_sha256 != recorded.source_sha256:
        raise JobError(
            f"{asked.source} has changed since this job was submitted; "
            "use a new --job-dir for a new table"
        )


@contextlib.contextmanager
def rows_named(table: Any) -> Iterator[None]:
    """Within the block, bad requests rendered from ``table`` (None: not a
    table job) are reported by the table's name and row numbers (the rendered
    file's line N is row N), not by the rendered file's."""
    try:
        yield
    except InvalidInput as exc:
        if table is None:
            raise
        name = os.fspath(table) if isinstance(table, str | os.PathLike) else "<rows>"
        raise InvalidInput(exc.problems, total=exc.total, path=f"{name} row") from None
