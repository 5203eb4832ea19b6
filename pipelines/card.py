"""The dataset card's Hub metadata, built with `huggingface_hub.DatasetCardData` (not a string template).

The license is derived from the corpus provenance: each known input (a shipped corpus; the generator when it
wrote the anchors itself) has a stated license, and the card carries the most restrictive one and names every
input in the body, so a user can see why. An input the project does not know (a user's own corpus file, a hub
model) makes the license `unknown`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from huggingface_hub import DatasetCard, DatasetCardData

from pipelines.configs import CONFIGS

# Most restrictive first: an unknown input could be anything; share-alike / copyleft bind derived data.
LICENSE_ORDER = (
    "unknown",
    "cc-by-nc-sa-4.0",
    "cc-by-nc-4.0",
    "gpl-3.0",
    "cc-by-sa-4.0",
    "cc-by-4.0",
    "apache-2.0",
    "mit",
)


@dataclass(frozen=True)
class Input:
    """One thing the dataset derives from, with its license id (Hub spelling) and where that is stated."""

    name: str
    license: str
    source: str
    hub_id: str | None = None  # the Hub dataset it comes from, for `source_datasets`


KNOWN_CORPORA = {
    "builtin:snli-premises": Input(
        "SNLI 1.0 premises (builtin:snli-premises)",
        "cc-by-sa-4.0",
        "pipelines/corpora/snli-premises/PROVENANCE.md",
        "stanfordnlp/snli",
    ),
    "builtin:pubmedqa-sentences": Input(
        "PubMedQA abstract sentences (builtin:pubmedqa-sentences)",
        "mit",
        "pipelines/corpora/pubmedqa-sentences/PROVENANCE.md",
        "qiaojin/PubMedQA",
    ),
}
KNOWN_MODELS = {
    "embedded:smollm2-135m-instruct": Input(
        "SmolLM2-135M-Instruct (generator)", "apache-2.0", "HuggingFaceTB/SmolLM2-135M-Instruct model card"
    ),
    "embedded:all-minilm-l6-v2": Input(
        "all-MiniLM-L6-v2 (reference encoder)", "apache-2.0", "sentence-transformers/all-MiniLM-L6-v2 model card"
    ),
}
HUB_MODEL_IDS = {
    "embedded:smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "embedded:all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
}


def recipe_inputs(recipe: Mapping[str, Any]) -> list[Input]:
    """The text the dataset derives from: the corpus, or the generator when it wrote the anchors (scratch).

    Models that only rewrite or score a corpus are named in `models`, not counted as a data input."""
    if recipe.get("scratch"):
        model = recipe_models(recipe)["generator"]
        return [KNOWN_MODELS.get(model, Input(f"model {model}", "unknown", "not checked by the project"))]
    path = (recipe.get("corpus") or {}).get("path", "builtin:snli-premises")
    return [KNOWN_CORPORA.get(path, Input(f"corpus {path}", "unknown", "no provenance known to the project"))]


def recipe_models(recipe: Mapping[str, Any]) -> dict[str, str]:
    """{role: model} for the generator, a judge with its own backend and reference encoders of filters."""
    models = {"generator": (recipe.get("generator") or {}).get("model", "embedded:smollm2-135m-instruct")}
    for t in recipe.get("tasks") or []:
        if (t.get("backend") or {}).get("model"):
            models[f"{t['name']} model"] = t["backend"]["model"]
    for f in recipe.get("filters") or []:
        if f.get("encoder"):
            models[f"{f['name']} encoder"] = f["encoder"]
    return models


def most_restrictive(inputs: Sequence[Input]) -> str:
    ranks = [LICENSE_ORDER.index(i.license) if i.license in LICENSE_ORDER else 0 for i in inputs]
    return LICENSE_ORDER[min(ranks)] if ranks else "unknown"


def size_category(n: int) -> str:
    """The Hub's size bucket names."""
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ):
        if n < limit:
            return name
    return "100M<n<1B"


def hub_configs(config_rows: Mapping[str, int]) -> list[dict[str, Any]]:
    """`configs` for the card YAML: `all` (default), the derived configs, `rejects`."""
    out = [{"config_name": "all", "default": True, "data_files": [{"split": "train", "path": "data/*.parquet"}]}]
    out += [{"config_name": n, "data_files": [{"split": "train", "path": f"{n}/*.parquet"}]} for n in config_rows]
    out.append({"config_name": "rejects", "data_files": [{"split": "train", "path": "rejects/*.parquet"}]})
    return out


def dataset_info(dataset_dir: Path, summary: Mapping[str, Any], config_rows: Mapping[str, int]) -> list[dict]:
    """Per-config `dataset_info` (rows, Parquet bytes). Besides informing the Hub, it is what `datasets` hashes
    for its cache of a local directory: without it two runs' datasets (both dirs named `dataset`) share one cache
    entry and `load_dataset` returns the first one's rows for the second (seen in a test)."""
    rows = {"all": int(summary.get("kept", 0)), **config_rows, "rejects": int(summary.get("rejected", 0))}
    folders = {"all": "data", "rejects": "rejects"}
    out = []
    for name, n in rows.items():
        size = sum(p.stat().st_size for p in (dataset_dir / folders.get(name, name)).glob("*.parquet"))
        out.append(
            {
                "config_name": name,
                "splits": [{"name": "train", "num_bytes": size, "num_examples": n}],
                "download_size": size,
                "dataset_size": size,
            }
        )
    return out


def card_data(
    summary: Mapping[str, Any],
    recipe_text: str,
    config_rows: Mapping[str, int],
    recipe_name: str = "",
    dataset_dir: Path | None = None,
) -> tuple[DatasetCardData, list[Input]]:
    recipe = tomllib.loads(recipe_text) if recipe_text.strip() else {}
    inputs = recipe_inputs(recipe)
    models = recipe_models(recipe)
    lic = most_restrictive(inputs)
    data = DatasetCardData(
        license=lic,
        language=["en"],
        pretty_name=recipe_name or "contrastive-synth dataset",
        task_categories=["sentence-similarity", "feature-extraction", "text-classification"],
        task_ids=["natural-language-inference", "semantic-similarity-scoring"],
        size_categories=[size_category(int(summary.get("kept", 0)))],
        source_datasets=[i.hub_id for i in inputs if i.hub_id] or None,
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated", "found"],
        multilinguality=["monolingual"],
        configs=hub_configs(config_rows),
        tags=["sentence-transformers", "contrastive-learning", "synthetic", "contrastive-synth"],
        models=sorted({HUB_MODEL_IDS.get(m, m) for m in models.values()}),
        **({"dataset_info": dataset_info(dataset_dir, summary, config_rows)} if dataset_dir else {}),
    )
    return data, inputs


def render(
    summary: Mapping[str, Any],
    body: str,
    recipe_text: str,
    config_rows: Mapping[str, int],
    recipe_name: str = "",
    dataset_dir: Path | None = None,
) -> str:
    """README.md text: Hub YAML from the card data, then the body with configs and license sections."""
    data, inputs = card_data(summary, recipe_text, config_rows, recipe_name, dataset_dir)
    cut = body.find("\n## ")
    cut = len(body) if cut < 0 else cut + 1
    sections = configs_section(config_rows) + license_section(inputs, data.license)
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body[:cut]}{sections}{body[cut:]}"))


def configs_section(config_rows: Mapping[str, int]) -> str:
    lines = [
        "## Configs",
        "",
        "| config | rows | load with | use |",
        "|---|---|---|---|",
        '| `all` (default) | kept rows, full schema | `load_dataset("<this dir>", "all")` | provenance, verdicts |',
    ]
    for n, rows in config_rows.items():
        lines.append(f'| `{n}` | {rows} | `load_dataset("<this dir>", "{n}")` | {CONFIGS[n].description} |')
    lines.append('| `rejects` | rejected rows + reason | `load_dataset("<this dir>", "rejects")` | audit |')
    return "\n".join(lines) + "\n\n"


def license_section(inputs: Sequence[Input], license_id: str) -> str:
    rows = "\n".join(f"| {i.name} | `{i.license}` | {i.source} |" for i in inputs)
    return (
        f"## License\n\n`{license_id}`: the most restrictive license among the inputs this dataset derives "
        f"from (check them before you publish):\n\n| input | license | stated in |\n|---|---|---|\n{rows}\n\n"
    )


def judge_scale(recipe_text: str) -> tuple[float, float]:
    """The judge task's (score_min, score_max) from the recipe, the JudgeSpec defaults otherwise."""
    recipe = tomllib.loads(recipe_text) if recipe_text.strip() else {}
    judge = next((t for t in recipe.get("tasks") or [] if t.get("name") == "judge"), {})
    return float(judge.get("score_min", 0)), float(judge.get("score_max", 5))
