"""Pages stay thin: layout only. Models come from the registry, numbers from analysis/traces,
figures from plots (DESIGN.md, "one path")."""
import ast
from pathlib import Path

import pytest

import nnviz

PAGES = sorted((Path(__file__).resolve().parents[2] / "pages").glob("*.py"))


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_is_thin(path):
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    assert len(src.splitlines()) <= 300
    long = [f"{n.name}: {n.end_lineno - n.lineno + 1} lines" for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert long == []
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "torch" not in imported
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert strings & set(nnviz.list_models()) == set()  # no model named: pages ask the registry
