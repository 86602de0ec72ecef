#!/usr/bin/env python3
"""An independent numpy implementation of the book's chapter-1/3 network, to
compare xgrad's result distributions with (docs/book.md, "Where results differ").

Written from the equations in book.md (BP1-BP4, mean-over-batch SGD), sharing
no code with xgrad. Reads the same IDX files.

  python3 tools/numpy_network.py --sizes 784,100,10 --cost quadratic --eta 3 --seeds 0,1,2
"""
import argparse
import os

import numpy as np


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(directory):
    x = read_idx(os.path.join(directory, "train-images-idx3-ubyte")).reshape(60000, 784) / 255.0
    y = read_idx(os.path.join(directory, "train-labels-idx1-ubyte")).astype(np.int64)
    xt = read_idx(os.path.join(directory, "t10k-images-idx3-ubyte")).reshape(10000, 784) / 255.0
    yt = read_idx(os.path.join(directory, "t10k-labels-idx1-ubyte")).astype(np.int64)
    return x[:50000], y[:50000], x[50000:], y[50000:], xt, yt


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def run(args, seed, data):
    x, y, xv, yv, xt, yt = data
    n = args.train_size
    x, y = x[:n], y[:n]
    ex, ey = (xt, yt) if args.eval == "test" else (xv, yv)
    rng = np.random.default_rng(seed)
    sizes = args.sizes
    scale = (lambda n_in: 1.0) if args.init == "large" else (lambda n_in: 1.0 / np.sqrt(n_in))
    W = [rng.standard_normal((o, i)) * scale(i) for i, o in zip(sizes[:-1], sizes[1:])]
    b = [rng.standard_normal(o) for o in sizes[1:]]
    Y = np.eye(10)[y]
    best = 0
    for epoch in range(args.epochs):
        order = rng.permutation(n)
        for k in range(0, n, args.batch):
            idx = order[k:k + args.batch]
            a = [x[idx]]
            for Wl, bl in zip(W, b):
                a.append(sigmoid(a[-1] @ Wl.T + bl))
            out = a[-1]
            delta = out - Y[idx]
            if args.cost == "quadratic":
                delta = delta * out * (1 - out)
            m = len(idx)
            for l in range(len(W) - 1, -1, -1):
                gW = delta.T @ a[l] / m
                gb = delta.mean(axis=0)
                if l > 0:
                    delta = (delta @ W[l]) * a[l] * (1 - a[l])
                W[l] = (1 - args.eta * args.lmbda / n) * W[l] - args.eta * gW
                b[l] = b[l] - args.eta * gb
        h = ex
        for Wl, bl in zip(W, b):
            h = sigmoid(h @ Wl.T + bl)
        acc = 100.0 * np.mean(h.argmax(axis=1) == ey)
        best = max(best, acc)
    return acc, best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--sizes", default="784,30,10", type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--cost", default="quadratic", choices=["quadratic", "cross-entropy"])
    p.add_argument("--init", default="large", choices=["large", "default"])
    p.add_argument("--eta", type=float, default=3.0)
    p.add_argument("--lmbda", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--train-size", type=int, default=50000)
    p.add_argument("--eval", default="test", choices=["test", "validation"])
    p.add_argument("--seeds", default="0", type=lambda s: [int(v) for v in s.split(",")])
    args = p.parse_args()
    data = load(args.data)
    for seed in args.seeds:
        final, best = run(args, seed, data)
        print(f"seed {seed}: final {final:.2f}% peak {best:.2f}%", flush=True)


if __name__ == "__main__":
    main()
