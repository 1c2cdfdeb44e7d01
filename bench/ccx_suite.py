"""All 50 CalculiX suite decks through ccx and romnet (``tests/ccx_suite.py``).

Prints, per deck: does the deck import (deck + results), does ``romnet hifi`` run, the U
error against ccx (max over outputs, as ``romnet compare``), or the refused keyword with
romnet's message; then the totals. ccx runs are cached outside the repository
(``$ROMNET_CCX_CACHE``, default ``<tmp>/romnet-ccx-suite``).

    python bench/ccx_suite.py                       # every deck, element formulation as written
    python bench/ccx_suite.py --variant full        # C3D20R/C3D8R replaced by C3D20/C3D8 in both codes
    python bench/ccx_suite.py --variant auto        # 'full' only where romnet lacks reduced integration
    python bench/ccx_suite.py beamp achtel2 -v      # some decks, with notes and messages

Exit status 0 (the figures are the output); a traceback is reported as such per deck.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import ccx_suite  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("decks", nargs="*", help="deck names (default: the 50 of calculix-suite-decks.txt)")
    ap.add_argument("--variant", choices=["as-is", "full", "auto"], default="as-is")
    ap.add_argument("--tol", type=float, default=ccx_suite.U_TOL)
    ap.add_argument("--linear", default="auto", choices=["auto", "scipy", "petsc"])
    ap.add_argument("-v", "--verbose", action="store_true", help="print import notes and full messages")
    args = ap.parse_args(argv)
    folder = ccx_suite.suite_folder()
    if folder is None:
        print(f"{ccx_suite.PACKAGE} is not installed (apt-get install {ccx_suite.PACKAGE})")
        return 1
    if ccx_suite.ccx_executable() is None:
        print("ccx not found (apt-get install calculix-ccx)")
        return 1
    names = args.decks or ccx_suite.deck_names()
    print(f"CalculiX {ccx_suite.ccx_version()}, suite {folder}, cache {ccx_suite.cache_root()}, "
          f"variant {args.variant}, tolerance {args.tol:g}")
    print(f"{'deck':20s} {'var':5s} {'import':6s} {'runs':5s} {'U err':>9s}  outcome")
    results = []
    t0 = time.perf_counter()
    for name in names:
        variant = ccx_suite.default_variant(name, folder) if args.variant == "auto" else args.variant
        r = ccx_suite.run_deck(name, variant, folder, linear=args.linear, tol=args.tol)
        results.append(r)
        err = f"{r.u_err:9.2e}" if r.u_err is not None else " " * 9
        if r.status == "refused":
            what = f"refused *{r.keyword}" if r.keyword else "refused"
            msg = r.message if args.verbose else r.message.splitlines()[0][-150:]
            outcome = f"{what}: {msg}"
        elif r.status == "traceback":
            outcome = "TRACEBACK: " + r.message.strip().splitlines()[-1]
        elif r.status == "ccx-failed":
            outcome = "ccx failed: " + (r.message.strip().splitlines() or [""])[-1]
        else:
            outcome = r.status
        print(f"{name:20s} {'full' if variant == 'full' else 'as-is':5s} {'yes' if r.imports else 'no':6s} "
              f"{'yes' if r.runs else 'no':5s} {err}  {outcome}", flush=True)
        if args.verbose:
            for n in r.notes:
                print(f"{'':22s}note: {n}")
            if r.status == "traceback":
                print(r.message)
    n = len(results)
    imp = sum(r.imports for r in results)
    runs = sum(r.runs for r in results)
    match = sum(r.status == "match" for r in results)
    refused = [r for r in results if r.status == "refused"]
    tb = [r.name for r in results if r.status == "traceback"]
    print(f"\ntotals ({n} decks, {time.perf_counter() - t0:.0f} s): import {imp}, run with romnet hifi {runs}, "
          f"U within {args.tol:g} of ccx {match}, refused {len(refused)}, tracebacks {len(tb)}"
          + (f" ({', '.join(tb)})" if tb else ""))
    nokw = [r.name for r in refused if not r.keyword]
    if nokw:
        print(f"refused without naming a keyword: {', '.join(nokw)}")
    mism = [f"{r.name} ({r.u_err:.1e})" for r in results if r.status == "mismatch"]
    if mism:
        print(f"mismatches: {', '.join(mism)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
