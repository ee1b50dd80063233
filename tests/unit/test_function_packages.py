"""functions/ is one package tree (docs/decisions.md): each code folder is the package ``functions.<name>``, its modules
import each other relatively, and no module is importable by a bare name such as ``logic`` or ``models``."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
FOLDERS = sorted(p for p in FUNCTIONS_DIR.iterdir() if (p / "handler.py").exists())


def test_every_function_folder_is_a_package_whose_init_imports_nothing() -> None:
    assert FOLDERS
    for init in [FUNCTIONS_DIR / "__init__.py", *(folder / "__init__.py" for folder in FOLDERS)]:
        assert init.exists(), f"{init.relative_to(FUNCTIONS_DIR.parent)} is missing"
        # Importing functions.<name>.logic must not run the handler (nor its cold-start env validation).
        tree = ast.parse(init.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)], init


def test_function_modules_import_their_siblings_relatively() -> None:
    bare = []
    for folder in FOLDERS:
        siblings = {p.stem for p in folder.glob("*.py")}
        for path in folder.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                bare += [f"{path.relative_to(FUNCTIONS_DIR)}:{node.lineno} {n}" for n in names if n in siblings]
    assert not bare, f"import these relatively (from .x import y): {bare}"


def test_no_installed_distribution_claims_the_functions_package_name() -> None:
    """The asset puts ``functions`` at the top of the Lambda path, next to the layer's packages."""
    owners = importlib.metadata.packages_distributions().get("functions", [])
    assert not owners, f"{owners} install a top-level `functions` module"
