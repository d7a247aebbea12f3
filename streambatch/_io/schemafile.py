"""A job's JSON Schema: read from the user's file, kept in the job directory.

A job submitted with a schema keeps it in ``schema.json`` beside its manifest, so
``results`` validates each reply against it from any later process. The file is
written before the manifest (a job directory with a manifest has its schema),
atomically, and is small: a schema file over :data:`MAX_SCHEMA_BYTES` is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from .._core.jsonschema import check_schema
from .._errors import ConfigError, JobError
from .disk import replace_file

__all__ = (
    "MAX_SCHEMA_BYTES",
    "SCHEMA_FILE",
    "load_schema",
    "read_schema_file",
    "save_schema",
)

SCHEMA_FILE = "schema.json"
MAX_SCHEMA_BYTES = 4 * 1024 * 1024
"""The largest schema file read (the providers take far smaller ones)."""


def _read(path: Path | str) -> bytes:
    with open(path, "rb") as file:
        data = file.read(MAX_SCHEMA_BYTES + 1)
    if len(data) > MAX_SCHEMA_BYTES:
        raise ConfigError(f"{path}: a schema file is at most {MAX_SCHEMA_BYTES} bytes")
    return data


def read_schema_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON Schema in the user's file (``--schema FILE``).

    Raises:
        ConfigError: the file cannot be read, is not JSON, or not a schema this
            version can check (the message names the file and the place).
    """
    name = os.fspath(path)
    try:
        data = _read(name)
    except OSError as exc:
        raise ConfigError(f"--schema {name}: {exc.strerror or exc}") from None
    try:
        schema = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"--schema {name}: not valid JSON ({exc})") from None
    try:
        check_schema(schema, "schema")
    except ConfigError as exc:
        raise ConfigError(f"--schema {name}: {exc}") from None
    return dict(schema)


def save_schema(root: Path, schema: Mapping[str, Any]) -> None:
    """Keep ``schema`` in the job directory ``root`` (atomically, durably)."""
    replace_file(root / SCHEMA_FILE, msgspec.json.encode(schema), durable=True)


def load_schema(root: Path | str) -> dict[str, Any] | None:
    """The job's schema, or None when it was submitted without one.

    Raises:
        JobError: the file is there but damaged.
    """
    path = Path(root) / SCHEMA_FILE
    try:
        data = _read(path)
    except FileNotFoundError:
        return None
    except (OSError, ConfigError) as exc:
        raise JobError(f"{path}: cannot be read ({exc})") from None
    try:
        schema = msgspec.json.decode(data)
        check_schema(schema)
    except (msgspec.DecodeError, ConfigError) as exc:
        raise JobError(f"{path} is damaged ({exc})") from None
    return dict(schema)
