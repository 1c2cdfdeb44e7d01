"""``romnet rom STORE.h5 [--use N]``: the learned versions of a store's ROM.

A ROM that learns (``romnet online --enrich``, the Monte Carlo of ``romnet run``) keeps
every enrichment as a new version (:mod:`romnet.offline.rom_versions`); version 0 is the
store's own ``/rom``. This command lists them (which sample and increment added what, the
sizes) and selects the one the online stage loads (roll back or forward).
"""
from __future__ import annotations

from .options import command


def cmd_rom(args):
    """list or select the learned versions of a store's ROM

    Without options: the versions (version 0 = the ROM written by romnet offline / cluster),
    their parent, what each added (samples, enrichments, modes and points of the ROMs that
    learned) and the current one. --use N makes version N the one every later run loads
    (N = 0: back to the offline ROM); versions are never deleted."""
    from ..offline import rom_versions
    from ..offline.rom_store import resolve_version, rom_base
    base = rom_base(args.store)
    if args.use is not None:
        rom_versions.use_version(args.store, args.use, base)
        print(f"{args.store}: the online stage now loads ROM version {args.use}")
        return 0
    idx = rom_versions.read_index(args.store, base)
    if idx.get("stale"):
        print(f"{args.store}: {idx['stale']} learned version(s) of an older /rom (ignored)")
    cur = resolve_version(args.store)
    print(f"{args.store}: ROM version {cur} is current" + (" (the offline ROM)" if cur == 0 else ""))
    print("  v0: the store's /rom (romnet offline / cluster)")
    for v in idx["versions"]:
        lg = v.get("log", {})
        enr = lg.get("enrichments", [])
        what = ", ".join(f"{e.get('rom')} t={e.get('time', e.get('t_to', 0)):g}: {e.get('modes_before')} -> "
                         f"{e.get('modes_after')} U modes, {e.get('points_after')} points"
                         + (" (dual-only)" if e.get("dual_only") else "") for e in enr[:3])
        more = f" (+{len(enr) - 3} more)" if len(enr) > 3 else ""
        sample = f"sample {lg['sample']}, " if "sample" in lg else ""
        print(f"  v{v['version']} from v{v['parent']} ({v.get('created', '?')}): {sample}{len(enr)} enrichment(s)"
              + (f": {what}{more}" if enr else "") + (" <- current" if int(v["version"]) == cur else ""))
    return 0


def register(subparsers):
    s = command(subparsers, "rom", cmd_rom)
    s.add_argument("store", help="case store holding a ROM")
    s.add_argument("--use", type=int, default=None, metavar="N", help="make version N the current one "
                   "(0: the offline ROM)")
