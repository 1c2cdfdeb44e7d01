"""Abaqus ASCII results files (``.fil``, written with ``*FILE FORMAT, ASCII``).

Layout (Abaqus Analysis User's Guide, "Results file output format"): 80-character lines
whose line breaks mean nothing; records start with ``*``; a record is a sequence of words:

* ``I`` + 2-character digit count ``w`` + ``w`` digits: an integer (``I 41921`` = 1921);
* ``D`` + 22 characters: a double (``D 2.000000000000000D+01``); ``E`` + a single;
* ``A`` + 8 characters: a text word.

Word 1 is the record length (words), word 2 the record key, then the data. Keys read here:
1921 (version), 1900 (element: id, type, nodes), 1901 (node: id, coordinates),
1931/1932 and 1933/1934 (node/element set and continuation; names through 1940 label
cross-references), 2000/2001 (increment start: total time, step time, ..., step,
increment / end), 1 (element output header: element, integration point, section point,
location, ..., number of direct and shear components), element outputs keyed as in the
manual (11 S, 21 E, 22 PE, 5 SDV, 8 COORD, 73 PEEQ, ...), nodal outputs 101 U, 201 NT, ...
Other keys are skipped. Errors name ``file:line N`` (80-character lines).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError

ELEMENT_KEYS = {2: "TEMP", 5: "SDV", 6: "VOIDR", 8: "COORD", 11: "S", 12: "SINV", 14: "ENER",
                21: "E", 22: "PE", 23: "CE", 24: "IE", 25: "EE", 27: "STH", 45: "PEEQC", 73: "PEEQ",
                74: "PRESS", 75: "MISES", 78: "EVOL", 89: "LE"}
NODE_KEYS = {101: "U", 102: "V", 103: "A", 104: "RF", 106: "CF", 107: "COORD", 201: "NT"}
_E_WORD = re.compile(r"E([ -]\d\.\d+E[+-]\d\d)")


@dataclass
class FilIncrement:
    step: int
    increment: int
    total_time: float
    step_time: float
    nodal: dict = field(default_factory=dict)     # name -> {node: values}
    element: dict = field(default_factory=dict)   # name -> list of (elem, ip, loc, ndi, nshr, values)


@dataclass
class FilFile:
    path: Path
    elements: list = field(default_factory=list)   # (id, type, [nodes], line)
    nodes: dict = field(default_factory=dict)      # id -> coords
    node_sets: dict = field(default_factory=dict)  # label -> [ids]
    element_sets: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)     # label number -> name
    increments: list = field(default_factory=list)
    version: str = ""


class _Words:
    """Tokenizer of the joined text with line numbers for errors."""

    def __init__(self, path, text):
        self.path = path
        lines = text.split("\n")
        self.starts = np.cumsum([0] + [len(ln) for ln in lines])
        self.text = "".join(lines)

    def line(self, j):
        return f"line {int(np.searchsorted(self.starts, j, side='right'))}"

    def error(self, msg, j):
        return InputError(msg, self.path, self.line(j))

    def record(self, start, end):
        """Words of the record text[start:end] (after its '*')."""
        t = self.text
        i = start
        out = []
        while i < end:
            c = t[i]
            if c == "I":
                w = t[i + 1:i + 3]
                if not w.strip().isdigit():
                    raise self.error(f"bad integer width '{w}'", i)
                n = int(w)
                s = t[i + 3:i + 3 + n]
                if n == 0 or i + 3 + n > end or not (s.isdigit() or (s[:1] == "-" and s[1:].isdigit())):
                    raise self.error(f"bad integer word 'I{w}{s}'", i)
                out.append(int(s))
                i += 3 + n
            elif c == "D":
                s = t[i + 1:i + 23]
                if i + 23 > end:
                    raise self.error("truncated double word", i)
                try:
                    v = float(s.replace("D", "E"))
                except ValueError:
                    raise self.error(f"bad double word 'D{s}'", i) from None
                out.append(v)
                i += 23
            elif c == "E":
                m = _E_WORD.match(t, i, end)
                if not m:
                    raise self.error(f"bad single-precision word '{t[i:i + 16]}'", i)
                out.append(float(m.group(1)))
                i = m.end()
            elif c == "A":
                if i + 9 > end:
                    raise self.error("truncated text word", i)
                out.append(t[i + 1:i + 9])
                i += 9
            elif c == " " and not t[i:end].strip():
                break  # padding at the end of the last line
            else:
                raise self.error(f"unexpected character '{c}' (expected a word I/D/E/A)", i)
        return out


def _int(words, k, w: _Words, pos, what):
    if k >= len(words) or not isinstance(words[k], int):
        raise w.error(f"record {what}: expected an integer in word {k + 1}", pos)
    return words[k]


def _floats(words, k, w, pos, what):
    vals = words[k:]
    if not all(isinstance(v, float) for v in vals):
        raise w.error(f"record {what}: expected numbers after word {k}", pos)
    a = np.array(vals, dtype=float)
    if not np.isfinite(a).all():
        raise w.error(f"record {what}: non-finite value", pos)
    return a


def read_fil(path) -> FilFile:
    """Parse an ASCII ``.fil`` file (all increments)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("fil file not found", path)
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("empty fil file", path)
    if b"\0" in raw[:4096] or not raw.lstrip().startswith(b"*"):
        raise InputError("not an ASCII .fil file (expected '*' records; a binary .fil needs "
                         "*FILE FORMAT, ASCII or the abaqus 'ascfil' utility)", path, "byte 0")
    w = _Words(path, raw.decode("latin-1").replace("\r", ""))
    out = FilFile(path)
    t = w.text
    stars = [m.start() for m in re.finditer(r"\*", t)]
    stars.append(len(t))
    inc = None
    header = None
    cont = None  # (kind, label) of the last set record, for continuations
    for a, b in zip(stars[:-1], stars[1:]):
        words = w.record(a + 1, b)
        if len(words) < 2 or not isinstance(words[0], int) or not isinstance(words[1], int):
            raise w.error("record does not start with its length and key", a)
        n, key = words[0], words[1]
        if n != len(words):
            raise w.error(f"record {key}: length word says {n} words, found {len(words)}", a)
        if key == 1921:
            out.version = str(words[2]).strip() if len(words) > 2 else ""
        elif key == 1900:
            eid = _int(words, 2, w, a, "1900")
            if len(words) < 5 or not isinstance(words[3], str):
                raise w.error("record 1900: expected element id, type and nodes", a)
            nodes = [_int(words, k, w, a, "1900") for k in range(4, len(words))]
            out.elements.append((eid, words[3].strip(), nodes, w.line(a)))
        elif key == 1901:
            nid = _int(words, 2, w, a, "1901")
            if nid in out.nodes:
                raise w.error(f"node {nid} defined twice", a)
            out.nodes[nid] = _floats(words, 3, w, a, "1901")
        elif key in (1931, 1932, 1933, 1934):
            kind = "node" if key in (1931, 1932) else "element"
            target = out.node_sets if kind == "node" else out.element_sets
            if key in (1931, 1933):
                if len(words) < 3 or not isinstance(words[2], str):
                    raise w.error(f"record {key}: expected a set name", a)
                label = words[2].strip()
                ids = [_int(words, k, w, a, str(key)) for k in range(3, len(words))]
                target.setdefault(label, []).extend(ids)
                cont = (kind, label)
            else:
                if cont is None or cont[0] != kind:
                    raise w.error(f"record {key}: continuation without a set", a)
                target[cont[1]].extend(_int(words, k, w, a, str(key)) for k in range(2, len(words)))
        elif key == 1940:
            lab = _int(words, 2, w, a, "1940")
            out.labels[str(lab)] = "".join(str(x) for x in words[3:]).strip()
        elif key == 2000:
            if len(words) < 9:
                raise w.error("record 2000: too short", a)
            f = words[2:4]
            if not all(isinstance(x, float) for x in f) or not all(np.isfinite(f)):
                raise w.error("record 2000: bad times", a)
            inc = FilIncrement(_int(words, 7, w, a, "2000"), _int(words, 8, w, a, "2000"), f[0], f[1])
            out.increments.append(inc)
            header = None
        elif key == 2001:
            inc = None
            header = None
        elif key == 1:
            if inc is None:
                raise w.error("element output outside an increment", a)
            if len(words) < 9:
                raise w.error("record 1: too short", a)
            header = (_int(words, 2, w, a, "1"), _int(words, 3, w, a, "1"), _int(words, 5, w, a, "1"),
                      _int(words, 7, w, a, "1"), _int(words, 8, w, a, "1"), w.line(a))
        elif key in ELEMENT_KEYS:
            if inc is None or header is None:
                raise w.error(f"element output {ELEMENT_KEYS[key]} without its header record", a)
            vals = _floats(words, 2, w, a, str(key))
            inc.element.setdefault(ELEMENT_KEYS[key], []).append(header[:5] + (vals, header[5]))
        elif key in NODE_KEYS:
            if inc is None:
                raise w.error("nodal output outside an increment", a)
            nid = _int(words, 2, w, a, str(key))
            inc.nodal.setdefault(NODE_KEYS[key], {})[nid] = _floats(words, 3, w, a, str(key))
        # other keys (output requests, heading, dof, surfaces...) are skipped
    if not out.nodes or not out.elements:
        raise InputError("no node (1901) or element (1900) records: results written without the "
                         "model data (*FILE FORMAT, ASCII with model output)", path)
    return out
