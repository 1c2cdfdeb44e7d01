"""Quadrature rules on the reference cells of :mod:`romnet.fe.elements`.

Every rule is returned as ``(points, weights)`` with ``points`` (n_ip, dim) in reference
coordinates and ``weights`` (n_ip,) summing to the reference measure (line 2, square 4,
triangle 1/2, cube 8, tetrahedron 1/6, wedge 1). Point orders are those of CalculiX
(``gauss.f``) wherever CalculiX has the rule; they are listed in ``docs/conventions.md``.

Reference cells: line [-1, 1]; square [-1, 1]^2; cube [-1, 1]^3; triangle
{x, y >= 0, x + y <= 1}; tetrahedron {x, y, z >= 0, x + y + z <= 1}; wedge
triangle x [-1, 1].
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError

__all__ = ["gauss_legendre", "line_rule", "tensor_rule", "quad_rule", "hex_rule",
           "triangle_rule", "tet_rule", "wedge_rule"]


def gauss_legendre(n: int):
    """1D Gauss-Legendre rule on [-1, 1]: (points (n,), weights (n,)), exact to degree 2n-1."""
    if n < 1:
        raise UnsupportedError(f"Gauss-Legendre rule needs at least one point, got {n}")
    x, w = np.polynomial.legendre.leggauss(n)
    x[np.abs(x) < 1e-15] = 0.0
    return x, w


def line_rule(n: int):
    """n-point Gauss rule on the line [-1, 1]: points (n, 1), weights (n,)."""
    x, w = gauss_legendre(n)
    return x[:, None].copy(), w


def tensor_rule(n: int, dim: int):
    """n^dim Gauss rule on [-1, 1]^dim; the FIRST coordinate runs fastest.

    Returns points (n**dim, dim), weights (n**dim,).
    """
    x, w = gauss_legendre(n)
    # indexing='ij' with reversed axes -> last axis of the grid is coordinate 0
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    wgrids = np.meshgrid(*([w] * dim), indexing="ij")
    # grids[k] varies along axis k; we want coordinate 0 fastest = along the last axis
    pts = np.stack([g.ravel() for g in grids[::-1]], axis=1)
    wts = np.prod(np.stack([g.ravel() for g in wgrids]), axis=0)
    return pts, wts


def quad_rule(n: int):
    """n x n Gauss rule on the square [-1, 1]^2 (xi fastest): (n^2, 2), (n^2,)."""
    return tensor_rule(n, 2)


def hex_rule(n: int):
    """n x n x n Gauss rule on the cube [-1, 1]^3 (xi fastest, zeta slowest)."""
    return tensor_rule(n, 3)


def triangle_rule(n_points: int):
    """Symmetric rule on the reference triangle (area 1/2): 1 (degree 1), 3 (degree 2)
    or 7 points (degree 5, Radon). Points (n, 2), weights (n,)."""
    if n_points == 1:
        return np.array([[1.0 / 3.0, 1.0 / 3.0]]), np.array([0.5])
    if n_points == 3:  # CalculiX gauss2d5
        a, b = 1.0 / 6.0, 2.0 / 3.0
        return np.array([[a, a], [b, a], [a, b]]), np.full(3, 1.0 / 6.0)
    if n_points == 7:  # CalculiX gauss2d6 (Radon), degree 5
        s = np.sqrt(15.0)
        a1, b1 = (6.0 - s) / 21.0, (9.0 + 2.0 * s) / 21.0
        a2, b2 = (6.0 + s) / 21.0, (9.0 - 2.0 * s) / 21.0
        w0, w1, w2 = 9.0 / 80.0, (155.0 - s) / 2400.0, (155.0 + s) / 2400.0
        pts = np.array([[1.0 / 3.0, 1.0 / 3.0],
                        [b1, a1], [a1, b1], [a1, a1],
                        [a2, b2], [b2, a2], [a2, a2]])
        return pts, np.array([w0, w1, w1, w1, w2, w2, w2])
    raise UnsupportedError(f"no {n_points}-point triangle rule (available: 1, 3, 7)")


def tet_rule(n_points: int):
    """Rule on the reference tetrahedron (volume 1/6): 1 (degree 1), 4 (degree 2) or
    15 points (degree 5, Keast). Points (n, 3), weights (n,)."""
    if n_points == 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1.0 / 6.0])
    if n_points == 4:  # CalculiX gauss3d5
        a = (5.0 - np.sqrt(5.0)) / 20.0
        b = (5.0 + 3.0 * np.sqrt(5.0)) / 20.0
        pts = np.array([[a, a, a], [b, a, a], [a, b, a], [a, a, b]])
        return pts, np.full(4, 1.0 / 24.0)
    if n_points == 15:  # CalculiX gauss3d6 (Keast), degree 5
        s = np.sqrt(15.0)
        a1, b1 = (7.0 - s) / 34.0, (13.0 + 3.0 * s) / 34.0
        a2, b2 = (7.0 + s) / 34.0, (13.0 - 3.0 * s) / 34.0
        c, d = (10.0 - 2.0 * s) / 40.0, (10.0 + 2.0 * s) / 40.0
        w0 = 8.0 / 405.0
        w1 = (2665.0 + 14.0 * s) / 226800.0
        w2 = (2665.0 - 14.0 * s) / 226800.0
        w3 = 5.0 / 567.0
        pts = np.array([[0.25, 0.25, 0.25],
                        [a1, a1, a1], [b1, a1, a1], [a1, b1, a1], [a1, a1, b1],
                        [a2, a2, a2], [b2, a2, a2], [a2, b2, a2], [a2, a2, b2],
                        [c, c, d], [d, c, c], [d, d, c], [c, d, d], [c, d, c], [d, c, d]])
        w = np.array([w0] + [w1] * 4 + [w2] * 4 + [w3] * 6)
        return pts, w
    raise UnsupportedError(f"no {n_points}-point tetrahedron rule (available: 1, 4, 15)")


def wedge_rule(n_triangle: int, n_line: int):
    """Product rule on the wedge (triangle x [-1, 1], volume 1): triangle rule of
    ``n_triangle`` points x Gauss rule of ``n_line`` points in zeta. The triangle points
    run fastest, zeta slowest (CalculiX gauss3d7 / gauss3d8 / gauss3d10 order).
    Points (n_triangle*n_line, 3), weights (n_triangle*n_line,)."""
    tp, tw = triangle_rule(n_triangle)
    zp, zw = gauss_legendre(n_line)
    pts = np.concatenate([np.tile(tp, (n_line, 1)), np.repeat(zp, n_triangle)[:, None]], axis=1)
    return pts, np.tile(tw, n_line) * np.repeat(zw, n_triangle)
