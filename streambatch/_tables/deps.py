"""The optional libraries of tables, imported on first use with a clear message
when the ``parquet`` extra is not installed."""

from __future__ import annotations

import importlib
from types import ModuleType

from .._errors import ConfigError

__all__ = ("need",)

_HINT = "pip install 'streambatch[parquet]'"


def need(module: str, what: str) -> ModuleType:
    """Import ``module`` (``pyarrow.parquet``, ``jinja2.sandbox``, ...).

    Raises:
        ConfigError: it is not installed; the message says what needs it and
            how to install it.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise ConfigError(
            f"{what} needs {top}, which is not installed: {_HINT}"
        ) from None
