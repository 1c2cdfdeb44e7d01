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


def test_hot_spot_centre_sub_box():
    """``center`` restricts the hot-spot centres to a sub-box; the whole box is the default
    (same random stream); a malformed box is refused with an InputError."""
    import pytest

    from romnet.errors import InputError
    box_ = ((0.2, 0.3, 0.5), (0.4, 0.6, 0.8))
    s = HotSpotSampler(center=box_)
    lo, hi = np.asarray(box_[0]), np.asarray(box_[1])
    for seed in range(20):
        c = np.asarray(sample_parameters(seed, s)["center"])
        assert np.all(c >= lo) and np.all(c <= hi)
        # the same draw as the default sampler, mapped into the sub-box
        c0 = np.asarray(sample_parameters(seed)["center"])
        assert np.allclose(c, lo + (hi - lo) * c0)
    assert sample_parameters(5, HotSpotSampler(center=((0, 0, 0), (1, 1, 1)))) == sample_parameters(5)
    for bad in (((0.5, 0.5), (1, 1)), ((0.6, 0, 0), (0.5, 1, 1)), ((0, 0, 0), (1, 1, 1.5)), "abc"):
        with pytest.raises(InputError, match="HotSpotSampler.center"):
            sample_parameters(0, HotSpotSampler(center=bad))
