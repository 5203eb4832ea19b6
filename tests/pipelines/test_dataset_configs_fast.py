"""Issue 17, fast half: configs and card from rows written through `write_dataset` (real Parquet, real
`datasets` loading, real all-MiniLM-L6-v2 training). The rows are fixed texts, not LLM output: what is under
test is the column contract, not the generator (the slow module runs the real LLM)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from pipelines.dataset import write_dataset
from pipelines.schema import record_to_row
from synth.records import Record

PREMISES = [
    "A man is playing a guitar on stage.",
    "Two dogs run across a snowy field.",
    "A woman is slicing tomatoes in a kitchen.",
    "Children are building a sandcastle at the beach.",
]
RECIPE = (
    'name = "fast"\n[corpus]\npath = "builtin:snli-premises"\n[[tasks]]\nname = "judge"\nscore_min = 1\nscore_max = 9\n'
)
PROV = {
    "backend": "transformers",
    "model": "embedded:smollm2-135m-instruct",
    "model_hash": "h",
    "temperature": 0.7,
    "top_p": 0.9,
    "max_tokens": 16,
    "shard": "shard-00000.parquet",
    "recipe_hash": "r",
}


def rows() -> list[dict]:
    out = []
    for i, p in enumerate(PREMISES):
        out.append(
            record_to_row(
                Record(
                    task="pairs",
                    anchor_id=f"a{i}",
                    anchor=p,
                    positive=f"{p[:-1]}, indeed.",
                    negative=f"Nobody: {p.lower()}",
                    negative_kind="contradiction",
                    positive_score=9.0,
                    negative_score=1.0 + i,
                ),
                PROV,
            )
        )
        out.append(
            record_to_row(
                Record(task="judge", anchor_id=f"a{i}", anchor=p, text_b=PREMISES[(i + 1) % 4], pair_score=5.0), PROV
            )
        )
        out.append(
            record_to_row(
                Record(task="ranked", anchor_id=f"a{i}", anchor=p, ranked=[p, f"Maybe {p.lower()}", "Something else."]),
                PROV,
            )
        )
    out.append(record_to_row(Record(task="pairs", anchor_id="bad", anchor="x", parse_error="empty"), PROV))
    out[-2]["ranked"] = ["only one"]  # a list of one is no ranking: left out of `ranked`
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("fast") / "dataset"
    summary = write_dataset(rows(), [], d, recipe_text=RECIPE, recipe_name="fast")
    return d, summary


def test_configs_load_by_name_with_their_columns_and_counts(dataset):
    from datasets import load_dataset

    d, summary = dataset
    got = {
        n: load_dataset(str(d), n, split="train")
        for n in ("all", "triplet", "pair", "pair-score", "pair-class", "ranked", "rejects")
    }
    assert (len(got["all"]), len(got["rejects"])) == (12, 1)
    assert got["triplet"].column_names == ["anchor", "positive", "negative"] and len(got["triplet"]) == 4
    assert got["triplet"][1] == {
        "anchor": PREMISES[1],
        "positive": "Two dogs run across a snowy field, indeed.",
        "negative": "Nobody: two dogs run across a snowy field.",
    }
    assert got["pair"].column_names == ["anchor", "positive"] and len(got["pair"]) == 4
    ps = got["pair-score"]
    assert ps.column_names == ["sentence1", "sentence2", "score"] and len(ps) == 12
    assert ps["score"][:3] == [1.0, 0.0, 0.5]  # judge scale 1..9 from the recipe -> [0, 1]
    pc = got["pair-class"]
    assert pc.features["label"].names == ["entailment", "neutral", "contradiction"]
    assert [pc.features["label"].int2str(x) for x in pc["label"][:3]] == ["entailment", "contradiction", "neutral"]
    assert got["ranked"].column_names == ["anchor", "ranked"] and len(got["ranked"]) == 3
    assert summary["configs"]["triplet"] == {"path": "triplet/train-00000-of-00001.parquet", "rows": 4}


def test_configs_stream_in_record_batches(tmp_path):
    """Memory follows the batch: with batch_rows=2 each config file gets several row groups, same rows."""
    from pipelines.configs import write_configs

    d = tmp_path / "ds"
    write_dataset(rows(), [], d, recipe_text=RECIPE)
    written = write_configs(d, (1.0, 9.0), batch_rows=2)
    f = pq.ParquetFile(written["pair"][0])
    assert f.metadata.num_row_groups > 1 and f.metadata.num_rows == 4


def test_empty_config_is_left_out_and_a_stale_one_removed(tmp_path):
    d = tmp_path / "ds"
    write_dataset(rows(), [], d, recipe_text=RECIPE)
    assert (d / "ranked").is_dir()
    write_dataset([r for r in rows() if r["task"] != "ranked"], [], d, recipe_text=RECIPE)
    assert not (d / "ranked").exists()
    assert "config_name: ranked" not in (d / "README.md").read_text(encoding="utf-8")


def test_card_is_hub_yaml_with_the_most_restrictive_input_license(dataset, tmp_path):
    from huggingface_hub import DatasetCard

    d, _ = dataset
    card = DatasetCard.load(d / "README.md")
    assert card.data.license == "cc-by-sa-4.0" and card.data.language == ["en"]
    assert card.data.size_categories == ["n<1K"] and card.data.source_datasets == ["stanfordnlp/snli"]
    assert [c["config_name"] for c in card.data.configs] == [
        "all",
        "triplet",
        "pair",
        "pair-score",
        "pair-class",
        "ranked",
        "rejects",
    ]
    assert "| SNLI 1.0 premises (builtin:snli-premises) | `cc-by-sa-4.0` |" in card.text
    user = tmp_path / "user"
    write_dataset(rows(), [], user, recipe_text='name = "u"\n[corpus]\npath = "my/corpus.txt"\n')
    assert DatasetCard.load(user / "README.md").data.license == "unknown"  # nothing known about a user's file
    mit = tmp_path / "mit"
    write_dataset(rows(), [], mit, recipe_text='name = "m"\n[corpus]\npath = "builtin:pubmedqa-sentences"\n')
    # the corpus decides; the generator is listed under models
    assert DatasetCard.load(mit / "README.md").data.license == "mit"


def test_triplet_config_trains_one_step_with_mnrl_directly(dataset, tmp_path):
    import torch
    from datasets import load_dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from trainers.evaluate import load_encoder

    model = load_encoder("embedded:all-minilm-l6-v2")  # a fresh copy: the session fixture stays untrained
    train = load_dataset(str(dataset[0]), "triplet", split="train")
    before = [p.detach().clone() for p in model.parameters()]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train, loss=MultipleNegativesRankingLoss(model)
    )
    out = trainer.train()
    assert trainer.state.global_step == 1 and out.training_loss > 0
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


def test_config_files_are_in_the_dataset_manifest_and_replaced_by_a_swap(tmp_path):
    """Configs are files the project wrote: the manifest lists them, so a rewrite replaces them, and a file a
    user added beside them survives."""
    from pipelines.refilter import build_and_swap
    from pipelines.swap import manifest

    d = tmp_path / "dataset"
    build_and_swap(d, lambda staged: write_dataset(rows(), [], staged, recipe_text=RECIPE))
    listed = set(manifest(d))
    assert {
        f"{n}/train-00000-of-00001.parquet" for n in ("triplet", "pair", "pair-score", "pair-class", "ranked")
    } <= listed
    (d / "ranked" / "mine.txt").write_text("user's note", encoding="utf-8")
    build_and_swap(
        d, lambda staged: write_dataset([r for r in rows() if r["task"] != "ranked"], [], staged, recipe_text=RECIPE)
    )
    assert not (d / "ranked" / "train-00000-of-00001.parquet").exists()
    assert (d / "ranked" / "mine.txt").read_text(encoding="utf-8") == "user's note"
    assert "ranked/train-00000-of-00001.parquet" not in manifest(d)


def test_two_datasets_in_dirs_of_the_same_name_do_not_share_the_datasets_cache(tmp_path):
    """`datasets` keys its cache of a local dir on the card's YAML; the card's dataset_info keeps them apart."""
    from datasets import load_dataset

    a, b = tmp_path / "a" / "dataset", tmp_path / "b" / "dataset"
    write_dataset(rows(), [], a, recipe_text=RECIPE)
    write_dataset(rows()[:3], [], b, recipe_text=RECIPE)  # one triplet
    assert len(load_dataset(str(a), "triplet", split="train")) == 4
    assert len(load_dataset(str(b), "triplet", split="train")) == 1
