"""Cross-check of bench/quality.ts's reference protocol with numpy, scipy and implicit.

Protocol (shared/datasets/README.md): every interaction counts 1; per user, the items of the user's last
timestamp are the test set (minus the user's train items, which are excluded from the ranking anyway),
everything earlier trains (users with an earlier item only); full ranking over all items; train items
excluded; HR@10, NDCG@10, Recall@20 averaged over test users.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scipy implicit
    flock /tmp/rtrec-heavy.lock /tmp/venv/bin/python bench/reference/reference.py \
        /work/shared/datasets/completejourney-sample.csv [--ease-items N] [--skip-ease]
"""
import argparse
import csv
import time
from collections import defaultdict
from datetime import datetime

import numpy as np
import scipy.sparse as sp


def load(path):
    events = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).timestamp()
            events[int(row["user"])].append((int(row["item"]), ts))
    return events


def split(events):
    items = sorted({i for evs in events.values() for i, _ in evs})
    index = {item: n for n, item in enumerate(items)}
    rows, cols, tests = [], [], []
    users = []
    for user in sorted(events):
        evs = events[user]
        last = max(ts for _, ts in evs)
        train = {i for i, ts in evs if ts < last}
        if not train:
            continue
        u = len(users)
        users.append(user)
        for i in train:
            rows.append(u)
            cols.append(index[i])
        held = {index[i] for i, ts in evs if ts == last and i not in train}
        if held:
            tests.append((u, held))
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(items)))
    X.sum_duplicates()
    X.data[:] = 1
    return X, tests


def evaluate(name, X, tests, score_rows, started):
    hr = nd = rc = 0.0
    for u, held in tests:
        s = np.asarray(score_rows(u), dtype=np.float64).ravel().copy()
        s[X.indices[X.indptr[u]:X.indptr[u + 1]]] = -np.inf
        # Stable sort on -score: ties go to the lower index, as bench/quality.ts does.
        top = np.argsort(-s, kind="stable")[:20]
        hits = [1 if i in held else 0 for i in top]
        hr += 1 if any(hits[:10]) else 0
        ideal = sum(1 / np.log2(r + 2) for r in range(min(10, len(held))))
        nd += sum(h / np.log2(r + 2) for r, h in enumerate(hits[:10])) / ideal
        rc += sum(hits) / len(held)
    n = len(tests)
    print(f"{name:14s} HR@10 {hr / n:.4f}  NDCG@10 {nd / n:.4f}  R@20 {rc / n:.4f}  ({time.time() - started:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--shrink", type=float, default=200)
    ap.add_argument("--knn-k", type=int, default=200)
    ap.add_argument("--ease-lambda", type=float, default=500)
    ap.add_argument("--ease-items", type=int, default=0, help="model only the N most popular items (0: all)")
    ap.add_argument("--skip-ease", action="store_true")
    args = ap.parse_args()
    X, tests = split(load(args.csv))
    print(f"{len(tests)} test users, {X.shape[0]} train users, {X.shape[1]} items, {X.nnz} train entries")

    t = time.time()
    pop = np.asarray(X.sum(axis=0)).ravel()
    evaluate("most-popular", X, tests, lambda u: pop, t)

    t = time.time()
    Xc = X.tocsc()
    norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
    G = (X.T @ X).tocsr().astype(np.float64)
    G.setdiag(0)
    G.eliminate_zeros()
    G = G.tocoo()
    S = sp.csr_matrix((G.data / (norms[G.row] * norms[G.col] + args.shrink), (G.row, G.col)), shape=G.shape)
    # Keep each item's k most similar neighbours (row i: what i lends to its neighbours).
    rows, cols, vals = [], [], []
    for i in range(S.shape[0]):
        a, b = S.indptr[i], S.indptr[i + 1]
        if a == b:
            continue
        order = np.lexsort((S.indices[a:b], -S.data[a:b]))[: args.knn_k]
        rows += [i] * len(order)
        cols += list(S.indices[a:b][order])
        vals += list(S.data[a:b][order])
    W = sp.csr_matrix((vals, (rows, cols)), shape=S.shape)
    evaluate("item-knn", X, tests, lambda u: (X[u] @ W).toarray(), t)

    if not args.skip_ease:
        t = time.time()
        counts = np.asarray(X.sum(axis=0)).ravel()
        keep = np.arange(X.shape[1]) if args.ease_items == 0 else np.sort(np.lexsort((np.arange(len(counts)), -counts))[: args.ease_items])
        Xs = X[:, keep].astype(np.float64)
        Gd = (Xs.T @ Xs).toarray()
        Gd[np.diag_indices_from(Gd)] += args.ease_lambda
        P = np.linalg.inv(Gd)
        B = -P / np.diag(P)
        np.fill_diagonal(B, 0)
        full = np.zeros(X.shape[1])

        def ease(u):
            full[:] = 0
            full[keep] = Xs[u].toarray().ravel() @ B
            return full

        print(f"  EASE fit on {len(keep)} items in {time.time() - t:.1f} s")
        evaluate("ease", X, tests, ease, t)

    t = time.time()
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=10, iterations=15, random_state=1)
    model.fit(X, show_progress=False)
    U, V = model.user_factors, model.item_factors
    evaluate("ials", X, tests, lambda u: V @ U[u], t)


if __name__ == "__main__":
    main()
