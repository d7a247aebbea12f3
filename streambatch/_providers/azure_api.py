"""Azure OpenAI's Files and Batches API, as pure flows.

Wire shapes from PROVIDERS.md 3, checked against the official ``openai`` SDK's
``AzureOpenAI`` client: the key travels in an ``api-key`` header; the classic
routes are ``{endpoint}/openai/{files,batches}?api-version=...``, the newer ones
``{endpoint}/openai/v1/{files,batches}`` without a version. Everything else is
OpenAI's shape (capitalised statuses, ISO timestamps and null counts are read by
the OpenAI flows already).

Which routes a job uses is chosen by the URL given (:func:`azure_api`):

- ``https://NAME.openai.azure.com`` or ``.../openai/v1``: the v1 routes;
- ``https://NAME.openai.azure.com/openai?api-version=2024-10-21`` (or the bare
  endpoint with ``?api-version=...``): the classic routes at that version.

Uploads set ``expires_after`` (form fields ``expires_after[anchor]`` and
``expires_after[seconds]``, as the SDK serialises them): files that expire count
against the 10,000-file quota instead of the 500-file one.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .._core.pack import ChunkLimits
from .._errors import ConfigError
from .openai_api import OpenAIBatches

__all__ = ("FILE_TTL_SECONDS", "LIMITS", "AzureBatches", "azure_api")

LIMITS = ChunkLimits(100_000, 198_000_000)
"""PROVIDERS.md 3 "Limits": 100,000 requests per file, a 200 MB input file (less
1%, as OpenAI's)."""

FILE_TTL_SECONDS = 1_209_600
"""How long an uploaded input file lives (14 days, the least Azure allows)."""


class AzureBatches(OpenAIBatches):
    """The Azure OpenAI batch API; ``api_version`` None means the v1 routes."""

    name = "azure"
    default_base_url = ""
    key_env = "AZURE_OPENAI_API_KEY"

    def __init__(self, api_version: str | None = None) -> None:
        super().__init__(
            query={"api-version": api_version} if api_version else None,
            upload_fields={
                "expires_after[anchor]": "created_at",
                "expires_after[seconds]": str(FILE_TTL_SECONDS),
            },
        )
        self.api_version = api_version

    def auth_headers(self, key: str) -> dict[str, str]:
        """Key authentication: the ``api-key`` header."""
        return {"api-key": key}


def azure_api(url: str) -> tuple[str, AzureBatches]:
    """The base URL requests are joined to, and the API, for what the user gave.

    Raises:
        ConfigError: no endpoint, or a classic ``/openai`` URL without an
            ``api-version``.
    """
    if not url:
        raise ConfigError(
            "no Azure endpoint: pass --base-url https://NAME.openai.azure.com "
            "or set AZURE_OPENAI_ENDPOINT"
        )
    parts = urlsplit(url)
    version = dict(parse_qsl(parts.query)).get("api-version")
    path = parts.path.rstrip("/")
    base = urlunsplit((parts.scheme, parts.netloc, "", "", "")).rstrip("/")
    if version:
        if path.endswith("/openai/v1"):
            raise ConfigError(
                f"{url}: the /openai/v1 routes take no api-version; "
                "drop one or the other"
            )
        path = path if path.endswith("/openai") else path + "/openai"
        return base + path, AzureBatches(version)
    if path.endswith("/openai"):
        raise ConfigError(
            f"{url}: the classic /openai routes need ?api-version=... "
            "(or use the /openai/v1 routes: give the endpoint alone)"
        )
    path = path if path.endswith("/openai/v1") else path + "/openai/v1"
    return base + path, AzureBatches(None)


AZURE = AzureBatches()
"""The v1-routes API (the one listed; :func:`azure_api` picks per URL)."""
