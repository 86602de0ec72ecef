#!/usr/bin/env python3
"""xgrad, PyTorch and libtorch training the same network in the same run.

Starts xgrad-bench --serve (three times: plain SGD; with --fused; and, when
the build has libxsmm, with --fused --gemm libxsmm),
bench/pytorch_mlp.py --serve and xgrad-libtorch-mlp --serve side by side (the lock-step protocol of
bench/lockstep.hpp) and alternates their epochs: for each network every
program gets a warm-up epoch, then round after round one epoch each, the
order rotating from round to round, so load from other programs on the
machine hits all of them alike. xgrad's rounds also time its gemm floor.
It does so for each BLAS setting (the machine's environment, and OpenBLAS's
own kernel choice: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the
children's environment, which OpenBLAS reads when it loads) and each scalar
type (xgrad's double and float builds; float64 and float32 for the peers).
Every child also gets OPENBLAS_NUM_THREADS=1: all train on one thread.

Prints one table: per network the medians of each program's seconds per
epoch and the ratios, plus the 1-minute load average while it ran; the raw
figures go to --out as `name: value` lines. Seconds are CPU seconds of each
process (one thread each, so on an idle core they equal the wall time; on a
shared machine they are the steadier figure); --wall uses wall-clock seconds.
Standard library only. See docs/performance.md.
"""
import argparse
import os
import statistics
import subprocess
import sys

NETWORKS = [(30, 10), (100, 10), (30, 100)]
SETTINGS = [("machine", []), ("openblas-own", ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"])]


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Peer:
    """One program in --serve mode."""

    def __init__(self, name, argv, env):
        self.name = name
        self.header = {}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        self.wait_ready()

    def wait_ready(self):
        while True:
            text = self.proc.stdout.readline()
            if not text:
                raise RuntimeError(f"{self.name} ended before 'ready' (status {self.proc.wait()})")
            text = text.strip()
            if text == "ready":
                return
            if text.startswith("error"):
                raise RuntimeError(f"{self.name}: {text}")
            if ": " in text:
                key, value = text.split(": ", 1)
                self.header[key] = value

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def epoch(self):
        """One epoch: the numbers of the reply (wall, cpu[, floor wall, floor cpu])."""
        self.send("epoch")
        words = self.proc.stdout.readline().split()
        if not words or words[0] != "epoch":
            raise RuntimeError(f"{self.name}: unexpected reply {' '.join(words)!r}")
        return [float(w) for w in words[1:]]

    def close(self):
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        self.proc.wait()


def run_setting(args, setting, unset, scalar, out):
    """All networks for one BLAS setting and scalar type; returns table rows."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["OPENBLAS_NUM_THREADS"] = "1"
    dtype = "float64" if scalar == "double" else "float32"
    xgrad_bin = args.xgrad_double if scalar == "double" else args.xgrad_float
    peers = [Peer("xgrad", [xgrad_bin, "--serve", "--data", args.data], env),
             Peer("fused", [xgrad_bin, "--serve", "--fused", "--data", args.data], env)]
    if peers[0].header.get("has_libxsmm") == "yes":
        peers.append(Peer("xsmm", [xgrad_bin, "--serve", "--fused", "--gemm", "libxsmm",
                                   "--data", args.data], env))
    if args.pytorch:
        peers.append(Peer("pytorch", [args.python, args.pytorch, "--serve", "--data", args.data,
                                      "--dtype", dtype], env))
    if args.libtorch:
        peers.append(Peer("libtorch", [args.libtorch, "--serve", "--data", args.data,
                                       "--dtype", dtype], env))
    kernel = peers[0].header.get("blas", "?").split()
    kernel = kernel[-2] if len(kernel) >= 2 else "?"  # "... <core> MAX_THREADS=n"
    prefix = f"{setting}_{scalar}"
    print(f"{prefix}_blas: {peers[0].header.get('blas', '?')}", file=out)
    rows = []
    try:
        for hidden, batch in NETWORKS:
            tag = f"784-{hidden}-10_b{batch}"
            load = [load_average()]
            for p in peers:
                p.send(f"config {hidden} {batch}")
            for p in peers:  # warm-up epochs run concurrently; the timed ones never do
                p.wait_ready()
            times = {p.name: [] for p in peers}
            times["floor"] = []
            for r in range(args.epochs):
                for p in peers[r % len(peers):] + peers[:r % len(peers)]:
                    reply = p.epoch()
                    col = 0 if args.wall else 1
                    times[p.name].append(reply[col])
                    if p.name == "xgrad":
                        times["floor"].append(reply[2 + col])
                load.append(load_average())
            med = {k: statistics.median(v) if v else None for k, v in times.items()}
            for k, v in med.items():
                if v is not None:
                    print(f"{prefix}_{k}_seconds_{tag}: {v:.4f}", file=out)
            print(f"{prefix}_load_average_{tag}: {max(load):.2f}", file=out)
            rows.append((setting, kernel, scalar, tag, med, min(load), max(load)))
    finally:
        for p in peers:
            p.close()
    return rows


def cell(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xgrad-double", required=True, help="xgrad-bench built with double")
    parser.add_argument("--xgrad-float", help="xgrad-bench built with -DXGRAD_FLOAT=ON")
    parser.add_argument("--pytorch", help="bench/pytorch_mlp.py (omit to leave PyTorch out)")
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter with torch")
    parser.add_argument("--libtorch", help="xgrad-libtorch-mlp (omit to leave libtorch out)")
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--epochs", type=int, default=3, help="timed rounds per network")
    parser.add_argument("--quick", action="store_true", help="one timed round")
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU seconds")
    parser.add_argument("--out", default="out/bench/peers.txt")
    args = parser.parse_args()
    if args.quick:
        args.epochs = 1
    scalars = ["double"] + (["float"] if args.xgrad_float else [])
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    rows = []
    with open(args.out, "w") as out:
        for setting, unset in SETTINGS:
            for scalar in scalars:
                rows += run_setting(args, setting, unset, scalar, out)
                out.flush()
    unit = "wall" if args.wall else "CPU"
    print(f"seconds per epoch ({unit} seconds, median of {args.epochs} alternated rounds); "
          "ratios: xgrad/floor, and how many times faster xgrad is than each peer; "
          "'fused': xgrad with fused SGD (optim::SGD::set_fused), 'f/floor', 'pytorch/f' "
          "and 'libtorch/f' the same ratios for it; 'xsmm': fused with libxsmm's gemm kernels "
          "(xg::set_gemm_kernels; the floor stays OpenBLAS), 's/floor', 'pytorch/s', "
          "'libtorch/s' its ratios")
    head = ("setting", "kernel", "scalar", "network", "xgrad", "fused", "xsmm", "floor",
            "pytorch", "libtorch", "x/floor", "f/floor", "s/floor", "pytorch/x", "libtorch/x",
            "pytorch/f", "libtorch/f", "pytorch/s", "libtorch/s", "load")
    fmt = ("{:<13} {:<10} {:<6} {:<15} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>7} {:>7} {:>7}"
           " {:>9} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9}")
    print(fmt.format(*head))

    def ratio(num, den, digits):
        return cell(num / den if num is not None and den is not None else None, digits)

    for setting, kernel, scalar, tag, med, lo, hi in rows:
        x, f, s, floor = med["xgrad"], med["fused"], med.get("xsmm"), med["floor"]
        pt, lt = med.get("pytorch"), med.get("libtorch")
        print(fmt.format(setting, kernel, scalar, tag, cell(x), cell(f), cell(s), cell(floor),
                         cell(pt), cell(lt), ratio(x, floor, 2), ratio(f, floor, 2),
                         ratio(s, floor, 2), ratio(pt, x, 1), ratio(lt, x, 1), ratio(pt, f, 1),
                         ratio(lt, f, 1), ratio(pt, s, 1), ratio(lt, s, 1),
                         f"{lo:.1f}-{hi:.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
