"""Benchmarks for streambatch; run each script as ``.venv/bin/python benchmarks/<name>.py``."""
