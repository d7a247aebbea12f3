"""What happens to every request before its handler: records, auth, faults, errors.

The one aiohttp middleware of the emulator. It counts requests in flight, logs
each one, checks credentials with the providers' real 401 bodies, injects the
request-level faults (slow, 429, 5xx) and turns any exception into the
provider's error envelope, never a traceback. Imports aiohttp and stdlib.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from ._http import Runtime, provider_of, runtime, send_error
from ._store import RequestRecord

log = logging.getLogger("streambatch.testing")

_OPENAI_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an "
    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). "
    "You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_OPENAI_WRONG_KEY = (
    "Incorrect API key provided. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
_SERVER_ERRORS = {
    "openai": (500, 503),
    "azure": (500, 503),
    "anthropic": (500, 529),
    "gemini": (500, 503),
    "mistral": (500, 503),
}
_AZURE_BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make "
    "sure to provide a valid key for an active subscription and use a correct "
    "regional API endpoint for your resource."
)
_GEMINI_BAD_KEY = "API key not valid. Please pass a valid API key."
_SERVER_MESSAGES = {
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
    529: "Overloaded",
}


def _key_matches(given: str, wanted: str | None) -> bool:
    if wanted is None:
        return bool(given)
    return hmac.compare_digest(given.encode(), wanted.encode())


async def _check_auth(
    request: web.Request, state: Runtime
) -> web.StreamResponse | None:
    wanted = state.store.config.api_key
    if provider_of(request) == "gemini":
        if "upload_id" in request.query:  # the session URL is the credential
            return None
        key = request.headers.get("x-goog-api-key", "")
        if not key:
            message = "Method doesn't allow unregistered callers."
            return await send_error(request, 403, message)
        if not _key_matches(key, wanted):
            return await send_error(request, 400, _GEMINI_BAD_KEY)
        return None
    if provider_of(request) == "azure":
        key = request.headers.get("api-key", "")
        if not key or not _key_matches(key, wanted):
            return await send_error(request, 401, _AZURE_BAD_KEY, code="401")
        return None
    if provider_of(request) == "anthropic":
        # anthropic>=0.7x SDKs send the key as a Bearer token; accept both.
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        key = request.headers.get("x-api-key", "")
        if not key and scheme.lower() == "bearer":
            key = bearer.strip()
        if not key:
            return await send_error(request, 401, "x-api-key header is required")
        if not _key_matches(key, wanted):
            return await send_error(request, 401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return await send_error(
                request, 400, "anthropic-version: header is required"
            )
        return None
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return await send_error(request, 401, _OPENAI_MISSING_KEY)
    if not _key_matches(key.strip(), wanted):
        return await send_error(request, 401, _OPENAI_WRONG_KEY, code="invalid_api_key")
    return None


async def _inject(request: web.Request, state: Runtime) -> web.StreamResponse | None:
    faults = state.faults
    if state.draw(faults.slow_rate):
        await state.store.clock.sleep(faults.slow_seconds)
    if state.draw(faults.rate_limit_rate):
        delay = faults.retry_after_seconds
        text = str(int(delay)) if delay == int(delay) else f"{delay:g}"
        return await send_error(
            request,
            429,
            "Rate limit reached for requests. Please try again later.",
            headers={"Retry-After": text},
            code="rate_limit_exceeded",
        )
    if state.draw(faults.server_error_rate):
        status = state.rng.choice(_SERVER_ERRORS[provider_of(request)])
        return await send_error(request, status, _SERVER_MESSAGES[status])
    return None


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = runtime(request)
    early = await _check_auth(request, state) or await _inject(request, state)
    if early is not None:
        return early
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = f"Invalid URL ({request.method} {request.path})"
        if exc.status != 404:
            message = exc.reason
        return await send_error(request, exc.status, message)
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("emulator error on %s %s", request.method, request.path)
        return await send_error(request, 500, _SERVER_MESSAGES[500])
    creates = (
        "/v1/batches",
        "/v1/messages/batches",
        "/azure/openai/v1/batches",
        "/azure/openai/batches",
        "/mistral/v1/batch/jobs",
    )
    create = request.path in creates or request.path.endswith(":batchGenerateContent")
    lost = request.method == "POST" and create and not response.prepared
    if lost and state.draw(state.faults.lost_response_rate):
        return await send_error(request, 500, _SERVER_MESSAGES[500])
    return response


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record, authenticate, inject faults and map errors for one request."""
    traffic = runtime(request).store.traffic
    traffic.in_flight += 1
    traffic.peak_in_flight = max(traffic.peak_in_flight, traffic.in_flight)
    status = 0
    try:
        response = await _answer(request, handler)
        status = response.status
        return response
    finally:
        traffic.in_flight -= 1
        traffic.log.append(RequestRecord(request.method, request.path, status))
