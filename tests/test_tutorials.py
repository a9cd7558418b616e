"""The tutorial notebooks run top to bottom, and are kept in the repository without outputs.

Each notebook runs in a fresh Jupyter kernel of this interpreter (ipykernel must be installed
in the same environment; `pip install ".[test]"` brings it), with a temporary folder as its
working directory, so nothing is written into the repository. A failing cell fails its test
with that cell's source and traceback.
"""

import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
CELL_TIMEOUT = 120  # seconds per cell
ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks


@pytest.fixture
def kernel_dir(monkeypatch, tmp_path):
    """Set up the environment the kernel inherits and return its working directory.

    hashnet is importable from this checkout even when it is not installed; BLAS uses one
    thread (a busy 2-core machine runs much faster that way; a setting already in the
    environment wins); the kernel spec of this environment wins over a user's own "python3";
    and temporary files go under tmp_path/tmp, which pytest cleans up.
    """
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    return tmp_path / "cwd"


def run_notebook(nb, cwd):
    """Execute `nb` in place in a python3 kernel (this interpreter), working in `cwd`."""
    import nbclient

    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def test_there_are_seven_tutorials():
    assert [p.stem[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_", "07_"]


def test_kernel_runs_this_interpreter(kernel_dir):
    import nbformat

    nb = nbformat.v4.new_notebook()
    source = "import json, sys; print(json.dumps([sys.executable, sys.prefix]))"
    nb.cells.append(nbformat.v4.new_code_cell(source))
    run_notebook(nb, kernel_dir)
    executable, prefix = json.loads(nb.cells[0].outputs[0]["text"])
    assert (executable, prefix) == (sys.executable, sys.prefix)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_tutorial_runs(path, kernel_dir):
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    failure = None
    try:
        run_notebook(nb, kernel_dir)
    except CellExecutionError as error:
        failure = ANSI_COLOURS.sub("", str(error))
    if failure is not None:  # reported outside the except block: the cell's error, once
        pytest.fail(f"{path.name}: a cell failed\n{failure}", pytrace=False)
    print(f"{path.name} ran in {time.perf_counter() - start:.1f}s")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert list(kernel_dir.iterdir()) == [], "the tutorial wrote into its working directory"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_tutorial_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}, cell {i} has outputs: clear them"
            assert cell["execution_count"] is None, f"{path.name}, cell {i} has an execution count"


def test_tutorials_match_their_generator():
    pytest.importorskip("nbformat")
    script = ROOT / "scripts" / "make_tutorials.py"
    spec = importlib.util.spec_from_file_location("make_tutorials", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.build_all().items():
        assert (TUTORIALS / name).read_text() == text, (
            f"tutorials/{name} differs from scripts/make_tutorials.py: edit the script and run "
            "python scripts/make_tutorials.py"
        )
