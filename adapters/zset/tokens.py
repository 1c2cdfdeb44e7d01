"""Line/token reader shared by the Z-set ASCII parsers (.geof, .inp, material, .ut, .cut).

Conventions: ``%`` and ``#`` start a comment (Z-set manual, "Conventions"); blank lines are
dropped; every kept line remembers its 1-based line number so that every error names
``file:line``. Keyword tokens start with ``*``; their level is the number of stars
(``****calcul`` 4, ``***bc`` 3, ``**pressure`` 2, ``*time`` 1).
"""
from __future__ import annotations

import ast
import operator
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from romnet.errors import InputError, printable

COMMENT_CHARS = ("%", "#")


@dataclass
class Line:
    """One non-empty line: 1-based ``number`` and whitespace-split ``tokens``."""

    number: int
    tokens: list
    text: str

    @property
    def level(self) -> int:
        return keyword_level(self.tokens[0])

    @property
    def keyword(self) -> str:
        return self.tokens[0]

    @property
    def args(self) -> list:
        return self.tokens[1:]


def keyword_level(token: str) -> int:
    """Number of leading ``*`` (0 for a data token)."""
    return len(token) - len(token.lstrip("*"))


def _strip_comment(text: str) -> str:
    for c in COMMENT_CHARS:
        k = text.find(c)
        if k >= 0:
            text = text[:k]
    return text


def read_text(path, what: str = "file") -> str:
    """Whole text of ``path``; InputError if missing, unreadable, binary or empty."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found", p)
    if p.is_dir():
        raise InputError(f"{what} is a directory, expected a file", p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", p) from exc
    if not raw.strip():
        raise InputError(f"empty {what}", p)
    if b"\0" in raw[:4096]:
        raise InputError(f"{what} is binary, expected Z-set ASCII text", p)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Lines:
    """Non-empty lines of a file: parallel lists ``nums`` (1-based line numbers) and ``toks``
    (token lists). Indexing gives :class:`Line` objects (built on demand, so that big
    blocks can be processed from ``toks`` directly at list speed)."""

    __slots__ = ("nums", "toks")

    def __init__(self, nums, toks):
        self.nums, self.toks = nums, toks

    def __len__(self):
        return len(self.toks)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Line(n, t, "") for n, t in zip(self.nums[i], self.toks[i])]
        return Line(self.nums[i], self.toks[i], "")

    def __iter__(self):
        return (Line(n, t, "") for n, t in zip(self.nums, self.toks))


def split_blocks(lines, level):
    """Split ``lines`` into (keyword line, body lines) at keywords of exactly ``level`` stars;
    returns (preamble lines, blocks)."""
    pre, blocks = [], []
    for ln in lines:
        if ln.keyword.startswith("*") and ln.level == level:
            blocks.append((ln, []))
        elif blocks:
            blocks[-1][1].append(ln)
        else:
            pre.append(ln)
    return pre, blocks


def read_lines(path, what: str = "file") -> Lines:
    """Non-empty, comment-stripped lines of ``path``."""
    text = read_text(path, what)
    raw = text.splitlines()
    if "%" in text or "#" in text:
        raw = [_strip_comment(r) if ("%" in r or "#" in r) else r for r in raw]
    toks = [r.split() for r in raw]
    nums = [i for i, t in enumerate(toks, start=1) if t]
    toks = [t for t in toks if t]
    if not toks:
        raise InputError(f"empty {what} (only comments)", path)
    return Lines(nums, toks)


def to_float(token: str, path, line, what: str = "value") -> float:
    """Finite float(token), accepting Fortran ``1.0D+03``; InputError naming file:line otherwise."""
    try:
        v = float(token)
    except (ValueError, TypeError):
        try:
            v = float(str(token).replace("D", "E").replace("d", "e"))
        except ValueError:
            raise InputError(f"{what}: expected a number, got '{token}'", path, line) from None
    if not np.isfinite(v):
        raise InputError(f"{what}: expected a finite number, got '{token}'", path, line)
    return v


#: the range of the 64-bit ids and counts romnet stores
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def to_int(token: str, path, line, what: str = "value") -> int:
    """int(token) within the 64-bit range; InputError naming file:line otherwise."""
    try:
        v = int(token)
    except (ValueError, TypeError):
        raise InputError(f"{what}: expected an integer, got '{printable(token, 40)}'", path, line) from None
    if not _INT64[0] <= v <= _INT64[1]:
        raise InputError(f"{what}: integer {printable(token, 40)} out of the 64-bit range", path, line)
    return v


def floats(tokens, path, line, what: str = "value") -> list:
    return [to_float(t, path, line, what) for t in tokens]


def tokens_to_array(tokens: list, lines: list, path, dtype, what: str):
    """Convert a flat list of string tokens to a numpy array at numpy speed.

    ``lines`` gives, for each token, its line number (used only on failure, to name the
    first bad token's line).
    """
    conv = to_int if dtype is np.int64 else to_float
    try:
        arr = np.array(tokens, dtype=dtype)
    except (ValueError, OverflowError):
        for t, ln in zip(tokens, lines):
            conv(t, path, ln, what)
        # only Fortran exponents can reach here for floats
        arr = np.array([conv(t, path, ln, what) for t, ln in zip(tokens, lines)], dtype=dtype)
    if dtype is not np.int64 and arr.size and not np.isfinite(arr).all():
        k = int(np.argmin(np.isfinite(arr)))
        conv(tokens[k], path, lines[k], what)
    return arr


def parse_vector(tokens: list, start: int, path, line, what: str = "vector"):
    """Parse ``(a b c)`` starting at ``tokens[start]`` (parentheses may touch the numbers).

    Returns (list of floats, index after the vector).
    """
    if start >= len(tokens) or not tokens[start].startswith("("):
        got = tokens[start] if start < len(tokens) else "end of line"
        raise InputError(f"{what}: expected '(x y z)', got '{got}'", path, line)
    parts = []
    i = start
    while i < len(tokens):
        t = tokens[i]
        parts.append(t)
        i += 1
        if t.endswith(")"):
            break
    else:
        raise InputError(f"{what}: missing ')'", path, line)
    inner = " ".join(parts).replace("(", " ").replace(")", " ").split()
    if not inner:
        raise InputError(f"{what}: empty vector", path, line)
    return floats(inner, path, line, what), i


def referenced_file(name: str, base_dir, referrer, line, what: str = "file") -> Path:
    """Path of a file named in ``referrer`` at ``line``; InputError if it does not exist."""
    p = Path(name)
    if not p.is_absolute():
        p = Path(base_dir) / p
    if not p.is_file():
        raise InputError(f"{what} '{name}' not found (looked for {p})", referrer, line)
    return p


def check_size(path, expected_bytes: int, what: str) -> None:
    """InputError naming expected and actual byte counts when a binary file's size is wrong."""
    actual = os.path.getsize(path)
    if actual != expected_bytes:
        kind = "truncated" if actual < expected_bytes else "too long"
        raise InputError(f"{what}: {kind}: expected {expected_bytes} bytes, found {actual} bytes",
                         path, f"byte {min(actual, expected_bytes)}")


def read_be_float32(path, expected_values: int, what: str) -> np.ndarray:
    """Big-endian float32 file of exactly ``expected_values`` values, as float64."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} not found", p)
    check_size(p, 4 * expected_values, what)
    return np.fromfile(p, dtype=">f4").astype(np.float64)


# ------------------------------------------------------------------ expressions
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def eval_expression(expr: str, variables: dict, path, line) -> float:
    """Evaluate a Z-set arithmetic expression (``0.0+cycle*2.``) safely.

    Supports numbers, + - * / ^ (or **), parentheses and the given variables only.
    """
    src = expr.strip().rstrip(";").replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise InputError(f"cannot parse expression '{expr}'", path, line) from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            return _UNOPS[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Name) and node.id in variables:
            return float(variables[node.id])
        raise InputError(f"unsupported expression '{expr}' (only numbers, + - * / ^ and "
                         f"{', '.join(variables) or 'no variables'})", path, line)

    try:
        return ev(tree)
    except ZeroDivisionError:
        raise InputError(f"division by zero in '{expr}'", path, line) from None
