"""Z-set binary mesh (.geo) reading time: romnet's reader vs muscat's (the reference it is
tested against), on a c3d8 grid written by ``adapters.zset.geo.write_geo``.

usage: python bench/bench_zset_geo.py [N]   (N^3 elements, default 40; prints seconds)
muscat is taken from .venv/test-data/muscat (tests/data_fetch.py installs it)."""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from adapters.zset.geo import read_geo, write_geo  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
g = np.arange(n + 1)
x = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3).astype(float)
idx = np.arange((n + 1) ** 3).reshape(n + 1, n + 1, n + 1)
c = idx[:-1, :-1, :-1].ravel()
dx, dy, dz = (n + 1) ** 2, n + 1, 1
conn = np.stack([c, c + dx, c + dx + dy, c + dy, c + dz, c + dx + dz, c + dx + dy + dz, c + dy + dz], 1)
with tempfile.TemporaryDirectory() as d:
    p = write_geo(Path(d) / "grid.geo", x, np.arange(1, len(x) + 1),
                  [("c3d8", np.arange(1, len(conn) + 1), conn)], {"all": np.arange(len(x))})
    t = time.perf_counter()
    m = read_geo(p)
    t_r = time.perf_counter() - t
    print(f"{m.mesh.n_nodes} nodes, {m.mesh.n_elements} c3d8, {p.stat().st_size / 1e6:.1f} MB")
    print(f"romnet read_geo: {t_r:.3f} s")
    try:
        from data_fetch import muscat_geo_reader
        ReadGeo, _ = muscat_geo_reader()
        t = time.perf_counter()
        ReadGeo(str(p))
        print(f"muscat ReadGeo:  {time.perf_counter() - t:.3f} s")
    except BaseException as exc:  # pytest.skip raises a BaseException subclass
        print(f"muscat not available: {exc}")
