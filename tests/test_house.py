"""The house rules, checked on the source: apps import one way only (aadlogin -> aadsync -> directory), every module
is at most 450 lines and opens with a docstring."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cmportal", "directory", "aadsync", "aadlogin")
# What each app must never import: the arrows point one way.
FORBIDDEN = {"directory": ("aadsync", "aadlogin"), "aadsync": ("aadlogin",)}
MAX_LINES = 450


def _modules(app: str) -> list[Path]:
    return sorted(path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def _imported(path: Path) -> set[str]:
    """Top-level package of every absolute import in the module, wherever it sits (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_apps_import_one_way(app):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(path) & set(FORBIDDEN[app]))
        for path in _modules(app)
        if _imported(path) & set(FORBIDDEN[app])
    }
    assert offenders == {}


def test_the_import_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""x."""\n\n\ndef f():\n    from aadsync.models import AadSettings\n    return AadSettings\n')
    assert "aadsync" in _imported(module)


@pytest.mark.parametrize("app", APPS)
def test_modules_are_small_and_say_what_they_hold(app):
    long = {}
    undocumented = []
    for path in _modules(app):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES:
            long[str(path.relative_to(ROOT))] = text.count("\n")
        if text.strip() and not ast.get_docstring(ast.parse(text)):
            undocumented.append(str(path.relative_to(ROOT)))
    assert long == {}
    assert undocumented == []
