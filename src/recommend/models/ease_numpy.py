"""EASE's closed form on numpy (LAPACK through its bundled OpenBLAS), for src/recommend/models/ease-numpy.ts.

Usage: python ease_numpy.py DIR USERS ITEMS LAMBDA

DIR holds the binary user x item matrix restricted to the modelled items, in CSR form, little-endian:
indptr (int32, USERS + 1), indices (int32, column positions 0..ITEMS-1) and data (float64). Writes DIR/weights:
B = I - P diag(1 / diag(P)) with P = (X^T X + LAMBDA I)^-1, zero diagonal, row-major float32 (ITEMS x ITEMS).
Prints one JSON line of timings on stdout; errors go to stderr with a non-zero exit.
"""

import json
import os
import resource
import sys
import time

import numpy as np

# Item pairs per block of the Gram matrix's accumulation: bounded memory whatever the user count.
PAIRS = 4_000_000


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit("usage: ease_numpy.py DIR USERS ITEMS LAMBDA")
    folder, users, items, lam = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    started = time.perf_counter()
    indptr = np.fromfile(os.path.join(folder, "indptr"), dtype="<i4")
    indices = np.fromfile(os.path.join(folder, "indices"), dtype="<i4")
    data = np.fromfile(os.path.join(folder, "data"), dtype="<f8")
    if indptr.shape[0] != users + 1 or indices.shape[0] != data.shape[0] or indptr[-1] != indices.shape[0]:
        sys.exit(f"ease_numpy: the matrix files in {folder} do not match {users} users")
    if indices.size and (indices.min() < 0 or indices.max() >= items):
        sys.exit(f"ease_numpy: a column index is outside 0..{items - 1}")

    gram = np.zeros((items, items), dtype=np.float64)
    flat = gram.reshape(-1)
    lengths = np.diff(indptr).astype(np.int64)
    # X^T X as the sum of every user's outer product: all (a, b) pairs of a user's items, a block of users at a
    # time (at most PAIRS pairs, or one user), accumulated into the dense matrix. Sparse logs cost their pairs,
    # not users x items.
    start = 0
    while start < users:
        end = start + 1
        budget = lengths[start] ** 2
        while end < users and budget + lengths[end] ** 2 <= PAIRS:
            budget += lengths[end] ** 2
            end += 1
        lens = lengths[start:end]
        lo = indptr[start]
        entry_start = indptr[start:end].astype(np.int64) - lo
        pair_counts = lens * lens
        pair_start = np.concatenate(([0], np.cumsum(pair_counts)[:-1]))
        total = int(pair_counts.sum())
        if total:
            local = np.arange(total, dtype=np.int64) - np.repeat(pair_start, pair_counts)
            per_user_len = np.repeat(lens, pair_counts)
            base = np.repeat(entry_start, pair_counts)
            a = base + local // per_user_len
            b = base + local % per_user_len
            cols = indices[lo : indptr[end]].astype(np.int64)
            vals = data[lo : indptr[end]]
            np.add.at(flat, cols[a] * items + cols[b], vals[a] * vals[b])
        start = end
    gram[np.diag_indices(items)] += lam
    built = time.perf_counter()

    p = np.linalg.inv(gram)
    del gram
    inverted = time.perf_counter()
    diagonal = np.diag(p).copy()
    p /= -diagonal[np.newaxis, :]
    p[np.diag_indices(items)] = 0.0
    p.astype("<f4").tofile(os.path.join(folder, "weights"))
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"gramSeconds": built - started, "inverseSeconds": inverted - built, "writeSeconds": done - inverted, "peakRssMiB": peak}))


if __name__ == "__main__":
    main()
