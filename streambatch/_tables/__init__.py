"""Tables in and out: requests rendered from table rows, results written as
Parquet or CSV, and results joined onto the rows they answer (docs/tables.md).

Everything here needs the ``parquet`` extra (pyarrow and jinja2) but JSONL
rows, which need only jinja2; :mod:`.deps` says what to install.
"""
