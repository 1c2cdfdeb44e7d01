"""``romnet train STORE.h5 --samples N --seed S [--runs A:B]``, ``romnet train-merge TARGET
PART...`` and ``romnet cluster STORE.h5``.

``train`` runs a family of HF simulations with sampled temperature fields into the store
(:mod:`romnet.offline.training`), optionally followed by thermo-elastic snapshots
(``--elastic N``, :mod:`romnet.offline.elastic_snapshots`); ``cluster`` clusters them,
prints the a priori efficiency table, and writes the global ROM, the local ROMs and the
classifier into ``/rom`` (:mod:`romnet.offline.local_bases`). Both run under ``mpirun``;
rank 0 prints. Settings: ``[training]`` (:class:`romnet.offline.training.TrainingSettings`)
and ``[offline]`` (:mod:`romnet.offline.settings`) of ``--case`` / ``--config``; the
options override them.
"""
from __future__ import annotations

from ..offline.settings import DISSIMILARITIES, ClusterSettings, OfflineSettings
from ..offline.training import DEFAULT_FIELDS, POOL_FACTOR, SCORES, STRATEGIES, TrainingSettings
from .options import command, say, settings


def parse_runs(spec: str) -> list:
    """Run indices of ``--runs``: comma-separated ``I`` or ``A:B`` (A..B-1), e.g. ``0:10,15``."""
    from ..errors import InputError
    out = []
    try:
        for item in spec.split(","):
            item = item.strip()
            if ":" in item:
                a, b = item.split(":")
                a, b = int(a), int(b)
                if b <= a or a < 0:
                    raise ValueError
                out.extend(range(a, b))
            else:
                if int(item) < 0:
                    raise ValueError
                out.append(int(item))
    except ValueError:
        raise InputError(f"--runs {spec!r}: expected comma-separated indices I or ranges A:B "
                         "with 0 <= A < B (e.g. 0:10,15)") from None
    return out


def _case_training(case_dir):
    """(the [training] table, the generator script's SAMPLER or None, the [offline] keys of
    the pipeline (the greedy strategy's ROMs)) of a case directory."""
    from ..settings import specs
    from .config import load_case_config
    from .options import note
    from .workflow.context import load_script
    cfg = load_case_config(case_dir, note)
    gen = cfg.get("generate")
    mod = load_script(gen["script"]) if gen and gen.get("script") else None
    offline = {k: v for k, v in cfg.get("offline", {}).items() if k not in specs(ClusterSettings)}
    return cfg["training"], getattr(mod, "SAMPLER", None), offline


def cmd_train(args):
    """run a family of HF simulations with sampled temperature fields

    Samples N temperature fields (hot spot + smooth perturbation, seeded), runs the HF solver
    once per field with the store's problem (other loads kept) and appends series
    train_000, train_001, ... and the /training index to the store. Complete runs are kept
    when the command is run again. --strategy greedy runs --initial of them, then each time
    the candidate of runs 0..pool-1 that the ROM of the runs made so far (built with the
    [offline] settings of --case) scores worst, until N runs are complete; /rom is then the
    ROM of the N runs."""
    from ..errors import InputError
    from ..hifi import SolverOptions
    from ..online.greedy_training import train_family
    tr, sampler, offline = _case_training(args.case) if args.case else ({}, None, {})
    tr = {**tr, **{k: v for k, v in dict(samples=args.samples, seed=args.seed, increments=args.increments,
                                          fields=args.fields.split(",") if args.fields else None,
                                          elastic=args.elastic, strategy=args.strategy, pool=args.pool,
                                          initial=args.initial, score=args.score).items() if v is not None}}
    if tr.get("samples") is None:
        raise InputError("romnet train: give --samples N (or --case CASE_DIR with [training] samples)")
    seed = tr.get("seed", TrainingSettings.seed)
    # with --runs (one task of a job array) the thermo-elastic snapshots run once, on the merged store
    elastic = args.elastic if args.elastic is not None else (0 if args.runs else tr.get("elastic", 0))
    fields = tr.get("fields") or list(DEFAULT_FIELDS)
    opts = SolverOptions(linear=args.linear, petsc_options=args.petsc_options or "", verbose=False)
    runs = parse_runs(args.runs) if args.runs else None
    train_family(args.store, {**tr, "fields": fields}, sampler, offline=offline, options=opts, runs=runs,
                 progress=say)
    if elastic:
        from ..offline.elastic_snapshots import run_elastic_snapshots
        run_elastic_snapshots(args.store, elastic, seed=seed, sampler=sampler, fields=fields, options=opts,
                              progress=say)
    return 0


def cmd_train_merge(args):
    """gather training runs made in parts (job arrays) into one store

    Copies the complete training runs (series train_NNN and their /training rows) of PART
    stores (each a copy of the same case store trained with romnet train --runs) into
    TARGET, in place and run by run. Parts of another case or family are refused; runs
    already complete in TARGET are kept."""
    from .. import mpi
    from ..errors import InputError
    from ..offline.training_merge import merge_training
    if mpi.comm().Get_size() > 1:
        raise InputError("romnet train-merge copies HDF5 data serially: run it without mpirun (one process)")
    merge_training(args.target, args.parts, progress=print)
    return 0


def cmd_cluster(args):
    """cluster training simulations into local ROMs (+ classifier)

    Clusters the training simulations of a store (romnet train) with k-medoids on an
    angle-based dissimilarity, prints the a priori criterion (mean projection error of the
    training snapshots on local vs global bases with equal modes, k = 1 .. max-clusters,
    angle vs Euclidean), and writes the global ROM, one local ROM per cluster and the
    classifier into /rom (docs/rom-schema.md)."""
    from ..offline.local_bases import run_clustering
    off = settings(args, "offline", dict(pod_tol=args.pod_tol, ecm_tol=args.ecm_tol,
                                         pod_max_modes=args.pod_max_modes, clusters=args.clusters,
                                         max_clusters=args.max_clusters, dissimilarity=args.dissimilarity))
    cfg = {k: v for k, v in off.items() if k in OfflineSettings.__dataclass_fields__}
    cfg["series"] = "imported"           # ignored: the training series are used
    clusters = off.get("clusters", ClusterSettings.clusters)
    rep = run_clustering(args.store, clusters=None if clusters == "auto" else clusters,
                         max_clusters=off.get("max_clusters", ClusterSettings.max_clusters),
                         dissimilarity=off.get("dissimilarity", ClusterSettings.dissimilarity), modes=args.modes,
                         config=cfg, seed=args.seed, classifier=not args.no_classifier, progress=say)
    for k in rep["chosen"]:
        c = rep["classifier"].get(k)
        acc = f", classifier CV accuracy {c['cv_accuracy']:.3f} (chance {c['chance']:.3f})" if c else ""
        modes = [r["modes"]["U"] for r in rep["local"][k]]
        say(f"cluster done: k={k}, local U modes {modes}{acc}")
    return 0


def register(subparsers):
    s = command(subparsers, "train", cmd_train)
    s.add_argument("store", help="case store (HDF5) with mesh and problem")
    s.add_argument("--case", help="case directory: take samples, seed, increments, fields, elastic "
                   "([training] of its case.toml) and the temperature sampler (SAMPLER of its [generate] "
                   "script) from it; the options below override")
    s.add_argument("--samples", type=int, help="number of training simulations (required without --case)")
    s.add_argument("--seed", type=int, help=f"seed of the family (default {TrainingSettings.seed})")
    s.add_argument("--increments", type=int, help="replace the stepping by this many equal increments")
    s.add_argument("--fields", help=f"comma-separated fields to store (default {','.join(DEFAULT_FIELDS)})")
    s.add_argument("--elastic", type=int,
                   help="also run this many thermo-elastic snapshots (series elastic_NNN: one linear "
                        "increment to the peak of the loading, plasticity off; romnet cluster adds "
                        "them to every ROM; default 0, with --case its [training] elastic except with "
                        "--runs: run them once on the merged store)")
    s.add_argument("--runs", help="run only these indices of the family, e.g. 0:10 or 0:10,15 (one task "
                   "of a job array, on its own copy of the case store; gather with romnet train-merge)")
    s.add_argument("--strategy", choices=STRATEGIES, help=f"which runs: random (runs 0..N-1) or greedy (each "
                   f"next run the candidate the current ROM scores worst; default {TrainingSettings.strategy})")
    s.add_argument("--pool", type=int, help=f"greedy: candidates are runs 0..pool-1 (default {POOL_FACTOR} x N)")
    s.add_argument("--initial", type=int, help=f"greedy: random runs first (default {TrainingSettings.initial})")
    s.add_argument("--score", choices=SCORES, help=f"greedy: indicator whose max over a candidate's ROM run is "
                   f"its score (default {TrainingSettings.score})")
    s.add_argument("--linear", default="auto", help="HF linear solver: auto | scipy | petsc")
    s.add_argument("--petsc-options", help="PETSc options string for the HF solver")
    m = command(subparsers, "train-merge", cmd_train_merge)
    m.add_argument("target", help="case store to gather the runs into (e.g. the original case store)")
    m.add_argument("parts", nargs="+", help="part stores (romnet train --runs ...)")
    c = command(subparsers, "cluster", cmd_cluster)
    c.add_argument("store", help="case store with a training family")
    c.add_argument("--clusters", type=int, nargs="+", help="number(s) of clusters to build local ROMs "
                   "for (default: chosen from the criterion)")
    c.add_argument("--max-clusters", type=int, default=None,
                   help=f"largest k of the criterion table (default {ClusterSettings.max_clusters})")
    c.add_argument("--dissimilarity", default=None, choices=DISSIMILARITIES,
                   help=f"dissimilarity between simulations (default {ClusterSettings.dissimilarity})")
    c.add_argument("--modes", type=int, help="modes per basis in the criterion (default: global basis "
                   "with 10%% relative projection error)")
    c.add_argument("--seed", type=int, default=0, help="seed of k-medoids and classifier CV")
    c.add_argument("--config", help="case.toml whose [offline] table gives the ROM settings")
    c.add_argument("--pod-tol", type=float, help="displacement POD tolerance of the ROMs")
    c.add_argument("--pod-max-modes", type=int, help="cap on displacement modes of the ROMs")
    c.add_argument("--ecm-tol", type=float, help="ECM tolerance of the ROMs")
    c.add_argument("--no-classifier", action="store_true", help="do not fit the classifier")
