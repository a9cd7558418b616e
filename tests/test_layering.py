"""The package's imports go down its floors, never up, and never in a circle.

hashnet is built in floors, each using only the ones below it:

    the basics (input checks, atomic files, the device) < kernels and data sets < nn (layers,
    models, training) < codes < probes, regions, plots, the GPU names < properties <
    experiments < the demo and the command line

This test reads every module's imports with `ast` (also the ones inside functions, which run
later but still tie the two modules together) and fails when a module imports one on a higher
floor, when two modules import each other, directly or around a longer circle, or when a new
module has no floor yet (give it one in FLOORS).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hashnet"

# Lowest first. A module belongs to the longest name listed that is a prefix of its own.
FLOORS = [
    ["hashnet", "hashnet._validation", "hashnet._io", "hashnet.device"],
    ["hashnet.kernels", "hashnet.datasets"],
    ["hashnet.nn"],
    ["hashnet.codes"],
    ["hashnet.probes", "hashnet.regions", "hashnet.plot", "hashnet.gpu"],
    ["hashnet.properties"],
    ["hashnet.experiments"],
    ["hashnet.demo", "hashnet.__main__"],
]


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    """{module name: path} for every module of the package."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor(name):
    """The floor index of a module: where the longest matching entry of FLOORS stands."""
    best, best_len = None, -1
    for level, entries in enumerate(FLOORS):
        for entry in entries:
            exact = name == entry
            inside = entry != "hashnet" and name.startswith(entry + ".")
            if (exact or inside) and len(entry) > best_len:
                best, best_len = level, len(entry)
    return best


def imports_of(name, path, known):
    """The hashnet modules that module `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in known else target)
    return {m for m in found if m == "hashnet" or m.startswith("hashnet.")}


def graph():
    known = modules()
    return {name: imports_of(name, path, known) & set(known) for name, path in known.items()}


def test_every_module_has_a_floor():
    missing = [name for name in modules() if floor(name) is None]
    assert not missing, f"modules without a floor (add them to FLOORS): {missing}"


def test_imports_never_go_up_a_floor():
    upward = [
        f"{name} (floor {floor(name)}) imports {target} (floor {floor(target)})"
        for name, targets in graph().items()
        for target in sorted(targets)
        if floor(target) is not None and floor(name) is not None and floor(target) > floor(name)
    ]
    assert not upward, "imports that go up a floor:\n" + "\n".join(upward)


def find_cycle(edges):
    """One import circle as a list of modules [a, b, ..., a], or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    edges = {name: targets - {name} for name, targets in graph().items()}
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_should():
    # A circle is found, and an upward import is seen as one.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert floor("hashnet.nn.layers") < floor("hashnet.codes") < floor("hashnet.regions.steps")
    assert floor("hashnet.kernels.cuda") == floor("hashnet.kernels")
    assert floor("hashnet.numbers") is None  # a new module needs a floor
