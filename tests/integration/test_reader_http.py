"""The streaming reader over a real aiohttp server on loopback, body dribbled."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streambatch import Result
from streambatch._providers.parse import ResultParser
from streambatch._results import open_results

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"
BODY = (FIXTURES / "openai_output.jsonl").read_bytes() + (
    FIXTURES / "openai_errors.jsonl"
).read_bytes()


def dribbling_app(body: bytes) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        piece = int(request.match_info["piece"])
        response = web.StreamResponse(headers={"Content-Type": "application/jsonl"})
        await response.prepare(request)
        for start in range(0, len(body), piece):
            await response.write(body[start : start + piece])
            await asyncio.sleep(0)  # let every piece go out on its own
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{piece}", handler)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    srv = TestServer(dribbling_app(BODY), host="127.0.0.1", port=0)
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


def open_paths() -> set[str]:
    fds = pathlib.Path("/proc/self/fd")
    paths = set()
    for fd in fds.iterdir():
        try:
            paths.add(str(fd.readlink()))
        except OSError:
            continue
    return paths


def expected() -> list[Result]:
    parser = ResultParser("openai")
    return parser.feed(BODY) + parser.close()


@pytest.mark.parametrize("piece", [1, 7, 64])
async def test_records_survive_any_piece_size(server: TestServer, piece: int) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url(f"/{piece}")) as response,
        open_results(response.content.iter_chunked(1 << 16), provider="openai") as rows,
    ):
        got = [row async for row in rows]
    assert got == expected()
    assert len(got) == 12


async def test_reading_a_file_and_leaving_early_closes_it(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(BODY * 50)
    first: list[Result] = []
    async with open_results(path, provider="openai", chunk_bytes=512) as rows:
        async for row in rows:
            first.append(row)
            if len(first) == 3:
                assert str(path) in open_paths()
                break
    assert [r.custom_id for r in first] == ["chat-1", "chat-tool", "chat-refusal"]
    assert str(path) not in open_paths()
    async with open_results(str(path), provider="openai", chunk_bytes=4096) as rows:
        count = sum([1 async for _ in rows])
    assert count == 12 * 50
