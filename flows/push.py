"""`synth push`: publish a run's dataset or model directory to the Hugging Face Hub (or any endpoint set by
HF_ENDPOINT) with `huggingface_hub`: create the repo (private on request), then upload the folder in one commit.

The token comes from where huggingface_hub always looks (HF_TOKEN, `hf auth login`'s stored token) unless
given; it is never printed or written by this project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Kind = Literal["auto", "dataset", "model"]
# half-written or scratch
IGNORE = [".tmp-*", ".old-*", "**/.tmp-*", "_checkpoints/**", "*.lock", ".lock", ".swap.json", ".cache/**"]


class PushError(ValueError):
    """The directory is not something `synth push` can publish; the message names it."""


def resolve(path: Path, kind: Kind = "auto") -> tuple[Path, Literal["dataset", "model"]]:
    """A dataset dir (stats.json), a model dir (modules.json), or a run dir holding `dataset/` and `model/`."""
    path = Path(path)
    candidates = {"dataset": [path, path / "dataset"], "model": [path, path / "model"]}
    marker = {"dataset": "stats.json", "model": "modules.json"}
    kinds = ["dataset", "model"] if kind == "auto" else [kind]
    for k in kinds:
        for c in candidates[k]:
            if (c / marker[k]).is_file():
                if kind == "auto" and c != path:  # a run dir with both: the user must say which
                    other = "model" if k == "dataset" else "dataset"
                    if any((d / marker[other]).is_file() for d in candidates[other][1:]):
                        raise PushError(f"{path}: a run dir with a dataset and a model; pass --what dataset|model")
                return c, k  # type: ignore[return-value]
    raise PushError(
        f"{path}: no {' or '.join(marker[k] for k in kinds)} found; expected a dataset dir "
        "(data/<run>/dataset), a model dir (data/<run>/model) or a run dir"
    )


def push(
    path: Path,
    repo_id: str,
    *,
    kind: Kind = "auto",
    private: bool = False,
    token: str | None = None,
    message: str | None = None,
) -> str:
    """Create `repo_id` if needed and upload the directory; returns the commit URL."""
    from huggingface_hub import HfApi

    folder, k = resolve(path, kind)
    api = HfApi(token=token)  # endpoint: HF_ENDPOINT, read by huggingface_hub
    api.create_repo(repo_id, repo_type=k, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type=k,
        folder_path=folder,
        ignore_patterns=IGNORE,
        commit_message=message or f"contrastive-synth: upload {k} from {folder.name}/",
    )
    return str(info.commit_url)
