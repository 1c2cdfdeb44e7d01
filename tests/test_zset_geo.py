"""Z-set binary meshes (.geo): romnet's reader against muscat's on the same bytes.

How the format is verified (also in adapters/zset/geo.py): the real Z-set file ``cube.geo``
shipped with muscat (27 c3d20) is read by both readers to the same mesh, and its c3d20
mid-edge nodes lie at the midpoints of their edges after romnet's permutation; files with
every element type romnet has and with node, element and face sets are written by
``write_geo`` and read back identically by muscat's reader and romnet's; romnet reads the
same mesh from the binary file and from its ASCII .geof twin.
"""
from __future__ import annotations

import numpy as np
import pytest

from adapters.zset.geo import MAGIC, read_geo, write_geo
from adapters.zset.geof import ZSET_ELEMENTS, ZSET_FACES, read_geof
from data_fetch import muscat_geo_reader
from romnet.errors import InputError, UnsupportedError
from romnet.fe.elements import get_element_type

TYPES_3D = ["c3d4", "c3d10", "c3d6", "c3d15", "c3d8", "c3d20"]
TYPES_2D = ["c2d3", "c2d6", "c2d4", "c2d8"]
# a face of an element type, romnet local node numbers (romnet face-type order)
FACES = {"c3d4": ("t3", [0, 1, 2]), "c3d10": ("t6", [0, 1, 2, 4, 5, 6]), "c3d8": ("q4", [0, 1, 2, 3]),
         "c3d20": ("q8", [0, 1, 2, 3, 8, 9, 10, 11]), "c2d4": ("line", [0, 1]), "c2d8": ("quad", [0, 1, 4])}


def _to_zset(perm, romnet_order):
    """Z-set local order of nodes given in romnet order (perm: romnet[i] = zset[perm[i]])."""
    out = np.empty_like(romnet_order)
    out[..., perm if perm is not None else slice(None)] = romnet_order
    return out


def synthetic(types, seed=0):
    """One reference element of each type side by side, node ids shuffled; sets and faces.
    Returns (coords, node_ids, elements, nsets, elsets, fasets) in write_geo's format."""
    rng = np.random.default_rng(seed)
    coords, elements, fasets, k0 = [], [], {}, 0
    for j, zt in enumerate(types):
        rtype, nne, perm = ZSET_ELEMENTS[zt]
        ref = get_element_type(rtype).reference_nodes.astype(float)
        coords.append(ref + np.eye(ref.shape[1])[0] * 3.0 * j)
        conn_r = np.arange(k0, k0 + nne)
        elements.append((zt, np.array([100 + 7 * j]), _to_zset(perm, conn_r)[None, :]))
        if zt in FACES:
            ft, loc = FACES[zt]
            fperm = ZSET_FACES[ft][2]
            fasets.setdefault("skin", []).append((ft, _to_zset(fperm, conn_r[loc])))
        k0 += nne
    coords = np.concatenate(coords)
    node_ids = rng.permutation(np.arange(1, 3 * len(coords) + 1))[:len(coords)]
    n_el = len(elements)
    nsets = {"first": np.arange(4), "odd": np.arange(1, len(coords), 2)}
    elsets = {"even": np.arange(0, n_el, 2), "last": np.array([n_el - 1])}
    return coords, node_ids, elements, nsets, elsets, fasets


def ascii_twin(path, coords, node_ids, elements, nsets, elsets, fasets):
    """The same mesh as an ASCII .geof."""
    ids_of = dict(enumerate(node_ids.tolist()))
    rows = ["***geometry", "**node", f"{len(coords)} {coords.shape[1]}"]
    rows += [f"{i} " + " ".join(repr(float(v)) for v in x) for i, x in zip(node_ids, coords)]
    rows += ["**element", str(sum(len(e[1]) for e in elements))]
    for zt, ids, conn in elements:
        rows += [f"{i} {zt} " + " ".join(str(ids_of[c]) for c in row) for i, row in zip(ids, conn)]
    rows.append("***group")
    for name, idx in nsets.items():
        rows += [f"**nset {name}", " ".join(str(ids_of[i]) for i in idx)]
    el_ids = np.concatenate([e[1] for e in elements])
    for name, idx in elsets.items():
        rows += [f"**elset {name}", " ".join(str(el_ids[i]) for i in idx)]
    for name, faces in fasets.items():
        kind = "liset" if faces[0][0] in ("line", "quad") else "faset"
        rows += [f"**{kind} {name}"] + [f"{ft} " + " ".join(str(ids_of[c]) for c in conn) for ft, conn in faces]
    rows.append("***return")
    path.write_text("\n".join(rows) + "\n")
    return path


def same_mesh(a, b):
    ma, mb = a.mesh, b.mesh
    assert np.array_equal(ma.node_ids, mb.node_ids) and np.array_equal(ma.coordinates, mb.coordinates)
    assert [blk.etype for blk in ma.blocks] == [blk.etype for blk in mb.blocks]
    for x, y in zip(ma.blocks, mb.blocks):
        assert np.array_equal(x.connectivity, y.connectivity) and np.array_equal(x.element_ids, y.element_ids)
    assert np.array_equal(a.file_order, b.file_order)
    for sa, sb in ((ma.node_sets, mb.node_sets), (ma.element_sets, mb.element_sets)):
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert ma.face_sets.keys() == mb.face_sets.keys()
    for k in ma.face_sets:
        assert ma.face_sets[k].keys() == mb.face_sets[k].keys()
        for ft in ma.face_sets[k]:
            assert np.array_equal(ma.face_sets[k][ft], mb.face_sets[k][ft])


@pytest.fixture(scope="module")
def muscat():
    return muscat_geo_reader()


def _muscat_conn(mm):
    """{muscat element type name: connectivity} of a muscat mesh, and its tags."""
    return {str(k): (v.connectivity, {t.name: np.asarray(t.GetIds()) for t in v.tags}) for k, v in mm.elements.items()}


def _compare_with_muscat(geo_path, data, muscat):
    from Muscat.IO.ZsetTools import PermutationZSetToMuscat
    ReadGeo, _ = muscat
    mm = ReadGeo(str(geo_path))
    mesh = data.mesh
    assert np.array_equal(mm.originalIDNodes, mesh.node_ids)
    assert np.array_equal(mm.nodes[:, :mesh.dim], mesh.coordinates)
    for t in mm.nodesTags:
        assert np.array_equal(np.sort(t.GetIds()), np.sort(mesh.node_sets[t.name])), t.name
    mconn = _muscat_conn(mm)
    checked = 0
    for zt, blk in zip(data.zset_types, mesh.blocks):
        _, nne, rperm = ZSET_ELEMENTS[zt]
        rperm = np.arange(nne) if rperm is None else np.asarray(rperm)
        rinv = np.argsort(rperm)  # Z-set local index -> romnet local index
        mperm = np.asarray(PermutationZSetToMuscat.get(zt, np.arange(nne)))
        expect = blk.connectivity[:, rinv[mperm]]  # romnet's elements in muscat's local order
        hits = [c for c, _ in mconn.values() if c.shape[1] == nne and len(c) >= len(expect)
                and any(np.array_equal(row, expect[0]) for row in c)]
        assert hits, f"{zt}: romnet element {expect[0]} not among muscat's"
        assert all(any(np.array_equal(row, e) for row in hits[0]) for e in expect)
        checked += len(expect)
    assert checked == mesh.n_elements
    return mm


def test_real_zset_cube_geo_matches_muscat(muscat):
    """The real Z-set binary mesh shipped with muscat: same nodes, elements and sets in
    both readers; c3d20 mid-edge nodes at their edge midpoints (romnet's permutation)."""
    _, data_dir = muscat
    path = data_dir / "cube.geo"
    data = read_geo(path)
    assert data.mesh.n_nodes == 208 and data.mesh.n_elements == 27 and data.zset_types == ["c3d20"]
    assert len(data.mesh.node_sets) == 26 and not data.flipped_elements
    _compare_with_muscat(path, data, muscat)
    x = data.mesh.coordinates[data.mesh.blocks[0].connectivity]
    edges = get_element_type("c3d20").edges
    mids = np.asarray([e[2] for e in edges]) if len(edges[0]) == 3 else np.arange(8, 20)
    ends = np.asarray([e[:2] for e in edges])
    err = np.abs(x[:, mids] - 0.5 * (x[:, ends[:, 0]] + x[:, ends[:, 1]])).max()
    assert err < 1e-12
    # a wrong permutation would fail this check
    assert np.abs(x[:, mids[::-1]] - 0.5 * (x[:, ends[:, 0]] + x[:, ends[:, 1]])).max() > 1e-2


@pytest.mark.parametrize("types", [TYPES_3D, TYPES_2D], ids=["3d", "2d"])
def test_written_geo_read_back_by_muscat_and_romnet(tmp_path, muscat, types):
    parts = synthetic(types)
    geo = write_geo(tmp_path / "m.geo", *parts)
    data = read_geo(geo)
    assert [b.etype for b in data.mesh.blocks] == [ZSET_ELEMENTS[t][0] for t in types]
    assert not data.flipped_elements  # reference elements: positive volumes after permutation
    mm = _compare_with_muscat(geo, data, muscat)
    # face sets: muscat keeps them as elements tagged with the set name
    for name, faces in parts[5].items():
        n_m = sum(len(tags[name]) for _, tags in _muscat_conn(mm).values() if name in tags)
        assert n_m == len(faces) == sum(len(c) for c in data.mesh.face_sets[name].values())
    # the ASCII twin gives the same romnet mesh
    same_mesh(data, read_geof(ascii_twin(tmp_path / "m.geof", *parts)))


def test_geo_through_the_adapter_and_deck(tmp_path):
    """A deck whose ***mesh is a binary .geo (and a .ut whose **meshfile is one) imports."""
    from adapters.zset import ADAPTER
    parts = synthetic(["c3d10", "c3d4"])
    write_geo(tmp_path / "t.geo", *parts)
    (tmp_path / "m").write_text("***behavior linear_elastic\n**elasticity\n young 2e5\n poisson 0.3\n***return\n")
    (tmp_path / "t.inp").write_text("****calcul\n***mesh\n**file t.geo\n***resolution\n**sequence\n*time 1.\n"
                                     "*increment 1\n***bc\n**impose_nodal_dof\nfirst U1 0.\n***material\n*file m\n"
                                     "****return\n")
    case = ADAPTER.read(tmp_path / "t.inp")
    assert [b.etype for b in case.mesh.blocks] == ["c3d10", "c3d4"]
    assert ADAPTER.read(tmp_path / "t.geo").mesh.n_nodes == case.mesh.n_nodes


# ------------------------------------------------------------------ mutated binary meshes
@pytest.fixture
def good(tmp_path):
    return write_geo(tmp_path / "g.geo", *synthetic(TYPES_3D)).read_bytes()


def _mutate(tmp_path, data: bytes):
    p = tmp_path / "bad.geo"
    p.write_bytes(data)
    return p


def test_mutated_geo_files_give_clear_errors(tmp_path, good):
    nodes_end = good.index(MAGIC, 1)
    el_hdr = nodes_end + len(MAGIC) + 4 + len(b"element\0")
    cases = [
        (good[:-40], InputError, r"byte \d+: truncated file"),
        (good[:nodes_end - 3], InputError, r"byte \d+: truncated file: \d+ nodes needs"),
        (b"Z7BINARYGEOX" + good[12:], InputError, r"byte 0: not a Z-set binary mesh"),
        (good + b"junk", InputError, r"4 unexpected bytes after the end of the mesh"),
        (good.replace(b"c3d10\0", b"c3d99\0"), InputError, r"unknown element type 'c3d99'"),
        (good.replace(b"\0\0\0\x05node\0", b"\0\0\0\x05nodx\0"), UnsupportedError, r"unknown section 'nodx'"),
        (good[:el_hdr] + (10**6).to_bytes(4, "big") + good[el_hdr + 4:], InputError, r"element count: invalid count"),
    ]
    for data, exc, pattern in cases:
        with pytest.raises(exc, match=r"bad\.geo:byte \d+: " if "byte" not in pattern else "bad.geo") as e:
            read_geo(_mutate(tmp_path, data))
        import re
        assert re.search(pattern, str(e.value)), (pattern, str(e.value))
        assert "bad.geo:byte" in str(e.value) or "bad.geo:" in str(e.value)


def test_geo_index_out_of_range_and_bad_face(tmp_path):
    coords, ids, elements, nsets, elsets, fasets = synthetic(["c3d8"])
    bad_el = [("c3d8", elements[0][1], elements[0][2] + np.array([0] * 7 + [50]))]
    with pytest.raises(InputError, match=r"bad\.geo:byte \d+: c3d8 element 100: node index 57 out of range 0\.\.7"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, ids, bad_el))
    with pytest.raises(InputError, match=r"nset first: node index 9 out of range"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, ids, elements, {"first": np.array([0, 9])}))
    with pytest.raises(InputError, match=r"elset e: element rank 3 out of range 0\.\.0"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, ids, elements, elsets={"e": np.array([3])}))
    with pytest.raises(InputError, match=r"face set s: unknown face type 'q5'"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, ids, elements, fasets={"s": [("q5", [0, 1, 2, 3])]}))
    with pytest.raises(InputError, match=r"face set s: q4 needs 4 nodes, got 3"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, ids, elements, fasets={"s": [("q4", [0, 1, 2])]}))
    dup = np.array(ids)
    dup[1] = dup[0]
    with pytest.raises(InputError, match=rf"duplicate node id {dup[0]}"):
        read_geo(write_geo(tmp_path / "bad.geo", coords, dup, elements))
