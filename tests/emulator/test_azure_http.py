"""The emulator's Azure routes and OpenAI-compatible quirks over raw HTTP."""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import pytest

from streambatch.testing import OPENAI_QUIRKS, Emulator, EmulatorConfig, Timings
from streambatch.testing._cli import add_arguments, config_from

from ._support import chat_line, jsonl


async def _upload_and_create(
    http: aiohttp.ClientSession, base: str, query: dict[str, str]
) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("purpose", "batch")
    form.add_field("expires_after[anchor]", "created_at")
    form.add_field("expires_after[seconds]", "1209600")
    form.add_field("file", jsonl([chat_line(i) for i in range(3)]), filename="in.jsonl")
    async with http.post(f"{base}/files", data=form, params=query) as response:
        assert response.status == 200, await response.text()
        file_id = (await response.json())["id"]
    body = {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    async with http.post(f"{base}/batches", json=body, params=query) as response:
        assert response.status == 200, await response.text()
        created: dict[str, Any] = await response.json()
        return created


async def test_a_validating_azure_batch_has_null_counts_and_iso_times() -> None:
    config = EmulatorConfig(timings=Timings(validating=3600.0))
    async with (
        Emulator(config) as emulator,
        aiohttp.ClientSession(headers={"api-key": "k"}) as http,
    ):
        base = emulator.azure_endpoint + "/openai"
        created = await _upload_and_create(http, base, {"api-version": "2024-10-21"})
    assert created["status"] == "Validating"
    assert created["request_counts"] == {
        "total": None,
        "completed": None,
        "failed": None,
    }
    assert created["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"api-key": "wrong"}, 401), ({"Authorization": "Bearer k"}, 401)],
)
async def test_the_api_key_header_is_checked(
    headers: dict[str, str], status: int
) -> None:
    async with (
        Emulator(EmulatorConfig(api_key="k")) as emulator,
        aiohttp.ClientSession(headers=headers) as http,
        http.get(emulator.azure_endpoint + "/openai/v1/batches") as response,
    ):
        assert response.status == status
        body = await response.json()
    assert "Access denied" in body["error"]["message"]


async def test_classic_routes_want_an_api_version() -> None:
    async with (
        Emulator() as emulator,
        aiohttp.ClientSession(headers={"api-key": "k"}) as http,
        http.get(emulator.azure_endpoint + "/openai/batches") as response,
    ):
        assert response.status == 404
        assert "api-version" in (await response.json())["error"]["message"]


async def test_openai_routes_are_unchanged_without_quirks() -> None:
    async with (
        Emulator() as emulator,
        aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as http,
    ):
        created = await _upload_and_create(http, emulator.openai_base_url, {})
    assert created["status"] == "validating" and isinstance(created["created_at"], int)


def test_the_quirks_are_a_command_line_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--openai-quirks", "upper_status,job_wrapper"])
    config = config_from(args)
    assert config.openai_quirks == frozenset({"upper_status", "job_wrapper"})
    assert config_from(parser.parse_args([])).openai_quirks == frozenset()
    with pytest.raises(SystemExit):
        parser.parse_args(["--openai-quirks", "upper_status,nonsense"])


def test_an_unknown_quirk_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quirks"):
        EmulatorConfig(openai_quirks=frozenset({"nonsense"}))
    assert EmulatorConfig(openai_quirks=frozenset(OPENAI_QUIRKS)).openai_quirks


@pytest.mark.parametrize(
    ("field", "seconds", "status"),
    [
        ("expires_after[seconds]", "1209600", 200),
        ("expires_after.seconds", "2592000", 200),
        ("expires_after[seconds]", "3600", 400),  # OpenAI's least, below Azure's
        ("expires_after.seconds", "2592001", 400),
    ],
)
async def test_azure_file_expiry_is_14_to_30_days(
    field: str, seconds: str, status: int
) -> None:
    form = aiohttp.FormData()
    form.add_field("purpose", "batch")
    form.add_field(field, seconds)
    form.add_field("file", jsonl([chat_line(0)]), filename="in.jsonl")
    async with (
        Emulator() as emulator,
        aiohttp.ClientSession(headers={"api-key": "k"}) as http,
        http.post(emulator.azure_endpoint + "/openai/v1/files", data=form) as response,
    ):
        assert response.status == status, await response.text()
