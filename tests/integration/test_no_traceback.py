"""No line, key, environment value or option a user can give makes a traceback:
the command line exits 0, or 2 (usage, input) or 1 (anything else) with one
line; bad options and a missing input exit 2 before anything is created.

Hypothesis feeds mangled request lines, keys, environment values and option
values through ``main``. Base URLs are drawn so that none can name a host off
this machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import tempfile
from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from streambatch.cli import main
from streambatch.testing.sample import sample_requests

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ENV}
    try:
        for name in ENV:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cli(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the command line in process; its exit code and stderr."""
    err = io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
        _environment(env or {}),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def check_one_line(code: int, err: str, source: pathlib.Path | None = None) -> None:
    """One line of error; bad input lines (InvalidInput) add one row each."""
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code:
        head, *rows = err.splitlines()
        assert head.startswith("streambatch") and err.endswith("\n"), err
        if rows:
            assert code == 2 and source is not None, err
            row = re.compile(rf"{re.escape(str(source))}:\d+: |\.\.\. and \d+ more$")
            assert all(row.match(r) for r in rows), err


# --- mangled request lines ---------------------------------------------------

_WEIRD_JSON = [
    b"null",
    b"1e999",
    b"-0",
    b'""',
    b"[]",
    b"{}",
    b"true",
    b"123456789012345678901234567890",
    b'"\\u0000"',
    b'"\\ud800"',
    b'"x\\n"',
    b'"x\n"',
    b'"\xff\xfe"',
    b'{"a": [[[[[[[[[[]]]]]]]]]]}',
    b'"' + b"\xc3" + b'"',
]


def _lines(provider: str) -> list[bytes]:
    return [msgspec.json.encode(r) for r in sample_requests(provider, 3)]


@st.composite
def mangled(draw: st.DrawFn, provider: str) -> bytes:
    """An input of sample lines, some of them broken in one way or another."""
    lines = _lines(provider)
    out = []
    for line in lines:
        how = draw(st.sampled_from(["keep", "insert", "cut", "value", "key", "bytes"]))
        if how == "insert":
            at = draw(st.integers(0, len(line)))
            line = line[:at] + draw(st.binary(min_size=1, max_size=8)) + line[at:]
        elif how == "cut":
            line = line[: draw(st.integers(0, len(line) - 1))]
        elif how == "value":
            values = list(re.finditer(rb':("[^"]*"|[0-9]+)', line))
            target = draw(st.sampled_from(values))
            line = (
                line[: target.start(1)]
                + draw(st.sampled_from(_WEIRD_JSON))
                + line[target.end(1) :]
            )
        elif how == "key":
            keys = list(re.finditer(rb'"([a-z_]+)":', line))
            target = draw(st.sampled_from(keys))
            name = draw(st.sampled_from([b"", b"custom_id", b"\xff", b"params", b"x"]))
            line = line[: target.start(1)] + name + line[target.end(1) :]
        elif how == "bytes":
            line = line.replace(
                b"e", draw(st.sampled_from([b"\xff", b"\x00", b"\r"])), 1
            )
        out.append(line)
    end = draw(st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + end.join(out) + end


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@SETTINGS
@given(data=st.data())
def test_mangled_lines_never_make_a_traceback(
    provider: str, data: st.DataObject
) -> None:
    payload = data.draw(mangled(provider))
    with tempfile.TemporaryDirectory() as tmp:
        source = pathlib.Path(tmp) / "in.jsonl"
        source.write_bytes(payload)
        for command in (
            ["estimate", str(source), "--provider", provider],
            [
                "run",
                str(source),
                "--provider",
                provider,
                "--emulator",
                "--emulator-clock",
                "instant",
                "--job-dir",
                str(pathlib.Path(tmp) / "job"),
                "-o",
                str(pathlib.Path(tmp) / "out.jsonl"),
                "--quiet",
            ],
        ):
            check_one_line(*cli(command), source)


# --- option values -------------------------------------------------------------

_NUMBERS = ["0", "-1", "nan", "inf", "-inf", "1e999", "1.5", "0.0", "2", "1e3"]
_OTHER = ["", " ", "abc", "99999999999999999999999", "10MB", "0kb", "5x", "\x00"]
_VALUES = st.sampled_from([*_NUMBERS, *_OTHER, "--", "-o"]) | st.text(max_size=6)
_OPTIONS = [
    "--poll-min",
    "--poll-max",
    "--max-requests",
    "--max-bytes",
    "--api-key-env",
    "--max-cost",
    "--price",
]


@SETTINGS
@given(
    options=st.lists(st.tuples(st.sampled_from(_OPTIONS), _VALUES), max_size=3),
    provider=st.sampled_from(["openai", "anthropic"]),
)
def test_option_values_never_make_a_traceback(
    options: list[tuple[str, str]], provider: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = pathlib.Path(tmp) / "in.jsonl"
        source.write_bytes(b"\n".join(_lines(provider)) + b"\n")
        argv = ["run", str(source), "--provider", provider, "--emulator"]
        argv += ["--emulator-clock", "instant", "--job-dir", f"{tmp}/job", "--quiet"]
        argv += ["-o", f"{tmp}/out.jsonl"]
        for name, value in options:
            argv += [name, value]
        code, err = cli(argv)
        check_one_line(code, err, source)  # --max-bytes 2: each line is named
        if code == 2:  # refused before anything was created
            assert not (pathlib.Path(tmp) / "job" / "manifest.json").exists()


def _not_remote(text: str) -> bool:
    """No http(s) URL at all: nothing drawn can send a request off this machine."""
    return re.match(r"(?i)\s*https?:", text) is None


_URLS = st.sampled_from(
    [
        "http://127.0.0.1:abc",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "http://[::1",
        "http:///v1",
        "https://",
        "ftp://127.0.0.1/",
        "127.0.0.1:8080",
    ]  # never "": an empty base URL means the provider's public one
) | st.text(min_size=1, max_size=20).filter(_not_remote)


@SETTINGS
@given(
    key=st.text(max_size=20),
    url=_URLS,
    provider=st.sampled_from(["openai", "anthropic"]),
    via=st.sampled_from(["flag", "env"]),
)
def test_keys_and_base_urls_never_make_a_traceback(
    key: str, url: str, provider: str, via: str
) -> None:
    if "\x00" in key or "\x00" in url:
        return  # the environment cannot hold a NUL byte
    with tempfile.TemporaryDirectory() as tmp:
        source = pathlib.Path(tmp) / "in.jsonl"
        source.write_bytes(b"\n".join(_lines(provider)) + b"\n")
        env = {f"{provider.upper()}_API_KEY": key}
        argv = ["submit", str(source), "--provider", provider]
        argv += ["--job-dir", f"{tmp}/job", "--quiet"]
        if via == "flag":
            argv += ["--base-url", url]
        else:
            env[f"{provider.upper()}_BASE_URL"] = url
        with contextlib.suppress(UnicodeEncodeError):  # not a valid environment
            check_one_line(*cli(argv, env))
        # the key alone, against the built-in emulator (run: it ends with it)
        argv = ["run", *argv[1:], "-o", f"{tmp}/out.jsonl"]
        argv += ["--emulator", "--emulator-clock", "instant"]
        with contextlib.suppress(UnicodeEncodeError):
            check_one_line(*cli(argv, env))


# --- exit 2 before anything runs ---------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ["--poll-min", "0"],
        ["--poll-min", "nan"],
        ["--poll-max", "-1"],
        ["--poll-min", "10", "--poll-max", "1"],
        ["--max-requests", "0"],
        ["--max-bytes", "0"],
    ],
)
def test_bad_options_exit_2_before_a_batch_is_created(
    tmp_path: pathlib.Path, options: list[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(_lines("openai")) + b"\n")
    argv = ["run", str(source), "--provider", "openai", "--emulator"]
    argv += ["--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "o.jsonl")]
    code, err = cli([*argv, *options])
    assert code == 2
    check_one_line(code, err)
    assert not (tmp_path / "job").exists()


def test_a_bad_wait_timeout_exits_2(tmp_path: pathlib.Path) -> None:
    for value in ("0", "-3", "nan", "inf"):
        code, err = cli(["wait", str(tmp_path), "--timeout", value])
        assert code == 2, value
        check_one_line(code, err)


@pytest.mark.parametrize("command", ["run", "submit", "estimate"])
def test_a_missing_or_unreadable_input_exits_2(
    tmp_path: pathlib.Path, command: str
) -> None:
    for source in (tmp_path / "missing.jsonl", tmp_path):
        argv = [command, str(source), "--provider", "openai"]
        if command != "estimate":
            argv += ["--emulator", "--job-dir", str(tmp_path / "job")]
        if command == "run":
            argv += ["-o", str(tmp_path / "o.jsonl")]
        code, err = cli(argv)
        assert code == 2, (source, err)
        check_one_line(code, err)
        assert not (tmp_path / "job").exists()


def test_a_model_name_with_a_line_break_is_named_on_one_line(
    tmp_path: pathlib.Path,
) -> None:
    """A line whose model holds a newline: estimate's "no price" refusal names
    it escaped, on its one line (it was printed raw, over two)."""
    source = tmp_path / "in.jsonl"
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "x\ny", "messages": [{"role": "user", "content": "q"}]},
    }
    source.write_text(json.dumps(line) + "\n")
    code, err = cli(["estimate", str(source), "--provider", "openai"])
    assert code == 2
    check_one_line(code, err, source)
    assert "'x\\ny'" in err
