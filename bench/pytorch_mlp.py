#!/usr/bin/env python3
"""PyTorch side of xgrad-bench: the same 784-hidden-10 network, trained the same way.

Sigmoid hidden and output layers, N(0, 1) weights and biases (the book's
chapter 1), quadratic cost 1/2 ||a - y||^2 averaged over the mini-batch, plain
SGD with eta = 3 on mini-batches (default 10), float64 (or --dtype float32),
one thread, on the first 50,000 MNIST training images read from the IDX files
with numpy (no torchvision); each epoch draws a new permutation and walks it in
mini-batches. Prints `name: value` lines like xgrad-bench; the figure to
compare with its epoch_seconds_784-30-10_b10 is `pytorch_epoch_seconds`
(median of the timed epochs, after a warm-up epoch); `pytorch_epoch_cpu_seconds`
goes with its epoch_cpu_seconds_784-30-10_b10.

    /usr/bin/python3 bench/pytorch_mlp.py [--data data/mnist] [--epochs 3] [--quick]
        [--hidden 30] [--batch 10] [--dtype float64|float32] [--serve]

--serve is the lock-step mode that bench/peers.py drives (the protocol of
xgrad-bench --serve, bench/lockstep.hpp): after loading it prints `ready`, then
answers `config <hidden> <batch>` with a warm-up epoch and `ready`, and
`epoch` with `epoch <wall seconds> <cpu seconds>`, until `quit`.

Debian's python3-torch and python3-numpy install into /usr/bin/python3; another
python3 first on PATH (pyenv, a venv) may not see them. Without torch this
prints a message and exits 0: the comparison is optional.
"""
import argparse
import gzip
import os
import statistics
import sys
import time


def read_idx(path):
    """An IDX file of unsigned bytes as a numpy array (plain or .gz)."""
    import numpy as np

    opener = open
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    return data.reshape(dims)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/mnist", help="directory of the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median reported)")
    parser.add_argument("--quick", action="store_true", help="one timed epoch (smoke test)")
    parser.add_argument("--hidden", type=int, default=30, help="hidden neurons")
    parser.add_argument("--batch", type=int, default=10, help="mini-batch size")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--serve", action="store_true", help="lock-step mode for bench/peers.py")
    args = parser.parse_args()
    epochs = 1 if args.quick else max(1, args.epochs)

    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"pytorch_mlp.py: PyTorch or numpy is not importable ({e}); skipping the "
              "PyTorch comparison. On Debian: apt-get install python3-torch python3-numpy, "
              "then run this script with /usr/bin/python3.")
        return 0

    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for name in names:
        p = os.path.join(args.data, name)
        if not (os.path.exists(p) or os.path.exists(p + ".gz")):
            print(f"pytorch_mlp.py: MNIST not found: {args.data} has no {name} (nor {name}.gz).\n"
                  "Run scripts/fetch-mnist first, or pass --data DIR.", file=sys.stderr)
            return 2

    torch.set_num_threads(1)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    images = read_idx(os.path.join(args.data, names[0]))
    labels = read_idx(os.path.join(args.data, names[1]))
    test_images = read_idx(os.path.join(args.data, names[2]))
    test_labels = read_idx(os.path.join(args.data, names[3]))
    n = 50000  # the book's training split: the first 50,000 images
    x_train = torch.from_numpy(images[:n].reshape(n, -1).astype(np.float64) / 255.0).to(dtype)
    y_train = torch.nn.functional.one_hot(torch.from_numpy(labels[:n].astype(np.int64)),
                                          10).to(dtype)
    x_test = torch.from_numpy(
        test_images.reshape(len(test_images), -1).astype(np.float64) / 255.0).to(dtype)

    def network(hidden, batch):
        """The model and an epoch function for it (seed 42, as in xgrad-bench)."""
        torch.manual_seed(42)
        model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.Sigmoid(),
                                    torch.nn.Linear(hidden, 10), torch.nn.Sigmoid()).to(dtype)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 1.0)  # the book's chapter-1 initialisation, biases too
        sgd = torch.optim.SGD(model.parameters(), lr=3.0)

        def epoch():
            """One shuffled pass of SGD; returns its wall-clock and CPU seconds."""
            t0, c0 = time.perf_counter(), time.process_time()
            order = torch.randperm(n)
            xs, ys = x_train[order], y_train[order]
            for start in range(0, n, batch):
                xb, yb = xs[start:start + batch], ys[start:start + batch]
                sgd.zero_grad(set_to_none=True)
                a = model(xb)
                loss = 0.5 * ((a - yb) ** 2).sum() / xb.shape[0]  # mean over the batch
                loss.backward()
                sgd.step()
            return time.perf_counter() - t0, time.process_time() - c0

        return model, epoch

    print(f"pytorch_version: {torch.__version__}")
    print(f"pytorch_threads: {torch.get_num_threads()}")
    print(f"pytorch_scalar: {'double' if dtype == torch.float64 else 'float'}")
    if args.serve:
        return serve(network)
    model, epoch = network(args.hidden, args.batch)
    print(f"pytorch_network: 784-{args.hidden}-10_b{args.batch}")
    epoch()  # warm-up
    timings = [epoch() for _ in range(epochs)]
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1).numpy()
    accuracy = float((predicted == test_labels).mean())
    print(f"pytorch_test_accuracy: {accuracy:.4f}")
    print(f"pytorch_timed_epochs: {epochs}")
    # CPU time is less sensitive than wall time to other programs on the cores.
    print(f"pytorch_epoch_cpu_seconds: {statistics.median(c for _, c in timings):.4f}")
    print(f"pytorch_epoch_seconds: {statistics.median(w for w, _ in timings):.4f}")
    return 0


def serve(network):
    """The lock-step loop: one epoch per `epoch` line on stdin."""
    print("ready", flush=True)
    epoch = None
    for text in sys.stdin:
        words = text.split()
        if words[:1] == ["quit"]:
            return 0
        if len(words) == 3 and words[0] == "config" and words[1].isdigit() and words[2].isdigit():
            epoch = None  # frees the previous model first
            _, epoch = network(int(words[1]), int(words[2]))
            epoch()  # warm-up
            print("ready", flush=True)
        elif words == ["epoch"] and epoch is not None:
            wall, cpu = epoch()
            print(f"epoch {wall:.5f} {cpu:.5f}", flush=True)
        else:
            print(f"error pytorch_mlp.py --serve: cannot do {text.strip()!r}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
