"""Architecture contracts: dependencies point one way and importing a package has no side effects."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
#: package -> top-level modules it must never import
FORBIDDEN = {
    "claims": {
        "features",
        "training",
        "serving",
        "lightgbm",
        "sklearn",
        "mlflow",
        "fastapi",
        "uvicorn",
        "numpy",
    },
    "features": {"training", "serving", "mlflow", "fastapi"},
    "serving": {"training", "claims.simulate"},
    "claims.audit": {"claims.simulate"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package: str) -> None:
    bad = []
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_x12sdk_is_used_only_by_the_wire_module() -> None:
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "claims").rglob("*.py")
        if any(n == "x12sdk" or n.startswith("x12sdk.") for n in _imports(p))
    )
    assert users == ["claims/x12/wire.py"]


@pytest.mark.parametrize(
    "package", ["claims", "claims.x12", "claims.reference", "features", "training", "serving"]
)
def test_import_has_no_side_effects(package: str, tmp_path: Path) -> None:
    code = (
        "import os, logging, sys; before = set(os.listdir('.'));"
        f"import {package} as p;"
        "assert set(os.listdir('.')) == before, 'files created';"
        "assert not logging.getLogger().handlers, 'logging configured';"
        "assert all(hasattr(p, n) for n in getattr(p, '__all__', []))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
