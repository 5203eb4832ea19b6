import pytest

from flows.recipe import RecipeError, load_recipe, recipe_toml

GOOD = """
name = "t"
[sampling]
max_tokens = 32
[[tasks]]
name = "pairs"
"""


def write(tmp_path, text, name="r.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_fill_in(tmp_path):
    r = load_recipe(write(tmp_path, GOOD))
    assert r.generator.backend == "transformers" and r.sampling.max_tokens == 32
    assert str(r.run_dir) == "data/t"


def test_shipped_quickstart_validates():
    r = load_recipe("recipes/quickstart.toml")
    assert r.tasks[0].name == "pairs" and r.train is not None


def test_unknown_key_names_file_and_key(tmp_path):
    p = write(tmp_path, GOOD + "\n[corpus]\nlimt = 3\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    assert str(p) in str(e.value) and "corpus.limt: unknown key" in str(e.value)


def test_wrong_type_names_key(tmp_path):
    with pytest.raises(RecipeError, match=r"corpus\.limit"):
        load_recipe(write(tmp_path, GOOD + "\n[corpus]\nlimit = 'many'\n"))


def test_unknown_task_lists_allowed_names(tmp_path):
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, GOOD.replace('name = "pairs"', 'name = "parrots"')))
    assert "tasks.0" in str(e.value) and "'parrots'" in str(e.value) and "'pairs'" in str(e.value)


def test_bad_backend_value_lists_allowed(tmp_path):
    with pytest.raises(RecipeError, match=r"generator"):
        load_recipe(write(tmp_path, GOOD + '\n[generator]\nbackend = "transformers"\ndtype = "int3"\n'))


def test_max_tokens_is_required(tmp_path):
    with pytest.raises(RecipeError, match=r"sampling\.max_tokens"):
        load_recipe(write(tmp_path, GOOD.replace("max_tokens = 32", "temperature = 0.5")))


def test_overrides_and_yaml(tmp_path):
    r = load_recipe(write(tmp_path, GOOD), ["corpus.limit=5", 'generator.model="some/model"'])
    assert r.corpus.limit == 5 and r.generator.model == "some/model"
    y = write(tmp_path, "name: y\nsampling:\n  max_tokens: 8\n", "r.yaml")
    assert load_recipe(y).sampling.max_tokens == 8


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.toml")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(write(tmp_path, "name = [", "bad.toml"))
    with pytest.raises(RecipeError, match="unsupported recipe format"):
        load_recipe(write(tmp_path, "{}", "r.json"))


def test_recipe_toml_round_trips(tmp_path):
    r = load_recipe("recipes/quickstart.toml")
    again = load_recipe(write(tmp_path, recipe_toml(r)))
    assert again == r


def test_a_switched_off_section_stays_off_in_recipe_toml(tmp_path):
    """A run without training (train = None) writes a recipe.toml that loads back without training, not with the
    default [train] and [evaluate] (so `synth evaluate run/recipe.toml` does not find a model section it never had);
    `train = false` is also how a recipe file switches a section off."""
    r = load_recipe("recipes/quickstart.toml", {"train": None, "evaluate": None})
    again = load_recipe(write(tmp_path, recipe_toml(r)))
    assert again.train is None and again.evaluate is None and again == r
    off = load_recipe(write(tmp_path, GOOD.replace('name = "t"', 'name = "t"\ntrain = false\nevaluate = false')))
    assert off.train is None and off.evaluate is None
    back_on = load_recipe(write(tmp_path, recipe_toml(r)), ["evaluate.max_pairs=10"])  # `synth evaluate --set`
    assert back_on.evaluate is not None and back_on.evaluate.max_pairs == 10 and back_on.train is None


def test_recipe_toml_round_trips_emoji_quotes_newlines_nan(tmp_path):
    """recipe.toml must read back: characters outside the basic plane, quotes, backslashes, newlines, NaN."""
    import math
    import tomllib

    odd = 'corpus/😀 "quoted" \\ back\nslash\ttab.txt'
    r = load_recipe("recipes/quickstart.toml", {"corpus.path": odd, "corpus.text_field": "🧬 'x'"})
    again = load_recipe(write(tmp_path, recipe_toml(r)))
    assert again == r and again.corpus.path == odd
    from flows.recipe import to_toml

    data = {
        "emoji": "🦜 and ✓",
        "quotes": "a \"b\" 'c'",
        "nl": "one\ntwo\r\n",
        "nan": float("nan"),
        "inf": float("-inf"),
        "nested": [{"k": "😀", "v": float("nan")}],
    }
    back = tomllib.loads(to_toml(data))
    assert {k: back[k] for k in ("emoji", "quotes", "nl")} == {k: data[k] for k in ("emoji", "quotes", "nl")}
    assert math.isnan(back["nan"]) and back["inf"] == float("-inf")
    assert back["nested"][0]["k"] == "😀" and math.isnan(back["nested"][0]["v"])
