"""The import direction of docs/architecture.md: data flows one way."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "synth": {"pipelines", "trainers", "flows", "prefect"},
    "pipelines": {"trainers", "flows", "prefect"},
    "trainers": {"flows", "prefect"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


# Reaches that the package direction allows but the layers do not (issue 16): training code does not drive LLM
# tasks or backends (judge calibration is orchestration: flows/judge_calibration.py).
FORBIDDEN_MODULES = {"trainers": ("synth.tasks", "synth.backends", "pipelines.filters")}
# The modules every layer may share: model lookup and the registry import nothing of this project, so they are
# the neutral ground between the LLM side (synth) and training (trainers).
NEUTRAL = ("synth/embedded.py", "synth/registry.py")


@pytest.mark.parametrize("module", NEUTRAL)
def test_shared_modules_import_nothing_of_the_project(module):
    assert imports(ROOT / module) & {"synth", "pipelines", "trainers", "flows"} == set()


def test_trainers_use_only_the_neutral_modules_of_synth():
    allowed = {m.removesuffix(".py").replace("/", ".") for m in NEUTRAL}
    bad = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.startswith("synth") and m not in allowed)
        for p in (ROOT / "trainers").rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return out | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}


@pytest.mark.parametrize("package", sorted(FORBIDDEN_MODULES))
def test_layers_do_not_reach_into_other_concerns(package):
    bad = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_MODULES[package])
        )
        for p in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_downstream(package):
    bad = {
        str(p.relative_to(ROOT)): sorted(imports(p) & FORBIDDEN[package])
        for p in (ROOT / package).rglob("*.py")
        if imports(p) & FORBIDDEN[package]
    }
    assert bad == {}
