"""The benchmark generator's Gemini lines have the documented shape (PROVIDERS.md 5.5),
and every parsing method of the benchmark reads them to the same checksum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import _gen, _methods


def _check_gemini(line: dict[str, Any]) -> bool:
    """Assert the shape of one Gemini line; return whether it is an error line."""
    if "error" in line:
        assert set(line) == {"key", "error"}
        assert set(line["error"]) == {"code", "message", "status"}
        return True
    assert set(line) == {"key", "response"}
    response = line["response"]
    assert set(response) == {
        "candidates",
        "usageMetadata",
        "modelVersion",
        "responseId",
    }
    (candidate,) = response["candidates"]
    assert candidate["finishReason"] in ("STOP", "MAX_TOKENS")
    parts = candidate["content"]["parts"]
    assert candidate["content"]["role"] == "model"
    answer = [p for p in parts if not p.get("thought")]
    assert len(answer) == 1 and 50 <= len(answer[0]["text"]) <= 2000
    usage = response["usageMetadata"]
    thoughts = usage.get("thoughtsTokenCount", 0)
    assert bool(thoughts) == (len(parts) == 2)
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + thoughts
    )
    return False


def test_every_method_agrees_on_gemini_output(tmp_path: Path) -> None:
    path = tmp_path / "gemini.jsonl"
    _gen.write_file(path, "gemini", 500_000, seed=5)
    sums = {
        name: _methods.METHODS[name]("gemini")(str(path)).checksum()
        for name in ("json", "streambatch", "streambatch-sync")
    }
    assert len({repr(value) for value in sums.values()}) == 1, sums
    assert sums["streambatch"]["counts"]["succeeded"] > 0
