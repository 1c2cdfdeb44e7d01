"""``romnet offline STORE.h5``: POD, ECM, QDEIM and reduced operators into ``/rom``.

Run it under ``mpirun -n N romnet offline ...`` to distribute; progress is printed by
rank 0 only. Settings: :class:`romnet.offline.settings.OfflineSettings` (``--config``: the
``[offline]`` table of a case.toml; the options override it).
"""
from __future__ import annotations

from ..offline.settings import OfflineSettings
from .options import command, say, settings


def register(subparsers):
    s = command(subparsers, "offline", cmd_offline)
    s.add_argument("store", help="case store (HDF5) with training snapshots")
    s.add_argument("--config", help="case.toml whose [offline] table gives the settings")
    s.add_argument("--series", help=f"result series of the training snapshots (default: {OfflineSettings.series})")
    s.add_argument("--pod-tol", type=float, help=f"displacement POD tolerance (default {OfflineSettings.pod_tol:g}): "
                   "relative RMS projection error of the snapshots")
    s.add_argument("--dual-tol", type=float, help="tolerance of the dual-field PODs (default: pod-tol)")
    s.add_argument("--pod-max-modes", type=int, help="cap on the number of displacement modes")
    s.add_argument("--ecm-tol", type=float, help=f"ECM tolerance (default {OfflineSettings.ecm_tol:g}): max "
                   "relative error of the reduced internal forces of any training snapshot")


def cmd_offline(args):
    """build the ROM of a case store (POD, ECM, operators)

    Offline stage: distributed POD of the displacement (L2 mass product) and of the
    integration-point fields, ECM reduced integration points with global error control,
    QDEIM points, precomputed reduced operators; written into the store's /rom group
    (docs/rom-schema.md). Run under mpirun to distribute."""
    from ..offline.pipeline import run_offline
    cfg = settings(args, "offline", dict(pod_tol=args.pod_tol, ecm_tol=args.ecm_tol, series=args.series,
                                         pod_max_modes=args.pod_max_modes, dual_tol=args.dual_tol))
    cfg = {k: v for k, v in cfg.items() if k in OfflineSettings.__dataclass_fields__}
    rep = run_offline(args.store, cfg, progress=say)
    say(f"offline done: modes {rep['modes']}, {rep['n_points']} reduced integration points "
        f"({rep['n_ecm_points']} ECM + {rep['n_qdeim_extra']} QDEIM), ECM max relative error "
        f"{rep['ecm_error']:.2e}, {rep['timings']['total']:.2f} s on {rep['n_ranks']} rank(s)")
    return 0
