"""Issue 17: the data-quality report sent to the Prefect UI carries its plots inline (the UI cannot reach files
relative to the dataset dir: they showed as broken images)."""

from __future__ import annotations

import base64
import re

from pipelines.curate import StageStats
from pipelines.inline_images import inline_images
from pipelines.report import write_report

ROWS = [
    {
        "id": f"r{i}",
        "task": "pairs",
        "anchor": "A dog runs in the park.",
        "positive": "A dog is running.",
        "negative": "A cat sleeps on the sofa.",
        "kept": i % 2 == 0,
        "reason": None if i % 2 == 0 else "rules:short",
        "checks": [],
    }
    for i in range(6)
]


def test_report_plots_become_data_uris_with_the_files_bytes(tmp_path):
    report = write_report(
        ROWS, [StageStats(stage="rules", rows_in=6, rows_out=3, seconds=0.1, reasons={"short": 3})], tmp_path
    )
    assert "](plots/lengths.png)" in report.markdown  # the file on disk keeps its relative link
    inlined = inline_images(report.markdown, tmp_path)
    assert "](plots/" not in inlined
    (b64,) = re.findall(r"\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", inlined)
    assert base64.b64decode(b64) == (tmp_path / "plots" / "lengths.png").read_bytes()
    assert inlined.replace(f"data:image/png;base64,{b64}", "plots/lengths.png") == report.markdown


def test_remote_missing_and_outside_images_are_left_alone(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "secret.png").write_bytes(b"\x89PNG not for the UI")
    md = "![a](https://example.org/a.png) ![b](plots/none.png) ![c](../secret.png) ![d](data:image/png;base64,AA==)"
    assert inline_images(md, tmp_path / "d") == md
