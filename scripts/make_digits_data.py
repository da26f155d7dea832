"""Writes data/digits/{train,test}.csv from scikit-learn's copy of the UCI digits set.

Run once by a maintainer (needs scikit-learn); the CSV files are committed, so neither
users nor tests need scikit-learn.

    python scripts/make_digits_data.py

Each row: the 64 pixel values of one 8x8 image (integers 0..16, row-major) followed by the
class label (0..9). The split is stratified, shuffled with seed 0: 80% train, 20% test.
"""
import pathlib

import numpy as np
from sklearn.datasets import load_digits

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "digits"


def main():
    digits = load_digits()
    x = digits.data.astype(np.int64)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(0)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * 0.2))
        test_idx.extend(idx[:n_test])
        train_idx.extend(idx[n_test:])
    train_idx = rng.permutation(np.array(train_idx))
    test_idx = rng.permutation(np.array(test_idx))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, idx in (("train", train_idx), ("test", test_idx)):
        rows = np.concatenate([x[idx], y[idx, None]], axis=1)
        np.savetxt(OUT / f"{name}.csv", rows, fmt="%d", delimiter=",")
        print(f"{name}: {len(idx)} rows -> {OUT / (name + '.csv')}")


if __name__ == "__main__":
    main()
