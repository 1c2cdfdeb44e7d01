"""The layer rule of docs/architecture.md, checked on the source: every import of every
module under romnet/ (AST, imports inside functions included) is read, and the test fails
on (a) an import cycle between modules, (b) a library module importing romnet.app,
(c) an import from a lower layer to a higher one, (d) a romnet module importing the
top-level ``adapters`` package by name (adapters are plugins found through entry points).
The top-level API (romnet/__init__.py, PEP 562 lazy names) must not name a module of the
application either, and ``import romnet`` must stay light (no PETSc, MPI, h5py, scipy)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "romnet"

#: layers, bottom to top (docs/architecture.md); a module may import its own layer and below
LAYERS = ("core", "fe+materials", "hifi", "offline", "online", "app")
#: modules directly under romnet/ that are not in the core layer
ROOT_MODULES = {"romnet.meshing": "fe+materials", "romnet.export": "fe+materials",
                "romnet.verify_law": "fe+materials", "romnet.summary": "offline",
                "romnet.validate": "fe+materials", "romnet.adapters": "fe+materials"}
#: sub-packages -> layer
PACKAGES = {"romnet.fe": "fe+materials", "romnet.materials": "fe+materials", "romnet.hifi": "hifi",
            "romnet.offline": "offline", "romnet.online": "online", "romnet.app": "app"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> str:
    for pkg, lay in PACKAGES.items():
        if module == pkg or module.startswith(pkg + "."):
            return lay
    return ROOT_MODULES.get(module, "core")


def imports(path: Path, modules: set) -> set:
    """romnet / adapters modules imported anywhere in ``path`` (``from a import b``: the
    module ``a.b`` when it is one, else ``a``)."""
    name = module_name(path)
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                out.add(sub if sub in modules else mod)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m.split(".")[0] in ("romnet", "adapters")}


@pytest.fixture(scope="module")
def graph():
    files = sorted(PKG.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports(p, modules) - {module_name(p)} for p in files}


def test_every_module_has_a_layer(graph):
    assert "romnet.app.cli" in graph and "romnet.offline.rom_store" in graph   # the parser sees the tree
    for m in graph:
        assert layer(m) in LAYERS


def test_no_import_cycle(graph):
    """Tarjan's strongly connected components: every one must be a single module. Importing
    a package's ``__init__`` counts as importing it (an ``__init__`` re-exporting its
    modules and a module importing the package would be a cycle)."""
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_library_never_imports_the_application(graph):
    bad = [(m, d) for m, deps in graph.items() if layer(m) != "app" for d in deps
           if d == "romnet.app" or d.startswith("romnet.app.")]
    assert not bad, f"library modules importing romnet.app: {bad}"


def test_no_upward_import(graph):
    bad = [(m, d) for m, deps in graph.items() for d in deps if d.startswith("romnet")
           if d != "romnet" and LAYERS.index(layer(d)) > LAYERS.index(layer(m))]
    assert not bad, "imports from a lower layer to a higher one: " + ", ".join(f"{m} -> {d}" for m, d in bad)


def test_adapters_never_imported_by_name(graph):
    bad = [(m, d) for m, deps in graph.items() for d in deps if d == "adapters" or d.startswith("adapters.")]
    assert not bad, f"romnet modules importing the adapters package: {bad}"


def test_top_level_api_names_library_modules_only():
    import romnet
    assert romnet.__all__ and set(romnet.__all__) <= set(dir(romnet))
    for name, (module, _) in romnet._LAZY.items():
        assert not module.startswith("romnet.app"), (name, module)
        assert layer(module) in LAYERS[:-1]


def test_import_romnet_is_light():
    """``import romnet`` loads neither PETSc, MPI, h5py nor scipy (lazy top-level names)."""
    code = ("import sys, romnet; heavy = [m for m in ('petsc4py', 'mpi4py', 'h5py', 'scipy') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == ""
