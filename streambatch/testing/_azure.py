"""Azure OpenAI's Files and Batches routes, under ``/azure``.

Both URL shapes of PROVIDERS.md 3: ``/azure/openai/v1/...`` and the classic
``/azure/openai/...?api-version=...``. They reuse the OpenAI handlers (Azure's
wire is OpenAI's); the middleware checks the ``api-key`` header and
``_azure_wire.reshape`` gives the answers Azure's own look. Azure's batches and
files share the emulator's OpenAI store. Imports aiohttp and stdlib only.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _openai_batches, _openai_files
from ._azure_wire import AZURE_PREFIX
from ._http import send_error

__all__ = ("add_routes",)

_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "files", _openai_files.upload),
    ("GET", "files", _openai_files.listing),
    ("GET", "files/{file_id}", _openai_files.retrieve),
    ("GET", "files/{file_id}/content", _openai_files.content),
    ("DELETE", "files/{file_id}", _openai_files.delete),
    ("POST", "batches", _openai_batches.create),
    ("GET", "batches", _openai_batches.listing),
    ("GET", "batches/{batch_id}", _openai_batches.retrieve),
    ("POST", "batches/{batch_id}/cancel", _openai_batches.cancel),
)


def _versioned(handler: Handler) -> Handler:
    """A classic route: refused without ``api-version``, as Azure does."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if not request.query.get("api-version"):
            message = (
                "Missing required query parameter 'api-version' "
                "(or use the /openai/v1 routes)."
            )
            return await send_error(request, 404, message)
        return await handler(request)

    return answer


def add_routes(app: web.Application) -> None:
    """Register Azure's routes, both shapes."""
    for method, path, handler in _ROUTES:
        app.router.add_route(method, f"{AZURE_PREFIX}/openai/v1/{path}", handler)
        classic = _versioned(handler)
        app.router.add_route(method, f"{AZURE_PREFIX}/openai/{path}", classic)
