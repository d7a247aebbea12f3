"""A structured job's results as tables: the schema's fields as typed columns
(Parquet files, datasets, ``Job.to_arrow``), a ``parsed`` JSON text column
(CSV), read back with pyarrow and DuckDB, against the emulator."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from streambatch.cli import main
from streambatch.testing import Emulator

from .test_cli import POLL
from .test_jobs import client_for, finish
from .test_structured import SCHEMA, Facts

CUT = {3, 7}  # the requests whose token cap cuts their JSON short: mismatches
TYPED = {
    "parsed_city": pa.string(),
    "parsed_people": pa.int64(),
    "parsed_kind": pa.string(),
    "parsed_tags": pa.list_(pa.string()),
    "parsed_where": pa.struct([("lat", pa.float64()), ("coastal", pa.bool_())]),
}


def requests(count: int) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "gpt-4o-mini",
                "max_tokens": 3 if n in CUT else 500,
                "messages": [{"role": "user", "content": f"Facts about city {n}"}],
            },
        }
        for n in range(count)
    ]


def write_input(tmp_path: pathlib.Path, count: int) -> pathlib.Path:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in requests(count)))
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    return source


def results(tmp_path: pathlib.Path, out: pathlib.Path | str) -> int:
    return main(["results", str(tmp_path / "job"), "-o", str(out)])


def json_lines(path: pathlib.Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    return {row["custom_id"]: row for row in rows}


def check_typed(table: pa.Table, lines: dict[str, dict[str, Any]]) -> None:
    """``table`` has the typed columns, equal to the JSON lines' ``parsed``,
    null where the record errored."""
    assert {name: table.schema.field(name).type for name in TYPED} == TYPED
    assert table.column_names[:12] == [
        "custom_id",
        "status",
        "text",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "stop_reason",
        "error_type",
        "error_message",
        "status_code",
        "batch_id",
        "attempt",
    ]
    assert len(table) == len(lines)
    for row in table.to_pylist():
        line = lines[row["custom_id"]]
        assert row["status"] == line["status"]
        if int(row["custom_id"][1:]) in CUT:
            assert row["status"] == "errored"
            assert row["error_type"] == "schema_mismatch"
            assert all(row[name] is None for name in TYPED)
            continue
        assert row["status"] == "succeeded", row
        parsed = {name[len("parsed_") :]: row[name] for name in TYPED}
        assert parsed == line["parsed"] == json.loads(row["text"])


def test_cli_results_as_typed_parquet_a_dataset_and_csv(
    tmp_path: pathlib.Path,
) -> None:
    source = write_input(tmp_path, 12)
    out = tmp_path / "out.parquet"
    argv = ["run", str(source), "--provider", "openai", "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job")]
    argv += ["--schema", str(tmp_path / "schema.json"), "-o", str(out), *POLL]
    assert main(argv) == 0
    assert results(tmp_path, tmp_path / "out.jsonl") == 0
    lines = json_lines(tmp_path / "out.jsonl")
    check_typed(pq.read_table(out), lines)

    # DuckDB reads the typed columns as its own types: a struct, a list
    query = (
        "SELECT custom_id, parsed_people + 1 AS more, parsed_where.lat AS lat, "
        "len(parsed_tags) AS n_tags FROM read_parquet(?) "
        "WHERE status = 'succeeded' ORDER BY custom_id"
    )
    db = duckdb.connect()  # its own: the module's default is shared by tests
    found = db.execute(query, [str(out)]).fetchall()
    want = sorted(
        (
            cid,
            r["parsed"]["people"] + 1,
            r["parsed"]["where"]["lat"],
            len(r["parsed"]["tags"]),
        )
        for cid, r in lines.items()
        if r["status"] == "succeeded"
    )
    assert found == want
    nulls = db.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE parsed_city IS NULL", [str(out)]
    ).fetchall()
    db.close()
    assert nulls == [(len(CUT),)]

    # a dataset: the same typed columns, read as one table
    assert results(tmp_path, f"{tmp_path / 'ds'}/") == 0
    check_typed(pads.dataset(tmp_path / "ds", format="parquet").to_table(), lines)

    # CSV has no nested types: the parsed value's JSON text
    assert results(tmp_path, tmp_path / "out.csv") == 0
    nullable = pacsv.ConvertOptions(strings_can_be_null=True)
    csv = pacsv.read_csv(tmp_path / "out.csv", convert_options=nullable).to_pylist()
    for row in csv:
        want_parsed = lines[row["custom_id"]].get("parsed")
        got = None if row["parsed"] is None else json.loads(row["parsed"])
        assert got == want_parsed


def test_a_job_without_a_schema_has_no_parsed_columns(tmp_path: pathlib.Path) -> None:
    source = write_input(tmp_path, 3)
    argv = ["run", str(source), "--provider", "openai", "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job")]
    argv += ["-o", str(tmp_path / "out.parquet"), *POLL]
    assert main(argv) == 0
    names = pq.read_schema(tmp_path / "out.parquet").names
    assert not [n for n in names if n.startswith("parsed")]


async def test_python_to_arrow_and_pandas_have_the_typed_columns(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    async with client_for(emulator, "openai") as client:
        job = await client.submit(requests(9), job_dir=tmp_path / "job", schema=Facts)
        with job:
            records = {r.custom_id: r for r in await finish(job)}
            table = job.to_arrow().read_all()
            frame = job.to_pandas()
    # Facts leaves out kind: its JSON Schema has the four other fields
    assert [n for n in table.column_names if n.startswith("parsed_")] == [
        "parsed_city",
        "parsed_people",
        "parsed_tags",
        "parsed_where",
    ]
    assert table.schema.field("parsed_people").type == pa.int64()
    for row in table.to_pylist():
        record = records[row["custom_id"]]
        assert row["status"] == record.status
        if record.status != "succeeded":
            assert int(row["custom_id"][1:]) in CUT
            assert row["parsed_city"] is None and row["parsed_where"] is None
            continue
        assert row["parsed_city"] == record.parsed["city"]
        assert row["parsed_where"] == record.parsed["where"]
        assert row["parsed_tags"] == record.parsed["tags"]
    errored = frame[frame["status"] == "errored"]["custom_id"]
    assert set(errored) == {f"r{n}" for n in CUT}
    assert frame["parsed_people"].isna().sum() == len(CUT)


def test_a_table_job_with_a_schema_asks_for_it_and_joins_typed_columns(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "cities.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [f"c{i}" for i in range(8)],
                "city": [f"town {i}" for i in range(8)],
                "parsed_city": ["an input column named like a parsed one"] * 8,
            }
        ),
        source,
    )
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    job = tmp_path / "job"
    argv = ["run", str(source), "--provider", "openai", "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", str(job), *POLL]
    argv += ["--prompt", "Facts about {{ city }}", "--id-column", "id"]
    argv += ["--model", "gpt-4o-mini", "--schema", str(tmp_path / "schema.json")]
    out = tmp_path / "out.parquet"
    assert main([*argv, "-o", str(out), "--join-input"]) == 0

    # every request rendered from the table asks for the schema
    for chunk in sorted((job / "chunks").glob("chunk-*.jsonl")):
        for line in chunk.read_bytes().splitlines():
            body = json.loads(line)["body"]
            assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    table = pq.read_table(out)
    assert {name: table.schema.field(name).type for name in TYPED} == TYPED
    assert table.column("input_parsed_city").to_pylist()[0].startswith("an input")
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [f"c{i}" for i in range(8)]  # row order
    for row in rows:
        assert row["status"] == "succeeded"
        parsed = {name[len("parsed_") :]: row[name] for name in TYPED}
        assert parsed == json.loads(row["text"])

    # joined JSON lines carry a parsed object, as unjoined ones do
    assert results_joined(tmp_path, tmp_path / "joined.jsonl") == 0
    for line in (tmp_path / "joined.jsonl").read_bytes().splitlines():
        row = json.loads(line)
        assert row["parsed"] == json.loads(row["text"])
        assert row["city"].startswith("town ")


def results_joined(tmp_path: pathlib.Path, out: pathlib.Path) -> int:
    return main(["results", str(tmp_path / "job"), "-o", str(out), "--join-input"])


async def test_python_table_job_with_a_schema_comes_back_typed_in_polars(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    pl = pytest.importorskip("polars")
    rows = [{"id": f"p{i}", "city": f"town {i}"} for i in range(5)]
    async with client_for(emulator, "anthropic") as client:
        job = await client.submit(
            rows,
            job_dir=tmp_path / "job",
            prompt="Facts about {{ city }}",
            id_column="id",
            model="claude-haiku-4-5",
            max_tokens=500,
            schema=Facts,
        )
        with job:
            records = {r.custom_id: r for r in await finish(job)}
            frame = job.to_polars(join_input=True)
    assert frame.schema["parsed_people"] == pl.Int64
    assert frame.schema["parsed_where"] == pl.Struct(
        {"lat": pl.Float64, "coastal": pl.Boolean}
    )
    assert frame["city"].to_list() == [r["city"] for r in rows]
    for row in frame.iter_rows(named=True):
        record = records[row["custom_id"]]
        assert record.status == "succeeded"
        assert row["parsed_city"] == record.parsed["city"]
        assert row["parsed_where"] == record.parsed["where"]
