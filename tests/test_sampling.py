"""romnet.sampling: seeded hot-spot temperature fields and problem families."""
from __future__ import annotations

import numpy as np

from conftest import make_small_case
from romnet.meshing import box
from romnet.sampling import (HotSpotSampler, key_scales, sample_parameters, sample_temperature,
                             temperature_family, temperature_field, with_temperature)


def test_seeded_and_mesh_independent_parameters():
    m = box("c3d8", 3)
    a, pa = sample_temperature(m.coordinates, 7)
    b, pb = sample_temperature(m.coordinates, 7)
    c, _ = sample_temperature(m.coordinates, 8)
    assert np.array_equal(a, b) and pa == pb and not np.allclose(a, c)
    assert pa == sample_parameters(7)
    # same parameters on a finer mesh: same function (nodes shared by both meshes agree)
    f = box("c3d8", 6)
    T6 = temperature_field(f.coordinates, pa)
    idx = [np.flatnonzero(np.all(np.isclose(f.coordinates, x), axis=1))[0] for x in m.coordinates]
    assert np.allclose(T6[idx], a)


def test_hot_spot_range_and_location():
    m = box("c3d8", 8)
    s = HotSpotSampler(smooth=0.0)
    for seed in range(5):
        T, p = sample_temperature(m.coordinates, seed, s)
        assert 300 <= p["amplitude"] <= 900
        assert T.min() >= s.t_ref - 1e-12
        assert T.max() <= s.t_ref + p["amplitude"] + 1e-9
        hot = m.coordinates[np.argmax(T)]
        assert np.linalg.norm(hot - np.asarray(p["center"])) <= np.sqrt(3) / 8 + 1e-12
    # with the perturbation: still >= T_ref, peak near the amplitude
    T, p = sample_temperature(m.coordinates, 3)
    assert T.min() >= 20.0 and abs(T.max() - 20 - p["amplitude"]) < 0.3 * p["amplitude"]


def test_family_keeps_loads_and_time_structure():
    case = make_small_case()
    base = case.problem
    fam = temperature_family(base, case.mesh.coordinates, 4, seed=2)
    assert len(fam) == 4
    s = key_scales(base.temperature, 20.0)
    for pb, T, p in fam:
        assert pb.pressure is not base.pressure and len(pb.pressure) == len(base.pressure)
        assert pb.dirichlet == base.dirichlet and pb.tables.keys() == base.tables.keys()
        assert np.array_equal(pb.temperature.times, base.temperature.times)
        assert pb.temperature.period == base.temperature.period
        assert np.allclose(pb.temperature.fields, 20 + s[:, None] * (T - 20)[None])
        hottest = int(np.argmax(np.max(base.temperature.fields, axis=1)))
        assert np.allclose(pb.temperature.fields[hottest], T)
    assert not np.allclose(fam[0][1], fam[1][1])
    # base untouched; stable when n changes
    assert np.array_equal(case.problem.temperature.fields, base.temperature.fields)
    fam2 = temperature_family(base, case.mesh.coordinates, 2, seed=2)
    assert np.array_equal(fam2[1][1], fam[1][1])
    # no base temperature: one key field
    base.temperature = None
    pb = with_temperature(base, fam[0][1])
    assert pb.temperature.fields.shape == (1, 12)
