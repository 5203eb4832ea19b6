"""The `ray` executor: each shard is a Prefect task run on a Ray cluster via prefect-ray's `RayTaskRunner`.

The task code is the same `run_shard` the local executor calls. What this module adds:

- at most `workers` shards in flight, so at most `workers` Ray worker processes each load the model once
  (`get_backend` caches it per process; `max_calls=0` keeps a worker, and its engine, alive across shards
  even when it holds a GPU, where Ray's default would restart it after every task);
- the Prefect API URL is passed to the workers: without it each worker would start its own temporary
  Prefect server and the task runs would not appear in the flow run (prefect#18485);
- a failing shard does not stop the others; the run raises at the end naming the failed shards, and a
  rerun redoes only those (finished shards are files, skipped by `run_shard`).

Outputs are written by the workers, so on a multi-node cluster `output_dir` must be shared storage.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any, Sequence

from pipelines.executors import register_executor
from pipelines.stage import ShardJob, ShardResult, run_shard

if TYPE_CHECKING:
    from pipelines.executors import ExecutorSpec, OnDone, Runner

log = logging.getLogger(__name__)

# Environment the workers need to report to the same Prefect API and find the same models offline.
FORWARDED_ENV = (
    "PREFECT_HOME",
    "PREFECT_LOGGING_EXTRA_LOGGERS",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "HF_HUB_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "CSYNTH_CACHE",
)


def prefect_api_url() -> str | None:
    """The API this process reports to: the configured server, or the temporary one Prefect started."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if url:
        return str(url)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.api_url)


def worker_env() -> dict[str, str]:
    """Environment for the shard tasks: the Prefect API to report to, and where the models are."""
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    api = prefect_api_url()
    if api:
        env["PREFECT_API_URL"] = api
    return env


def ray_init_kwargs(spec: "ExecutorSpec") -> dict[str, Any]:
    """`ray.init` arguments; the size of the instance only when we start a local one."""
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
    if spec.address is None:  # a local instance, sized for exactly `workers` shard tasks
        kwargs.update(num_cpus=math.ceil(spec.workers * spec.cpus_per_worker), include_dashboard=False)
        if spec.object_store_mb:
            kwargs["object_store_memory"] = spec.object_store_mb * 2**20
    return kwargs


def run_on_ray(
    jobs: Sequence[ShardJob], runner: "Runner", on_done: "OnDone | None", spec: "ExecutorSpec"
) -> list[ShardResult]:
    """Submit the shards to Ray, `spec.workers` at a time, and report each as it finishes."""
    if not jobs:
        return []
    import ray
    from prefect import Task, task
    from prefect_ray.context import remote_options
    from prefect_ray.task_runners import RayTaskRunner

    prefect_task = runner if isinstance(runner, Task) else task(runner, name="generate-shard")
    todo = list(jobs)
    in_flight: dict[Any, tuple[ShardJob, Any]] = {}
    results: list[ShardResult] = []
    failed: list[tuple[ShardJob, BaseException]] = []
    # Per-task runtime_env (not ray.init's) so it also applies when Ray was initialised by someone else.
    options = {
        "num_cpus": spec.cpus_per_worker,
        "num_gpus": spec.gpus_per_worker,
        "max_calls": 0,
        "max_retries": spec.max_retries,
        "runtime_env": {"env_vars": worker_env()},
    }
    with (
        RayTaskRunner(address=spec.address, init_kwargs=ray_init_kwargs(spec)) as task_runner,
        remote_options(**options),
    ):
        log.info("ray: %d shards on %s, %d at a time", len(todo), spec.address or "a local instance", spec.workers)

        def submit() -> None:
            job = todo.pop(0)
            future = task_runner.submit(prefect_task, {"job": job})
            in_flight[future.wrapped_future] = (job, future)

        while todo and len(in_flight) < spec.workers:
            submit()
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            job, future = in_flight.pop(ready[0])
            try:
                res = future.result()
            except Exception as e:  # noqa: BLE001 - keep the other shards going; report all failures at the end
                log.error("shard %s failed: %s", os.path.basename(job.out_path), e)
                failed.append((job, e))
            else:
                results.append(res)
                if on_done:
                    on_done(res)
            if todo:
                submit()
    if failed:
        names = ", ".join(os.path.basename(j.out_path) for j, _ in failed)
        raise RuntimeError(
            f"{len(failed)} of {len(jobs)} shards failed on Ray ({names}); the {len(results)} "
            f"finished ones are on disk and a rerun redoes only the failed ones. First error: "
            f"{failed[0][1]}"
        ) from failed[0][1]
    return results


def run_ray(
    jobs: Sequence[ShardJob],
    runner: "Runner" = run_shard,
    on_done: "OnDone | None" = None,
    spec: "ExecutorSpec | None" = None,
) -> list[ShardResult]:
    """The `ray` executor: ray and prefect-ray load only when a recipe asks for it."""
    from pipelines.executors import ExecutorSpec

    return run_on_ray(jobs, runner, on_done, spec or ExecutorSpec(kind="ray"))


register_executor("ray", run_ray)
