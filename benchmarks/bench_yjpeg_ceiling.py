"""How far yjpeg is from the smallest lossless baseline file: the Huffman coding of its own symbols (issue 14).

Run from the repository root (needs ``gcc`` and ``libjpeg-dev``, as cinb's install does)::

    .venv/bin/python benchmarks/bench_yjpeg_ceiling.py [--n 12]

For each yjpeg output (``imageMogr2/format/yjpeg/quality/85``) of the first ``n`` photos of
:mod:`benchmarks.natural` and ``n`` images of :mod:`benchmarks.graphics`, the quantised coefficients are
read back with libjpeg (a throwaway C helper compiled into a temporary folder, ``jpeg_read_coefficients``)
and turned into the baseline symbol stream (DC size categories of the prediction differences, AC
run/size symbols with ZRL and EOB, and the magnitude bits that follow them, ITU T.81 F.1.2). Keeping the
coefficients (identical pixels) and staying baseline, a rewrite can only change the Huffman tables, the
byte stuffing those codes cause, and the headers. The bounds printed:

- optimal Huffman codes without JPEG's 16-bit length limit and reserved all-ones code, one table pair
  for Y and one for Cb+Cr (what baseline allows in one scan), and one per component (possible only with
  a scan per component and tables redefined between scans);
- the ideal entropy of the same symbols (no prefix code reaches it; arithmetic coding, which is not
  baseline, would get close).

Byte stuffing (0xFF 0x00 in the scan) is counted separately; headers are reported as they are.
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import math
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HELPER = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdio.h>
#include <jpeglib.h>
typedef struct { struct jpeg_error_mgr pub; jmp_buf jump; } em;
static void on_error(j_common_ptr c) { longjmp(((em *)c->err)->jump, 1); }
static PyObject *coefs(PyObject *self, PyObject *args) {
    Py_buffer a;
    if (!PyArg_ParseTuple(args, "y*", &a)) return NULL;
    struct jpeg_decompress_struct d; em e;
    d.err = jpeg_std_error(&e.pub); e.pub.error_exit = on_error;
    if (setjmp(e.jump)) { jpeg_destroy_decompress(&d); PyBuffer_Release(&a);
                          PyErr_SetString(PyExc_ValueError, "libjpeg failed"); return NULL; }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, a.buf, a.len);
    jpeg_read_header(&d, TRUE);
    jvirt_barray_ptr *cf = jpeg_read_coefficients(&d);
    PyObject *lst = PyList_New(0);
    for (int c = 0; c < d.num_components; c++) {
        jpeg_component_info *ci = &d.comp_info[c];
        Py_ssize_t n = (Py_ssize_t)ci->height_in_blocks * ci->width_in_blocks * 64;
        PyObject *b = PyBytes_FromStringAndSize(NULL, n * 2);
        short *p = (short *)PyBytes_AS_STRING(b);
        for (JDIMENSION r = 0; r < ci->height_in_blocks; r++) {
            JBLOCKARRAY row = (*d.mem->access_virt_barray)((j_common_ptr)&d, cf[c], r, 1, FALSE);
            for (JDIMENSION col = 0; col < ci->width_in_blocks; col++)
                for (int i = 0; i < 64; i++) *p++ = row[0][col][i];
        }
        PyObject *t = Py_BuildValue("(Niiii)", b, (int)ci->height_in_blocks, (int)ci->width_in_blocks,
                                    ci->h_samp_factor, ci->v_samp_factor);
        PyList_Append(lst, t); Py_DECREF(t);
    }
    jpeg_finish_decompress(&d); jpeg_destroy_decompress(&d); PyBuffer_Release(&a);
    return lst;
}
static PyMethodDef m[] = {{"coefs", coefs, METH_VARARGS, ""}, {NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "coefdump", "", -1, m};
PyMODINIT_FUNC PyInit_coefdump(void) { return PyModule_Create(&mod); }
"""


def build_helper(tmp: Path):
    src = tmp / "coefdump.c"
    src.write_text(HELPER)
    so = tmp / ("coefdump" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(src), "-ljpeg",
                    "-o", str(so)], check=True)
    spec = importlib.util.spec_from_file_location("coefdump", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def symbols(zz: np.ndarray, order: list[int]) -> tuple[Counter, Counter, int]:
    """DC and AC symbol counts and magnitude bits of one component's blocks (zigzag order) in scan order."""
    dc, ac, mag, prev = Counter(), Counter(), 0, 0
    for b in order:
        blk = zz[b]
        diff, prev = int(blk[0]) - prev, int(blk[0])
        size = abs(diff).bit_length()
        dc[size] += 1
        mag += size
        last = 0
        for k in np.flatnonzero(blk[1:]) + 1:
            run = int(k) - last - 1
            while run > 15:
                ac[0xF0] += 1
                run -= 16
            size = abs(int(blk[k])).bit_length()
            ac[(run << 4) | size] += 1
            mag += size
            last = int(k)
        if last < 63:
            ac[0x00] += 1
    return dc, ac, mag


def huffman_bits(counts: Counter) -> int:
    w = list(counts.values())
    if len(w) < 2:
        return sum(w)
    heapq.heapify(w)
    cost = 0
    while len(w) > 1:
        merged = heapq.heappop(w) + heapq.heappop(w)
        cost += merged
        heapq.heappush(w, merged)
    return cost


def entropy_bits(counts: Counter) -> float:
    n = sum(counts.values())
    return sum(-v * math.log2(v / n) for v in counts.values())


def scan_order(h: int, w: int, hs: int, vs: int, interleaved: bool) -> list[int]:
    """Block indices in the order an interleaved scan visits them (MCU by MCU), else raster order."""
    if not interleaved or (hs, vs) == (1, 1):
        return list(range(h * w))
    return [y * w + x for my in range(0, h, vs) for mx in range(0, w, hs)
            for y in range(my, min(my + vs, h)) for x in range(mx, min(mx + hs, w))]


def analyse(data: bytes, coefdump, zigzag) -> dict:
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    scan = data[pos:-2]
    comps = coefdump.coefs(data)
    per = []
    for raw, h, w, hs, vs in comps:
        zz = np.frombuffer(raw, dtype=np.int16).reshape(-1, 64)[:, zigzag].astype(np.int32)
        per.append(symbols(zz, scan_order(h, w, hs, vs, len(comps) > 1)))
    mag = sum(p[2] for p in per)
    groups = [per[:1], per[1:]] if len(per) > 1 else [per]
    shared = sum(huffman_bits(sum((p[0] for p in g), Counter())) + huffman_bits(sum((p[1] for p in g), Counter()))
                 for g in groups)
    separate = sum(huffman_bits(p[0]) + huffman_bits(p[1]) for p in per)
    ideal = sum(entropy_bits(p[0]) + entropy_bits(p[1]) for p in per)
    return {"bytes": len(data), "headers": pos + 2, "scan": len(scan), "stuffing": scan.count(b"\xff\x00"),
            "huffman_shared": (shared + mag) / 8, "huffman_per_component": (separate + mag) / 8,
            "entropy": (ideal + mag) / 8}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    args = ap.parse_args()
    import cinb
    from benchmarks.graphics import ensure_graphics
    from benchmarks.natural import ensure_natural
    from cinb.codecs.jpegcoef import ZIGZAG

    zigzag = np.array(ZIGZAG)
    with tempfile.TemporaryDirectory() as tmp:
        coefdump = build_helper(Path(tmp))
        for corpus, paths in (("natural", ensure_natural(n=args.n)), ("graphics", ensure_graphics(n=args.n))):
            t: Counter = Counter()
            for p in paths:
                out = cinb.process(Path(p).read_bytes(), "imageMogr2/format/yjpeg/quality/85").data
                for k, v in analyse(out, coefdump, zigzag).items():
                    t[k] += v
            coded = t["scan"] - t["stuffing"]
            print(f"\n{corpus} ({len(paths)} images): yjpeg {t['bytes']:,} B = headers {t['headers']:,} + "
                  f"entropy-coded {coded:,} + stuffing {t['stuffing']:,}")
            for name, label in (("huffman_shared", "optimal Huffman, Y and Cb+Cr tables (baseline, one scan)"),
                                ("huffman_per_component", "optimal Huffman, one table pair per component"),
                                ("entropy", "ideal entropy of the same symbols (not reachable by prefix codes)")):
                gain = coded - t[name]
                print(f"  {label}: {t[name]:,.0f} B, {gain:,.0f} B = {gain / t['bytes'] * 100:.2f} % of the file")


if __name__ == "__main__":
    main()
