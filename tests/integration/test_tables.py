"""Tables in and out, against the emulator on loopback: requests from Parquet,
CSV, JSONL and Python tables; results as Parquet, CSV and datasets, joined
onto the rows in row order; resume; bad tables exit 2 before any upload."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import streambatch as sb
from streambatch._core.tables import row_id
from streambatch._tables import join as join_module
from streambatch._tables.columns import RESULT_COLUMNS
from streambatch.cli import main
from streambatch.testing import Emulator, expected_text

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]
FAST = sb.PollPolicy(min_delay=0.01, max_delay=0.05)
PROMPT = "Say something about {{ topic }} ({{ n }})"


def table(count: int) -> pa.Table:
    return pa.table(
        {
            "id": [f"r{i}" for i in range(count)],
            "topic": [f"topic {i % 7}" for i in range(count)],
            "n": list(range(count)),
            "text": [f"input text {i}" for i in range(count)],  # a result column name
        }
    )


def expected(row: dict[str, object], model: str = "gpt-4o-mini") -> str:
    body = {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": f"Say something about {row['topic']} ({row['n']})",
            }
        ],
    }
    return expected_text("openai", body)


def run(tmp_path: pathlib.Path, source: pathlib.Path, out: str, *extra: str) -> int:
    return main(
        [
            "run",
            str(source),
            "--provider",
            "openai",
            "--emulator",
            "--emulator-clock",
            "instant",
            "--job-dir",
            str(tmp_path / "job"),
            "-o",
            out,
            "--prompt",
            PROMPT,
            "--model",
            "gpt-4o-mini",
            *POLL,
            *extra,
        ]
    )


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_a_table_file_round_trips_joined_onto_its_rows_in_order(
    tmp_path: pathlib.Path, kind: str
) -> None:
    source = tmp_path / f"in.{kind}"
    rows = table(130)
    if kind == "parquet":
        pq.write_table(rows, source, row_group_size=40)
    elif kind == "csv":
        pacsv.write_csv(rows, source)
    else:
        source.write_text("".join(json.dumps(r) + "\n" for r in rows.to_pylist()))
    out = tmp_path / "out.parquet"
    assert run(tmp_path, source, str(out), "--id-column", "id", "--join-input") == 0
    result = pq.read_table(out)
    assert result.column_names == [*RESULT_COLUMNS, "id", "topic", "n", "input_text"]
    got = result.to_pylist()
    assert [r["custom_id"] for r in got] == [f"r{i}" for i in range(130)]
    for row, original in zip(got, rows.to_pylist(), strict=True):
        assert row["status"] == "succeeded"
        assert row["text"] == expected(original)
        assert (row["id"], row["n"], row["input_text"]) == (
            original["id"],
            original["n"],
            original["text"],
        )
        assert row["input_tokens"] > 0 and row["attempt"] == 1


def test_results_as_csv_and_a_dataset_that_duckdb_and_pyarrow_read(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(table(60), source)
    assert run(tmp_path, source, str(tmp_path / "out.jsonl"), "--id-column", "id") == 0
    job = str(tmp_path / "job")
    dataset = tmp_path / "ds"
    assert main(["results", job, "-o", f"{dataset}/", "--join-input"]) == 0
    assert [p.name for p in dataset.iterdir()] == ["part-00000.parquet"]
    [(count, ids, topics)] = duckdb.sql(
        f"select count(*), count(distinct custom_id), count(distinct topic) "
        f"from read_parquet('{dataset}/*.parquet')"
    ).fetchall()
    assert (count, ids, topics) == (60, 60, 7)
    assert pads.dataset(dataset, format="parquet").count_rows() == 60
    # written again in place: still one dataset, no leftovers beside it
    assert main(["results", job, "-o", str(dataset), "--format", "parquet"]) == 0
    assert pads.dataset(dataset).schema.names == list(RESULT_COLUMNS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ds",
        "in.parquet",
        "job",
        "out.jsonl",
    ]
    csv = tmp_path / "out.csv"
    assert main(["results", job, "-o", str(csv), "--only", "succeeded"]) == 0
    back = pacsv.read_csv(csv)
    assert back.num_rows == 60 and back.column_names == list(RESULT_COLUMNS)
    # the JSONL written by run is the usual records
    first = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert set(first) >= {"custom_id", "status", "text", "usage", "error"}


def test_a_missing_column_exits_2_and_uploads_nothing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(table(5), source)
    out = str(tmp_path / "out.jsonl")
    code = main(
        [
            "submit",
            str(source),
            "--provider",
            "openai",
            "--job-dir",
            str(tmp_path / "job"),
            "--base-url",
            "http://127.0.0.1:9/v1",  # nothing listens: nothing may be sent
            "--prompt",
            "{{ topik }}",
            "--model",
            "m",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"{source}: no column 'topik' in the table" in err
    assert not (tmp_path / "job" / "manifest.json").exists()
    # the same job directory then takes the corrected command
    assert run(tmp_path, source, out) == 0


def test_duplicate_ids_exit_2_naming_the_rows(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,topic,n\na,x,1\nb,y,2\na,z,3\n")
    assert run(tmp_path, source, str(tmp_path / "o.jsonl"), "--id-column", "id") == 2
    err = capsys.readouterr().err
    assert (
        f"{source} row:3: custom_id 'a': duplicate custom_id (first on line 1)" in err
    )


def test_a_resumed_table_job_is_not_sent_again_and_a_changed_table_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(table(20), source)
    out = str(tmp_path / "out.parquet")
    assert run(tmp_path, source, out, "--id-column", "id") == 0
    # the built-in emulator of the first run is gone: a resume may not need it
    assert main(["results", str(tmp_path / "job"), "-o", out]) == 0
    assert pq.read_table(out).num_rows == 20
    capsys.readouterr()
    assert run(tmp_path, source, out, "--id-column", "id", "--system", "new") == 1
    assert "another prompt template" in capsys.readouterr().err
    pq.write_table(table(21), source)
    assert run(tmp_path, source, out, "--id-column", "id") == 1
    assert "has changed since this job was submitted" in capsys.readouterr().err


def test_estimate_renders_the_table(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(table(40), source)
    args = ["estimate", str(source), "--provider", "openai", "--model", "gpt-4o-mini"]
    assert main([*args, "--prompt", PROMPT, "--max-tokens", "10"]) == 0
    out = capsys.readouterr().out
    assert "requests: 40" in out and "output tokens at most (max_tokens): 400" in out


def test_request_options_need_a_prompt(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(table(2), source)
    assert run(tmp_path, source, str(tmp_path / "o"), "--join-input") == 0  # fine
    code = main(["estimate", str(source), "--provider", "openai", "--max-tokens", "5"])
    assert code == 2
    assert "--max-tokens is for requests made from a table" in capsys.readouterr().err


def test_join_input_on_a_job_not_made_from_a_table_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from streambatch.testing.sample import write_sample

    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    args = ["run", str(tmp_path / "in.jsonl"), "--provider", "openai", "--emulator"]
    args += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job"), *POLL]
    assert main([*args, "-o", str(tmp_path / "o.parquet"), "--join-input"]) == 2
    assert "not made from a table" in capsys.readouterr().err
    assert (
        main(["results", str(tmp_path / "job"), "-o", str(tmp_path / "o.parquet")]) == 0
    )
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 5


def frames(count: int) -> Iterator[tuple[str, Any]]:
    rows = table(count)
    yield "pyarrow", rows
    yield (
        "reader",
        pa.RecordBatchReader.from_batches(
            rows.schema, rows.to_batches(max_chunksize=7)
        ),
    )
    yield "pandas", rows.to_pandas()
    yield "polars", pl.from_arrow(rows)
    yield "dicts", iter(rows.to_pylist())


@pytest.mark.parametrize("name", [name for name, _ in frames(1)])
async def test_python_tables_become_jobs_and_come_back_as_frames(
    emulator: Emulator, tmp_path: pathlib.Path, name: str
) -> None:
    source = dict(frames(45))[name]
    async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
        job = await client.submit(
            source, job_dir=tmp_path / "job", prompt=PROMPT, model="gpt-4o-mini"
        )
        with job:
            await job.wait(poll=FAST)
            await job.download()
            joined = job.to_arrow(join_input=True).read_all()
            assert isinstance(job.to_pandas(), pd.DataFrame)
            assert job.to_polars().height == 45
            results = job.to_arrow()
            assert results.schema.names == list(RESULT_COLUMNS)
            assert sum(batch.num_rows for batch in results) == 45
    rows = table(45).to_pylist()
    assert joined.column("n").to_pylist() == list(range(45))
    assert joined.column("custom_id").to_pylist() == [row_id(r) for r in rows] or (
        name in ("pandas", "polars")  # their values hash as they come out
    )
    for got, original in zip(joined.to_pylist(), rows, strict=True):
        assert got["text"] == expected(original)
        assert got["input_text"] == original["text"]


async def test_the_join_spills_to_many_buckets_and_merges_back_in_order(
    emulator: Emulator, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(join_module, "BUCKET_ROWS", 9)
    monkeypatch.setattr(join_module, "WINDOW_ROWS", 13)
    monkeypatch.setattr(join_module, "_RUN_BATCH", 4)
    source = tmp_path / "in.parquet"
    pq.write_table(table(300), source, row_group_size=17)
    async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
        job = await client.submit(
            str(source),
            job_dir=tmp_path / "job",
            prompt=PROMPT,
            id_column="id",
            model="gpt-4o-mini",
            max_requests=70,
        )
        with job:
            await job.wait(poll=FAST)
            await job.download()
            await job.write_results(tmp_path / "out.parquet", join_input=True)
            counts = await job.write_results(
                tmp_path / "some.parquet", join_input=True, only="failed"
            )
    assert counts["succeeded"] == 300
    assert pq.read_table(tmp_path / "some.parquet").num_rows == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("n").to_pylist() == list(range(300))
    assert out.column("custom_id").to_pylist() == [f"r{i}" for i in range(300)]
    assert not (tmp_path / "job" / "table" / "join").exists()
    assert (
        len(pq.ParquetFile(tmp_path / "out.parquet").metadata.to_dict()["row_groups"])
        > 1
    )
