"""`streambatch emulator`: every knob is a flag; the process serves until SIGTERM."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import urllib.request

from streambatch.cli import build_parser
from streambatch.testing import Faults, Limits, Timings
from streambatch.testing._cli import config_from


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def test_every_fault_and_limit_is_a_flag() -> None:
    argv = ["emulator", "--port", "0", "--clock", "fast", "--time-scale", "60"]
    expected: dict[str, object] = {}
    for index, item in enumerate(dataclasses.fields(Faults)):
        if isinstance(item.default, bool):
            argv.append(_flag(item.name))
            expected[item.name] = True
        else:
            value = (
                index + 2 if isinstance(item.default, int) else round(0.01 * index, 2)
            )
            argv += [_flag(item.name), str(value)]
            expected[item.name] = value
    for item in dataclasses.fields(Limits):
        argv += [_flag(item.name), "1234"]
    config = config_from(build_parser().parse_args(argv))
    assert dataclasses.asdict(config.faults) == expected
    assert dataclasses.asdict(config.limits) == dict.fromkeys(
        (f.name for f in dataclasses.fields(Limits)), 1234
    )
    assert config.timings == dataclasses.replace(Timings.fast(), speed=60.0)


def test_non_loopback_host_needs_allow_remote() -> None:
    args = build_parser().parse_args(["emulator", "--host", "0.0.0.0", "--port", "0"])
    assert args.handler(args) == 2


def test_process_prints_its_url_first_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "streambatch", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            f"{url}/v1/batches", headers={"Authorization": "Bearer k"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response) == {
                "object": "list",
                "data": [],
                "first_id": None,
                "last_id": None,
                "has_more": False,
            }
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_the_command_lines_parser_loads_neither_server_nor_client() -> None:
    """Every command builds the parser, whose `emulator` subcommand needs only the
    emulator's options: the server (aiohttp's web side) loads when one is served,
    so a command line that talks to a provider starts without it. Nor does it load
    the HTTP client: that comes with the command run, so `--help` and the worker
    processes of `results` (which import the console script) start without it."""
    code = (
        "import sys; from streambatch.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('aiohttp', 'streambatch._client', "
        "'streambatch.testing._emulator') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
