"""Every notebook in ``notebooks/`` runs top to bottom on a small simulated practice (house style 14).

Each notebook is read from its jupytext percent-format ``.py`` file and executed cell by cell with nbclient
in a kernel of this interpreter (figures drawn by Agg into PNG outputs: no display), on its own copy of the
practice and its own embedded MLflow store; any cell error fails the test, and each must draw its plots.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from training.api import load_dataset, simulate_data

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
#: The slowest (two ingests, two trainings) first: with ``pytest -n 2`` it runs beside the other three.
ORDER = sorted(NOTEBOOKS, key=lambda p: (not p.stem.startswith("04_"), p.stem))
#: A practice small enough for CI (about 5,000 lines), large enough for a time split with every payer.
CLAIMS = 800
CELL_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated practice with X12 files and its context cache (built once per test process)."""
    folder = simulate_data(tmp_path_factory.mktemp("notebook-practice"), claims=CLAIMS, seed=5, x12=True)
    load_dataset(folder)  # audits every claim once and caches the context next to the data
    return folder


@pytest.mark.parametrize("path", ORDER, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(practice, data)
    monkeypatch.setenv("DENIALS_NOTEBOOK_DATA", str(data))
    # The inline backend draws each figure with Agg into a PNG output: no display, and a figure that cannot
    # be drawn fails the cell (plain Agg would never draw it).
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # jupyter_core warns (DeprecationWarning) until its platformdirs-based paths are opted into.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the embedded store under the copy
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    assert not any(cell.get("outputs") for cell in notebook.cells), "committed with outputs"
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and the traceback, on any error
    seconds = time.perf_counter() - start
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"
    print(f"{path.name}: {seconds:.1f} s, {len(images)} plots")


def test_the_four_notebooks_are_there() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]
