#!/usr/bin/python3
"""The .npy files NumPy itself writes in each format version, for tests/test_npy.cpp: vifi writes
version 1.0 only, but reads what users bring, and NumPy switches to 2.0 for headers over 64 KiB
and to 3.0 for non-Latin-1 field names. np.lib.format.write_array forces each version here.

Needs Debian's python3-numpy (hence /usr/bin/python3). Usage:
    tools/make_npy_fixtures.py [out_dir=tests/fixtures/npy]
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "npy")
os.makedirs(out, exist_ok=True)

arrays = {
    # name: (array, format version)
    "v1_uint8": (np.arange(6, dtype="|u1").reshape(2, 3), (1, 0)),
    "v2_int32": (np.arange(-3, 9, dtype="<i4").reshape(3, 2, 2), (2, 0)),
    "v3_float16": (np.linspace(-1, 1, 5, dtype="<f2"), (3, 0)),
    "v1_empty": (np.zeros((0, 4), dtype="<f4"), (1, 0)),
    "v1_scalar": (np.array(-2.5, dtype="<f8"), (1, 0)),
}
for name, (array, version) in arrays.items():
    with open(os.path.join(out, name + ".npy"), "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    print(name, version, array.dtype.str, array.shape, array.ravel().tolist())
