"""What a run shows in the Prefect UI besides logs: generation progress and links to its outputs.

Generation progress is the terminal bar and a Prefect progress artifact, from the same numbers: the artifact
(key `<recipe>-generation`) is created at 0 when generation starts and updated after every shard, so the Prefect
UI shows shards done/total, records, tokens/s and ETA while the flow runs; it ends at 100.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from prefect.artifacts import create_link_artifact, create_progress_artifact, update_progress_artifact

from pipelines.progress import GenerationProgress, generation_bar


def artifact_key(recipe_name: str, what: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return f"{recipe_name.lower().replace('_', '-').replace('.', '-')}-{what}"


@contextmanager
def generation_progress(recipe_name: str, total: int) -> Iterator[Callable[[int, int], GenerationProgress]]:
    """Yields `done(records, tokens)`, to call once per finished shard: it moves the bar and the artifact."""
    progress = GenerationProgress(total=total)
    artifact = create_progress_artifact(
        progress=progress.percent, key=artifact_key(recipe_name, "generation"), description=progress.summary()
    )
    with generation_bar(progress, label=f"generate {recipe_name}") as refresh:

        def done(records: int, tokens: int) -> GenerationProgress:
            progress.add(records, tokens)
            refresh()
            update_progress_artifact(artifact, progress=progress.percent, description=progress.summary())
            return progress

        yield done


def publish_link(recipe_name: str, what: str, path: str | Path) -> None:
    """A link artifact to an output directory (`datasets.load_dataset` / `SentenceTransformer` take the path)."""
    path = Path(path).resolve()
    create_link_artifact(
        key=artifact_key(recipe_name, what),
        link=path.as_uri(),
        link_text=str(path),
        description=f"{recipe_name}: the {what} directory",
    )
