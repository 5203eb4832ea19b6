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


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_downstream(package):
    bad = {str(p.relative_to(ROOT)): sorted(imports(p) & FORBIDDEN[package])
           for p in (ROOT / package).rglob("*.py") if imports(p) & FORBIDDEN[package]}
    assert bad == {}
