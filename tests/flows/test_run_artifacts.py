"""Issue 17: what a real run shows in Prefect besides logs. One tiny real `end-to-end` flow run (embedded SmolLM2,
3 anchors in 3 shards, 16 tokens, no train/evaluate): a generation progress artifact that ends at 100 with the
run's numbers, the data-quality report with its plots inline, link artifacts, subflow runs named after the
recipe; and `synth refilter` / `synth evaluate` write their log to the run directory."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect_server import prefect_server
from tiny_recipe import write_tiny

ROOT = Path(__file__).resolve().parents[2]
NAME = "artifacts-run"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from flows.end_to_end import end_to_end
    from flows.recipe import load_recipe

    tmp = tmp_path_factory.mktemp("artifacts")
    recipe = load_recipe(
        write_tiny(tmp / "r.toml", tmp / "run", name=NAME, limit=3, shard_size=1), {"train": None, "evaluate": None}
    )
    end_to_end(recipe)
    return tmp / "run"


def flow_runs() -> dict[str, object]:
    names = [f"{NAME}-{s}" for s in ("end-to-end", "synthesize", "curate")]
    with get_client(sync_client=True) as c:
        runs = c.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
    return {r.name: r for r in runs}


def artifacts(key: str, flow_run_id) -> list:
    with get_client(sync_client=True) as c:
        return c.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            )
        )


def synth(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )


def test_subflow_runs_are_named_after_the_recipe(run):
    assert set(flow_runs()) == {f"{NAME}-end-to-end", f"{NAME}-synthesize", f"{NAME}-curate"}


def test_generation_progress_artifact_reaches_100_with_the_runs_numbers(run):
    shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
    records = sum(pq.read_metadata(p).num_rows for p in shards)
    arts = artifacts(f"{NAME}-generation", flow_runs()[f"{NAME}-synthesize"].id)
    assert len(arts) == 1 and arts[0].type == "progress"
    assert arts[0].data == 100.0
    assert re.fullmatch(rf"3/3 shards, {records} records, [0-9.]+ tokens/s, ETA 0:00:00", arts[0].description)
    assert len(shards) == 3


def test_data_quality_artifact_carries_its_plots_inline_and_links_the_dataset(run):
    curate_id = flow_runs()[f"{NAME}-curate"].id
    (md,) = artifacts(f"{NAME}-data-quality", curate_id)
    assert "](plots/" not in md.data  # nothing the UI would have to fetch from the dataset dir
    images = re.findall(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md.data)
    assert images and base64.b64decode(images[0]) == (run / "dataset" / "plots" / "lengths.png").read_bytes()
    (link,) = artifacts(f"{NAME}-dataset", curate_id)
    assert link.type == "markdown"  # Prefect stores a link artifact as markdown: [path](file://...)
    assert (run / "dataset").resolve().as_uri() in link.data


def test_refilter_and_evaluate_write_their_log_to_the_run_dir(run, tmp_path):
    res = synth("refilter", str(run), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    log = (run / "run.log").read_text(encoding="utf-8")
    assert f"synth refilter {run}" in log and f"Beginning flow run '{NAME}-refilter'" in log
    res = synth(
        "evaluate",
        str(run / "recipe.toml"),
        "--set",
        'evaluate.sets=["stsb-dev"]',
        "--set",
        "evaluate.max_pairs=10",
        cwd=tmp_path,
    )  # the base encoder on 10 STS-B dev pairs
    assert res.returncode == 0, res.stdout + res.stderr
    log = (run / "run.log").read_text(encoding="utf-8")
    assert "synth evaluate" in log and f"Beginning flow run '{NAME}-evaluate'" in log
    assert "evaluation report:" in log


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]  # no calls out of this machine


def test_report_plots_load_in_the_prefect_ui_of_a_real_server(run, tmp_path):
    """As a user sees it: a real `prefect server` on 127.0.0.1, `synth refilter` reporting to it, the artifact's
    page opened in headless Chromium; every plot of the report is an image the browser decoded."""
    import httpx

    playwright = pytest.importorskip("playwright.sync_api", reason="the `playwright` package drives the browser")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (Debian package `chromium`)")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONPATH": str(ROOT)}
    with prefect_server(env, ui=True) as api:
        env["PREFECT_API_URL"], url = api, api.removesuffix("/api")
        res = subprocess.run(
            [sys.executable, "-m", "flows.cli", "refilter", str(run)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        found = httpx.post(
            f"{url}/api/artifacts/filter", json={"artifacts": {"key": {"any_": [f"{NAME}-data-quality"]}}}, timeout=10
        ).json()
        (artifact,) = found
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(f"{url}/artifacts/artifact/{artifact['id']}")
            page.wait_for_selector("img[alt='Sentence lengths']", timeout=60_000)
            page.wait_for_load_state("networkidle")
            widths = page.eval_on_selector_all(
                "img[alt='Sentence lengths'], img[alt*='cosines'], img[alt*='judge']",
                "els => els.map(e => e.complete ? e.naturalWidth : -1)",
            )
            page.screenshot(path=str(tmp_path / "prefect-ui-report.png"), full_page=True)
            browser.close()
        assert widths and all(w > 0 for w in widths), widths  # a broken image has naturalWidth 0
