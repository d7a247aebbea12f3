"""Render a table's rows into the provider's native request lines.

Each row renders the prompt template (jinja2's ``SandboxedEnvironment`` with
``StrictUndefined``: a template cannot reach Python internals, and a name that
is not a column is an error, never an empty string) into a prompt, and
``_core.tables`` makes the provider's request line of it. The lines go to a
native JSONL file in the job directory, which the job then splits like any
native input: every check, resume and the ledger work unchanged on it.

Before any row is rendered, the template's names are checked against the
table's columns (and the id column too): a missing column is an error naming it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from .._core.tables import RequestParams, TableSpec, request_builder, row_id
from .._errors import ConfigError, InputError
from .deps import need
from .source import Table, open_table
from .worker import Worker

__all__ = ("Renderer", "rendered_blocks", "write_requests")

_ENCODER = msgspec.json.Encoder()


def _str(value: Any) -> str:
    return str(value)


_ROW_ENCODER = msgspec.json.Encoder(enc_hook=_str)


class Renderer:
    """Make request lines of rows: the template, the provider, the parameters.

    Args:
        template: the prompt template (``{{ column }}`` references).
        provider: whose native lines to make.
        params: the request parameters every row shares.
        id_column: the column holding each row's custom_id, or None for a hash
            of the row.

    Raises:
        ConfigError: the template does not parse, or the provider needs a
            parameter not given.
    """

    def __init__(
        self,
        template: str,
        provider: str,
        params: RequestParams,
        id_column: str | None,
    ) -> None:
        sandbox = need("jinja2.sandbox", "a prompt template")
        jinja2 = need("jinja2", "a prompt template")
        meta = need("jinja2.meta", "a prompt template")
        self._errors: tuple[type[Exception], ...] = (jinja2.TemplateError,)
        env = sandbox.SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        try:
            tree = env.parse(template)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"the prompt template does not parse: {exc.message} (line {exc.lineno})"
            ) from None
        self.names: set[str] = set(meta.find_undeclared_variables(tree))
        self._template = env.from_string(template)
        self._build = request_builder(provider, params)
        self._id_column = id_column

    def check_columns(self, columns: list[str] | None, name: str) -> None:
        """Refuse, before any row is read, a template or id column naming a
        column the table does not have.

        Raises:
            InputError: a missing column, named.
        """
        if columns is None:
            return
        wanted = set(self.names)
        if self._id_column is not None:
            wanted.add(self._id_column)
        missing = sorted(wanted - set(columns))
        if missing:
            what = "column" if len(missing) == 1 else "columns"
            raise InputError(
                f"no {what} {', '.join(map(repr, missing))} in the table "
                f"(its columns: {', '.join(columns) or 'none'})",
                path=name,
            )

    def render(self, rows: list[dict[str, Any]], first_row: int, name: str) -> bytes:
        """The request lines of ``rows`` (``first_row`` is the 1-based number of
        the first), one per row, in order.

        Raises:
            InputError: a row lacks a column, has no id, or its template fails.
        """
        out = bytearray()
        template = self._template
        build = self._build
        id_column = self._id_column
        for number, row in enumerate(rows, first_row):
            if id_column is None:
                custom_id = row_id(row)
            else:
                value = row.get(id_column)
                if value is None or value == "":
                    raise InputError(
                        f"row {number}: its id column {id_column!r} is empty",
                        path=name,
                        line_no=number,
                    )
                custom_id = str(value)
            try:
                prompt = template.render(row)
            except self._errors as exc:
                raise InputError(
                    f"row {number} (custom_id {custom_id!r}): the prompt template "
                    f"failed: {exc}",
                    path=name,
                    line_no=number,
                ) from None
            _ENCODER.encode_into(build(custom_id, prompt), out, len(out))
            out += b"\n"
        return bytes(out)


async def rendered_blocks(
    table: Table, renderer: Renderer, worker: Worker, rows_copy: Path | None = None
) -> AsyncIterator[tuple[bytes, int, int]]:
    """``(lines, first_row, n_rows)`` for each batch of the table's rows, read
    and rendered in a worker thread, a batch at a time; ``rows_copy`` also gets
    each row as a JSON line (the job's copy of rows given from Python).

    Raises:
        InputError: a missing column (before any row is read), a bad row.
    """
    renderer.check_columns(table.columns, table.name)
    copy = open(rows_copy, "wb") if rows_copy is not None else None  # noqa: ASYNC230, SIM115
    first = 1

    def step() -> tuple[bytes, int] | None:
        rows = table.next_rows()
        if rows is None:
            return None
        if first == 1 and table.columns is None:
            renderer.check_columns(list(rows[0]), table.name)
        lines = renderer.render(rows, first, table.name)
        if copy is not None:
            copy.write(_ROW_ENCODER.encode_lines(rows))
        return lines, len(rows)

    try:
        while (done := await worker.run(step)) is not None:
            lines, count = done
            yield lines, first, count
            first += count
    finally:
        if copy is not None:
            copy.close()


async def write_requests(
    source: Any,
    renderer: Renderer,
    requests: Path,
    spec: TableSpec,
    *,
    rows_copy: Path | None = None,
) -> TableSpec:
    """Render ``source`` into the native JSONL file ``requests`` (written beside
    it, renamed when whole); return ``spec`` completed with the table's columns
    and row count.

    Raises:
        InputError: a missing column, a bad row, or no row at all.
    """
    table = open_table(source)
    partial = requests.with_name(requests.name + ".partial")
    n_rows = 0
    try:
        with Worker() as worker, open(partial, "wb") as file:  # noqa: ASYNC230  # a local open is instant
            async for lines, _, count in rendered_blocks(
                table, renderer, worker, rows_copy
            ):
                await worker.run(file.write, lines)
                n_rows += count
            await worker.run(os.fsync, file.fileno())
        if not n_rows:
            raise InputError("the table holds no row", path=table.name)
        os.replace(partial, requests)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return msgspec.structs.replace(spec, columns=table.columns or [], n_rows=n_rows)
