"""The local cloud is app-agnostic: nothing under localcloud/ imports Marquee (docs/decisions.md, issue 7).

An AST scan of every ``localcloud/**/*.py``: ``import``/``from ... import`` statements, and imports built from strings
(``importlib.import_module``, ``__import__``, ``importlib.util.find_spec``, an extension named ``module:attr``) whose
target starts with one of Marquee's top-level packages. Marquee plugs into the cloud through its extension hook
(localcloud/extensions.py); the emulator never reaches for it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LOCALCLOUD = Path(__file__).resolve().parents[2] / "localcloud"
FORBIDDEN = ("marquee", "functions", "infra", "bench", "tests", "devkit")
STRING_IMPORTERS = {"import_module", "__import__", "find_spec", "run_module", "load"}
MODULE_PATH = re.compile(rf"^(?:{'|'.join(FORBIDDEN)})(?:\.\w+)+(?::\w+)?$")


def _forbidden(module: str) -> bool:
    return module.split(".", 1)[0].split(":", 1)[0] in FORBIDDEN


def _leading_text(node: ast.AST) -> str | None:
    """The text a string argument starts with: a constant, or the constant head of an f-string or a concatenation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _leading_text(node.values[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _leading_text(node.left)
    return None


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every import of Marquee in ``source``, as ``file:line: what``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in STRING_IMPORTERS and node.args:
                text = _leading_text(node.args[0])
                if text is not None:
                    modules = [text]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_PATH.match(node.value):
            modules = [node.value]  # a module path kept in a string, to be imported later
        found += [f"{filename}:{getattr(node, 'lineno', '?')}: {m}" for m in modules if _forbidden(m)]
    return found


def test_localcloud_imports_nothing_of_marquee() -> None:
    files = sorted(LOCALCLOUD.rglob("*.py"))
    assert len(files) > 20  # the scan sees the package
    found = [v for path in files for v in violations(path.read_text(), str(path.relative_to(LOCALCLOUD.parent)))]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import marquee",
        "import tests.cloud_process as cp",
        "from devkit.simulators import Simulators",
        "from functions.health import handler",
        "from infra import constants",
        "from bench import run_all",
        "def f():\n    from devkit import state\n",
        "import importlib\nimportlib.import_module('devkit.simulators')",
        "import importlib\nimportlib.import_module(f'devkit.tours.{name}')",
        "from importlib import import_module\nimport_module('marquee' + '.core')",
        "__import__('bench.run_all')",
        "import importlib.util\nimportlib.util.find_spec('infra.app')",
        "EXTENSION = 'devkit.simulators:Simulators'",
    ],
)
def test_the_scan_catches_every_kind_of_import(source: str) -> None:
    assert violations(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import moto\nfrom localcloud.http import serve",
        "from . import base",
        "import importlib\nimportlib.import_module(module_name)",
        "handler = 'index.handler'\nfolder = 'functions'",
    ],
)
def test_the_scan_lets_the_emulator_be(source: str) -> None:
    assert violations(source) == []
