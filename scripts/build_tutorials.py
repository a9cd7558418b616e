"""Build the tutorial notebooks from their plain-text sources, and keep the two in sync.

Each tutorial has one source, `tutorials/src/NN_name.py`, in the "percent" format that
Jupyter (with jupytext), VS Code, PyCharm and Spyder open as a notebook: a line `# %%` starts
a code cell, `# %% [markdown]` a text cell whose lines are comments, and `# %% tags=["..."]`
gives a cell its tags. The executed notebook `tutorials/NN_name.ipynb` is built from it, with
its outputs, so a reader sees what every cell should print before running anything.

A teacher may edit either side, then run the one command

    python scripts/build_tutorials.py

For every tutorial it finds which side changed since the last build (the notebook remembers
the source it was built from), carries the change to the other side (a notebook edited in
Jupyter is written back into its source, tidied with ruff when ruff is installed), and
executes the notebooks whose source changed. If both sides changed it stops and says so;
`--from source` or `--from notebook` then picks the winner. Other options:

    python scripts/build_tutorials.py --check      # exit 1 if anything is out of sync
    python scripts/build_tutorials.py --all        # execute every notebook again
    python scripts/build_tutorials.py 03 05        # only the tutorials starting with 03, 05

Executing needs nbclient, nbformat and ipykernel (`pip install ".[test]"`). Notebooks run
one at a time, each in a fresh kernel of this interpreter, in a temporary folder, with BLAS on
one thread (the fastest choice on a busy machine); the seconds each took are kept in the
notebook's metadata and listed in tutorials/README.md.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
SOURCES = TUTORIALS / "src"
COMMAND = "python scripts/build_tutorials.py"
# A cell that checks the numbers the text states; readers need not see its code.
CHECK_TAG = "remove-cell"
MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
TEXT_WIDTH = 98  # ruff's limit is 100 columns, and a text line carries "# " in front
KERNEL_LIMIT = 600  # seconds for one cell while building (the tests are stricter)


def header(stem):
    """The lines above the first cell. They are rewritten on every sync, never edited."""
    return (
        f"# Source of tutorials/{stem}.ipynb. Edit this file or the notebook, then run\n"
        f"# `{COMMAND}` to carry the change across and re-execute.\n"
        "# A notebook shows a cell's last expression and takes imports where they are used:\n"
        "# ruff: noqa: B018, E402\n"
    )


# --- the text format, both ways --------------------------------------------------------------


def parse(text):
    """The cells of a source text: a list of (kind, source, tags), kind "code" or "markdown"."""
    cells, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.match(line)
        if match:
            tags = tuple(json.loads(match["tags"])) if match["tags"] else ()
            current = ("markdown" if match["markdown"] else "code", [], tags)
            cells.append(current)
        elif current is not None:
            if current[0] == "markdown" and line and not line.startswith("#"):
                raise ValueError(f"line {number}: a text cell holds only comment lines: {line!r}")
            current[1].append(line)
    result = []
    for kind, lines, tags in cells:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line[1:] for line in lines]
        result.append((kind, "\n".join(lines).strip("\n"), tags))
    return result


def unparse(cells, stem):
    """The source text of the cells: the inverse of `parse` (after the header)."""
    blocks = []
    for kind, source, tags in cells:
        marker = "# %%" + (" [markdown]" if kind == "markdown" else "")
        if tags:
            marker += " tags=" + json.dumps(list(tags))
        if kind == "markdown":
            source = "\n".join(f"# {line}".rstrip() for line in _wrap_markdown(source))
        gap = "\n\n" if kind == "code" and _ends_with_import(source) else "\n\n\n"
        blocks.append(marker + ("\n" + source if source else "") + gap)
    # Blank lines between cells as ruff wants them: one after imports (its isort rule), two
    # after anything else (two after a function; allowed after any statement or comment).
    return header(stem) + "\n\n" + "".join(blocks).rstrip("\n") + "\n"


def _ends_with_import(source):
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Import | ast.ImportFrom)


def _wrap_markdown(text):
    """Lines of markdown, long prose lines wrapped to fit ruff's line length.

    Jupyter users write a paragraph on one line; in the source it must fit 100 columns.
    Wrapping a markdown paragraph does not change how it renders. Code blocks, tables and
    headings are left alone.
    """
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or len(line) <= TEXT_WIDTH or line.lstrip().startswith(("|", "#", "$$")):
            lines.append(line)
            continue
        item = re.match(r"^(\s*(?:[-*+]|\d+\.)\s+|\s*)", line).group(1)
        lines += textwrap.wrap(
            line,
            TEXT_WIDTH,
            subsequent_indent=" " * len(item),
            break_long_words=False,
            break_on_hyphens=False,
        )
    return lines


def notebook(cells, stem):
    """An nbformat notebook (no outputs) with the cells; ids are stable between builds."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, source, tags) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source)
        cell.id = f"{stem[:2]}-{i:02d}"
        if tags:
            cell.metadata["tags"] = list(tags)
        if CHECK_TAG in tags:  # JupyterLab folds its code away
            cell.metadata["jupyter"] = {"source_hidden": True}
        nb.cells.append(cell)
    return nb


def cells_of(nb):
    """The cells of a notebook as (kind, source, tags); raw cells are kept as text cells."""
    cells = []
    for cell in nb.cells:
        kind = "code" if cell.cell_type == "code" else "markdown"
        tags = tuple(cell.get("metadata", {}).get("tags", ()))
        cells.append((kind, cell.source.strip("\n"), tags))
    return cells


def source_of(nb, stem):
    """The source text a notebook corresponds to."""
    return unparse(cells_of(nb), stem)


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def tidy(path):
    """Format a source written from a notebook with ruff, when ruff is installed."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        print("  (ruff not found: the source is not formatted; run ruff format on it)")
        return
    for args in (["check", "--fix", "--quiet", "--select", "I,UP,F401"], ["format", "--quiet"]):
        subprocess.run([ruff, *args, str(path)], cwd=ROOT, check=False)


# --- executing -------------------------------------------------------------------------------


def execute(nb, timeout=KERNEL_LIMIT):
    """Run `nb` in place in a fresh python3 kernel; returns the seconds it took.

    The kernel works in an empty temporary folder (a tutorial writes nothing next to itself),
    imports hashnet from this checkout, and runs BLAS on one thread.
    """
    import nbclient

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="hashnet-tutorial-") as folder:
        (Path(folder) / "cwd").mkdir()
        (Path(folder) / "tmp").mkdir()
        path = os.environ.get("PYTHONPATH")
        os.environ.update(
            PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""),
            JUPYTER_PREFER_ENV_PATH="1",  # this environment's kernel, not a user's own
            MPLBACKEND="module://matplotlib_inline.backend_inline",
            TMPDIR=str(Path(folder) / "tmp"),
        )
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = saved.get(name, "1")
        try:
            client = nbclient.NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                record_timing=False,
                resources={"metadata": {"path": str(Path(folder) / "cwd")}},
            )
            start = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - start
            left = sorted(p.name for p in (Path(folder) / "cwd").iterdir())
        finally:
            os.environ.clear()
            os.environ.update(saved)
    if left:
        raise RuntimeError(f"the tutorial wrote into its working folder: {left}")
    return seconds


def title_of(cells):
    for kind, source, _ in cells:
        if kind == "markdown":
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "(untitled)"


# --- the command -----------------------------------------------------------------------------


def stems(selection=()):
    found = sorted(p.stem for p in SOURCES.glob("[0-9][0-9]_*.py"))
    if selection:
        found = [s for s in found if s.startswith(tuple(selection))]
    return found


def state(stem):
    """What changed since the last build: "same", "source", "notebook", "both" or "new"."""
    import nbformat

    source_path, nb_path = SOURCES / f"{stem}.py", TUTORIALS / f"{stem}.ipynb"
    if not nb_path.exists():
        return "new"
    source = source_path.read_text()
    nb = nbformat.read(nb_path, as_version=4)
    built_from = nb.metadata.get("hashnet", {}).get("source_sha256")
    from_nb = source_of(nb, stem)
    if from_nb == source:
        return "same" if built_from == digest(source) else "source"
    if digest(source) == built_from:
        return "notebook"
    if digest(from_nb) == built_from:
        return "source"
    return "both"


def build(stem, prefer=None, execute_anyway=False):
    """Bring one tutorial in sync; returns what was done, in words."""
    import nbformat

    source_path, nb_path = SOURCES / f"{stem}.py", TUTORIALS / f"{stem}.ipynb"
    what = state(stem)
    if what == "both":
        what = {"source": "source", "notebook": "notebook"}.get(prefer)
        if what is None:
            raise SystemExit(
                f"{stem}: both the source and the notebook changed since the last build. Keep "
                f"one: {COMMAND} --from source {stem[:2]}  (or --from notebook)"
            )
    if what == "notebook" or (prefer == "notebook" and what != "new"):
        edited = nbformat.read(nb_path, as_version=4)
        source_path.write_text(source_of(edited, stem))
        tidy(source_path)
        what = "notebook"
    if what == "same" and not execute_anyway:
        return "up to date"
    # Normalise the source (a no-op unless it was just written from the notebook), then build
    # and execute from it.
    source = unparse(parse(source_path.read_text()), stem)
    source_path.write_text(source)
    nb = notebook(parse(source), stem)
    seconds = execute(nb)
    nb.metadata["hashnet"] = {"source_sha256": digest(source), "run_seconds": round(seconds)}
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=TUTORIALS, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.chmod(f.name, 0o644)
    os.replace(f.name, nb_path)  # never a half-written notebook
    origin = {"notebook": "source rewritten from the notebook; "}.get(what, "")
    return f"{origin}executed in {seconds:.0f}s"


def readme_table():
    """The table of tutorials/README.md: every notebook, its title and its measured time."""
    import nbformat

    rows = ["| notebook | run time | solutions |", "|---|---|---|"]
    for stem in stems():
        nb_path = TUTORIALS / f"{stem}.ipynb"
        nb = nbformat.read(nb_path, as_version=4) if nb_path.exists() else None
        seconds = nb.metadata.get("hashnet", {}).get("run_seconds") if nb else None
        title = title_of(parse((SOURCES / f"{stem}.py").read_text()))
        took = f"{seconds} s" if seconds is not None else "not run"
        solution = TUTORIALS / "solutions" / f"{stem}.py"
        solved = f"[{stem}.py](solutions/{stem}.py)" if solution.exists() else "-"
        rows.append(f"| [{title}]({stem}.ipynb) | {took} | {solved} |")
    return "\n".join(rows)


TABLE_START, TABLE_END = "<!-- table: built by scripts/build_tutorials.py -->", "<!-- /table -->"


def update_readme(check=False):
    path = TUTORIALS / "README.md"
    text = path.read_text()
    head, start, rest = text.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise SystemExit(f"{path} lost its table markers {TABLE_START} ... {TABLE_END}")
    new = head + start + "\n" + readme_table() + "\n" + end + tail
    if new != text and not check:
        path.write_text(new)
    return new == text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Sync the tutorial sources and notebooks and execute what changed."
    )
    parser.add_argument("only", nargs="*", help="tutorials whose names start with these")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--all", action="store_true", help="execute every selected notebook")
    parser.add_argument(
        "--from", dest="prefer", choices=("source", "notebook"), help="the side that wins"
    )
    args = parser.parse_args(argv)
    selected = stems(args.only)
    if not selected:
        raise SystemExit(f"no tutorial source in {SOURCES} matches {args.only}")
    if args.check:
        stale = [(stem, state(stem)) for stem in selected]
        stale = [(stem, what) for stem, what in stale if what != "same"]
        for stem, what in stale:
            print(f"{stem}: out of sync ({what} changed); run {COMMAND}")
        if not update_readme(check=True):
            stale.append(("README", "table"))
            print(f"tutorials/README.md: its table is stale; run {COMMAND}")
        print("in sync" if not stale else "")
        return 1 if stale else 0
    for stem in selected:
        print(f"{stem}: ", end="", flush=True)
        print(build(stem, args.prefer, execute_anyway=args.all), flush=True)
    update_readme()
    return 0


if __name__ == "__main__":
    sys.exit(main())
