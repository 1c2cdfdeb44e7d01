"""CalculiX's own test suite through ``ccx`` and through romnet (the deck-features harness).

The decks come from Debian's ``calculix-ccx-test`` (``dpkg -L calculix-ccx-test``: a folder
of ``*.inp`` / ``*.inp.gz`` with reference ``.dat`` files); ``scripts/test.sh`` installs it
with ``calculix-ccx``. The 50 static, small-strain, 3D-solid decks the project measures
itself on are listed in ``../shared/calculix-suite-decks.txt``.

For one deck, :func:`run_deck`:

1. :func:`prepare` copies the deck (gunzipped) and the files it reads (the global results of
   a ``*SUBMODEL``) into a cache folder outside the repository
   (``$ROMNET_CCX_CACHE``, default ``<tmp>/romnet-ccx-suite``), adds ``U`` to the ``.frd``
   output of every step that does not already write it (output requests change no result),
   and runs ``ccx`` there once: later calls reuse the run (key: deck text, variant, ccx
   version);
2. imports deck + results with the CalculiX adapter (``romnet import``), runs romnet's HF
   solver on the deck's problem (``romnet hifi``) and compares the displacements with
   ccx's (``romnet compare``: per output ``||U - U_ccx|| / max(||U_ccx||, 1e-2 max_j
   ||U_ccx(j)||)``, the max over outputs).

``variant="full"`` runs both codes on a copy of the deck whose reduced-integration elements
(C3D20R, C3D8R) are replaced by their fully integrated versions: it isolates the deck
features (loads, constraints, ...) from the element formulation; :func:`default_variant`
picks it only while romnet runs C3D20R with a full rule.

Outcomes (:class:`DeckResult.status`): ``match`` (U error <= tolerance), ``mismatch``,
``refused`` (a romnet error: the message names the keyword, the file and the line),
``traceback`` (any other exception: a bug), ``ccx-failed``.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DECK_LIST = REPO.parent / "shared" / "calculix-suite-decks.txt"
PACKAGE = "calculix-ccx-test"
DEFAULT_FOLDER = Path("/usr/share/doc/calculix-ccx-test/examples/test")
#: relative tolerance of the acceptance (max over outputs of romnet compare's U error)
U_TOL = 1e-4
#: bump to invalidate cached ccx runs when the preparation changes
HARNESS_VERSION = "2"

#: files a deck reads besides itself: deck -> [(source, name in the run folder)]; a source
#: that is a suite deck name is run first (its .frd is copied), else it is a suite file
AUXILIARY = {"submodelbeamp": [("beamp", "beamp.frd")],
             "submodeltwobeam": [("twobeam.frd", "twobeam.frd")]}
#: block names of old .frd files that ccx 2.20 no longer reads as displacements (the suite's
#: twobeam.frd of 2012 labels them DISPR: ccx 2.20 then silently drives the submodel with 0,
#: while the suite's own reference submodeltwobeam.frd.ref has the interpolated values)
FRD_RENAMES = {b" -4  DISPR ": b" -4  DISP  "}

#: reduced-integration element types and their fully integrated versions (variant "full")
FULL_INTEGRATION = {"C3D20R": "C3D20", "C3D8R": "C3D8", "C3D20RH": "C3D20H", "C3D8RH": "C3D8H"}


# ---------------------------------------------------------------- locating the suite
def suite_folder() -> Path | None:
    """Folder of the suite's decks (from ``dpkg -L calculix-ccx-test``), or None."""
    try:
        res = subprocess.run(["dpkg", "-L", PACKAGE], capture_output=True, text=True, timeout=30)
        for ln in res.stdout.splitlines():
            if ln.endswith("/achtel2.inp") or ln.endswith("/achtel2.inp.gz"):
                return Path(ln).parent
    except (OSError, subprocess.TimeoutExpired):
        pass
    return DEFAULT_FOLDER if (DEFAULT_FOLDER / "achtel2.inp").exists() else None


def deck_names(path: Path = DECK_LIST) -> list:
    """The 50 deck names of ``calculix-suite-decks.txt`` (comments skipped)."""
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def ccx_executable() -> str | None:
    return shutil.which("ccx")


def ccx_version() -> str:
    exe = ccx_executable()
    if exe is None:
        return "none"
    try:
        res = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=30)
        m = re.search(r"[Vv]ersion\s+(\S+)", res.stdout + res.stderr)
        return m.group(1) if m else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def read_suite_file(folder: Path, name: str) -> bytes:
    """Bytes of ``name`` (or ``name.gz``, unpacked) in the suite folder."""
    p = folder / name
    if p.exists():
        return p.read_bytes()
    pz = folder / (name + ".gz")
    if pz.exists():
        return gzip.decompress(pz.read_bytes())
    raise FileNotFoundError(f"{name} is not in the CalculiX test suite folder {folder}")


def cache_root() -> Path:
    return Path(os.environ.get("ROMNET_CCX_CACHE") or Path(tempfile.gettempdir()) / "romnet-ccx-suite")


# ---------------------------------------------------------------- preparing a deck
_KEYWORD = re.compile(r"^\s*\*(?!\*)([A-Za-z][A-Za-z \-]*)")


def _keyword_of(line: str):
    m = _KEYWORD.match(line)
    return " ".join(m.group(1).upper().split()) if m else None


def with_displacement_output(text: str) -> str:
    """Deck text where every step writes ``U`` to the .frd: a step without a ``*NODE FILE``
    / ``*NODE OUTPUT`` that lists U gets U added to its last such request (or a new
    ``*NODE FILE`` / ``U`` before ``*END STEP``)."""
    lines = text.splitlines()
    out = []
    req = None          # index in out of the last data line of the step's node-file request
    has_u = False
    in_req = False
    for ln in lines:
        kw = _keyword_of(ln)
        if kw is not None:
            in_req = False
            if kw == "STEP":
                req, has_u = None, False
            elif kw in ("NODE FILE", "NODE OUTPUT"):
                in_req, req = True, None
            elif kw == "END STEP" and not has_u:
                if req is None:
                    out += ["*NODE FILE", "U"]
                else:
                    out[req] = out[req].rstrip().rstrip(",") + ",U"
                has_u = True
        elif in_req and ln.strip() and not ln.strip().startswith("**"):
            req = len(out)
            if "U" in [t.strip().upper() for t in ln.split(",")]:
                has_u = True
        out.append(ln)
    return "\n".join(out) + "\n"


def full_integration(text: str) -> str:
    """Deck text with C3D20R / C3D8R elements replaced by C3D20 / C3D8 (variant ``full``)."""
    def repl(m):
        return m.group(1) + FULL_INTEGRATION[m.group(2).upper()]
    pat = r"(?im)(TYPE\s*=\s*)(" + "|".join(sorted(FULL_INTEGRATION, key=len, reverse=True)) + r")\b"
    return re.sub(pat, repl, text)


def uses_reduced_integration(text: str) -> bool:
    return re.search(r"(?im)TYPE\s*=\s*C3D(20|8)R", text) is not None


def romnet_runs_reduced_integration() -> bool:
    """True when romnet's element table runs C3D20R with its own 8-point rule (after the
    elements work), False while it maps C3D20R to the fully integrated c3d20."""
    from adapters.abaqus_deck.mesh import ELEMENT_TYPES
    from romnet.fe.elements import get_element_type
    etype, n_src = ELEMENT_TYPES["C3D20R"]
    return get_element_type(etype).n_ip == n_src


def default_variant(name: str, folder: Path) -> str:
    """``as-is`` when romnet runs the deck's elements like ccx, else ``full``."""
    text = read_suite_file(folder, name + ".inp").decode("latin-1")
    if uses_reduced_integration(text) and not romnet_runs_reduced_integration():
        return "full"
    return "as-is"


@dataclass
class CcxRun:
    name: str
    variant: str
    folder: Path
    deck: Path
    ok: bool
    log: str = ""


def prepare(name: str, folder: Path | None = None, variant: str = "as-is", cache: Path | None = None,
            timeout: float = 600.0) -> CcxRun:
    """Copy deck ``name`` (+ auxiliary files) to its cache folder and run ccx there once."""
    folder = folder or suite_folder()
    if folder is None:
        raise FileNotFoundError(f"Debian package {PACKAGE} not installed (apt-get install {PACKAGE})")
    if variant not in ("as-is", "full"):
        raise ValueError(f"variant {variant!r} (as-is, full)")
    text = read_suite_file(folder, name + ".inp").decode("latin-1")
    if variant == "full":
        text = full_integration(text)
    text = with_displacement_output(text)
    key = hashlib.sha1("\0".join([HARNESS_VERSION, ccx_version(), variant, text]).encode()).hexdigest()[:12]
    root = Path(cache or cache_root())
    run_dir = root / f"{name}-{variant}-{key}"
    deck = run_dir / f"{name}.inp"
    if (run_dir / "ccx.done").exists():
        ok = (run_dir / "ccx.ok").exists()
        return CcxRun(name, variant, run_dir, deck, ok, (run_dir / "ccx.log").read_text())
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    (tmp / deck.name).write_text(text)
    for src, dst in AUXILIARY.get(name, []):
        if src in deck_names_or_empty():
            aux = prepare(src, folder, variant, cache, timeout)
            if not aux.ok:
                raise RuntimeError(f"ccx failed on {src}, needed by {name}")
            shutil.copy(aux.deck.with_suffix(".frd"), tmp / dst)
        else:
            data = read_suite_file(folder, src)
            if src.endswith(".frd"):
                for old, new in FRD_RENAMES.items():
                    data = data.replace(old, new)
            (tmp / dst).write_bytes(data)
    exe = ccx_executable()
    if exe is None:
        raise FileNotFoundError("ccx not found (apt-get install calculix-ccx)")
    env = {"OMP_NUM_THREADS": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        res = subprocess.run([exe, name], cwd=tmp, capture_output=True, text=True, timeout=timeout, env=env)
        log = res.stdout + res.stderr
        ok = res.returncode == 0 and "*ERROR" not in log and (tmp / f"{name}.frd").exists()
    except subprocess.TimeoutExpired:
        log, ok = f"ccx timed out after {timeout:g} s", False
    (tmp / "ccx.log").write_text(log)
    if ok:
        (tmp / "ccx.ok").write_text("")
    (tmp / "ccx.done").write_text("")
    try:
        tmp.rename(run_dir)
    except OSError:                       # another process made it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return CcxRun(name, variant, run_dir, deck, ok, log)


def deck_names_or_empty() -> list:
    try:
        return deck_names()
    except OSError:
        return []


# ---------------------------------------------------------------- romnet on a deck
@dataclass
class DeckResult:
    """Outcome for one deck: ``status`` (match, mismatch, refused, traceback, ccx-failed),
    ``stage`` reached (import, hifi, compare), ``u_err`` (max over outputs), ``keyword`` of
    a refusal, ``message`` (romnet error or traceback), ``notes`` of the import."""
    name: str
    variant: str
    status: str
    stage: str = ""
    u_err: float | None = None
    keyword: str | None = None
    message: str = ""
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    per_output: list = field(default_factory=list)

    @property
    def imports(self) -> bool:
        return self.stage in ("hifi", "compare") or self.status in ("match", "mismatch")

    @property
    def runs(self) -> bool:
        return self.status in ("match", "mismatch")


_REFUSED_KW = re.compile(r"\*([A-Z][A-Z0-9 \-]*[A-Z0-9])")


def refused_keyword(message: str) -> str | None:
    """The ``*KEYWORD`` a romnet error names (first one), or None."""
    m = _REFUSED_KW.search(message)
    return m.group(1) if m else None


def run_romnet(run: CcxRun, out_dir: Path | None = None, linear: str = "auto", tol: float = U_TOL) -> DeckResult:
    """Import ``run``'s deck and results, run romnet's HF solver, compare U with ccx."""
    import time

    from adapters.calculix import ADAPTER
    from romnet.errors import RomnetError
    from romnet.hifi import SolverOptions
    from romnet.hifi.output import compare_stores
    from romnet.hifi.solver import run_hifi
    from romnet.store import write_case

    out_dir = Path(out_dir or run.folder)
    res = DeckResult(run.name, run.variant, "ccx-failed")
    if not run.ok:
        res.message = run.log[-2000:]
        return res
    t0 = time.perf_counter()
    store, hifi = out_dir / f"{run.name}.h5", out_dir / f"{run.name}-hifi.h5"
    stage = "import"
    try:
        case = ADAPTER.read(run.deck)
        res.notes = list(case.metadata.get("notes", []))
        write_case(store, case)
        stage = "hifi"
        run_hifi(store, hifi, options=SolverOptions(linear=linear, verbose=False), progress=None)
        stage = "compare"
        rep = compare_stores(hifi, store)
        res.u_err = rep.u_rel_err
        res.per_output = [float(x) for x in rep.u_err]
        res.status = "match" if res.u_err <= tol else "mismatch"
    except RomnetError as exc:
        res.status, res.message = "refused", str(exc)
        res.keyword = refused_keyword(str(exc))
    except Exception:  # noqa: BLE001 - a traceback is a bug; reported, not raised
        res.status, res.message = "traceback", traceback.format_exc()
    res.stage = stage
    res.seconds = time.perf_counter() - t0
    return res


def run_deck(name: str, variant: str | None = None, folder: Path | None = None, **kw) -> DeckResult:
    """ccx (cached) and romnet on one suite deck; ``variant`` None: :func:`default_variant`."""
    folder = folder or suite_folder()
    variant = variant or default_variant(name, folder)
    run = prepare(name, folder, variant)
    return run_romnet(run, **kw)
