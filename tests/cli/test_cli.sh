#!/usr/bin/env bash
# End-to-end tests of xgrad-book: list, check, train/save/eval, checkpoint and
# resume (exactly the same weights), Ctrl-C, --out, and clear errors (bad
# files, unknown experiments, every kind of bad number).
# Usage: test_cli.sh BOOK_BINARY MNIST_DIR
set -uo pipefail
book=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Without MNIST the run is skipped (exit 77, ctest's SKIP_RETURN_CODE), never
# passed; under CI=true, where the setup fetches MNIST, it fails.
if [[ ! -f "$data/train-images-idx3-ubyte" ]]; then
  if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
    echo "FAIL: no MNIST in $data (CI=true: the setup should have fetched it)"; exit 1
  fi
  echo "SKIPPED: no MNIST in $data (run scripts/fetch-mnist)"; exit 77
fi
small=(--data "$data" --train-size 1000 --seed 3 --sizes 784,20,10 --optimizer momentum --momentum 0.5)

# list
n=$("$book" list | grep -cE '^ ?[0-9]+ ')
[[ $n -eq 13 ]] && pass "list shows 13 experiments" || fail "list shows $n experiments"

# check
out=$("$book" check --data "$data"); rc=$?
last=$(tail -n 1 <<<"$out")
[[ $rc -eq 0 && $last =~ ^max_rel_diff:\ [0-9.e+-]+$ ]] && pass "check: $last" || fail "check rc=$rc last='$last'"

# train, save, eval give the same accuracy line
out=$("$book" train "${small[@]}" --epochs 3 --save "$work/model" --out "$work/out"); rc=$?
train_last=$(tail -n 1 <<<"$out")
[[ $rc -eq 0 && $train_last =~ ^accuracy:\ test\ [0-9]+/10000\ [0-9.]+%$ ]] && pass "train: $train_last" \
  || fail "train rc=$rc last='$train_last'"
eval_last=$("$book" eval --model "$work/model" --data "$data" | tail -n 1)
[[ "$eval_last" == "$train_last" ]] && pass "eval repeats the training accuracy" \
  || fail "eval '$eval_last' != train '$train_last'"
for f in history.csv cost.svg accuracy.svg; do
  [[ -s "$work/out/$f" ]] && pass "--out wrote $f" || fail "--out did not write $f"
done
[[ $(wc -l <"$work/out/history.csv") -eq 4 ]] && pass "history.csv has 3 epochs" || fail "history.csv rows"

# checkpoint + resume == uninterrupted
"$book" train "${small[@]}" --epochs 2 --checkpoint "$work/ck" >/dev/null || fail "checkpointed run"
"$book" train "${small[@]}" --epochs 3 --resume "$work/ck" --save "$work/resumed" >/dev/null || fail "resume"
same=1
for f in "$work/model"/*.npy; do cmp -s "$f" "$work/resumed/$(basename "$f")" || same=0; done
[[ $same -eq 1 ]] && pass "resumed run ends with identical weights" || fail "resumed weights differ"

# Ctrl-C finishes the epoch, writes the checkpoint and exits 130
"$book" train "${small[@]}" --epochs 500 --checkpoint "$work/ck2" >"$work/sigint.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q '^epoch 1/' "$work/sigint.log" && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; rc=$?
if [[ $rc -eq 130 && -f "$work/ck2/checkpoint.json" ]] && grep -q "resume with --resume" "$work/sigint.log"; then
  pass "Ctrl-C: exit 130 with a checkpoint"
else
  fail "Ctrl-C: rc=$rc"; cat "$work/sigint.log"
fi
done_epochs=$(grep -c '^epoch ' "$work/sigint.log")
"$book" train "${small[@]}" --epochs $((done_epochs + 1)) --resume "$work/ck2" >/dev/null \
  && pass "resume after Ctrl-C" || fail "resume after Ctrl-C"

# errors: clear message, exit code 2, no crash
expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1; shift
  local err; err=$("$book" "$@" 2>&1 >/dev/null); local rc=$?
  [[ $rc -eq 2 && $err == *"$pattern"* ]] && pass "error: $pattern" || fail "expected '$pattern' (rc=$rc): $err"
}
expect_error "unknown activation" train "${small[@]}" --activation swoosh --epochs 1
expect_error "fetch-mnist" train --data "$work/nowhere" --epochs 1
expect_error "mini-batch size" train "${small[@]}" --batch 5000 --epochs 1
expect_error "only plain SGD" train "${small[@]}" --fused-sgd --epochs 1
# Fused SGD rounds differently (last bits), so it trains as well, not identically.
plain_args=(--data "$data" --train-size 1000 --seed 3 --sizes 784,20,10 --epochs 2)
plain=$("$book" train "${plain_args[@]}" | tail -n 1 | sed -E 's/^accuracy: test ([0-9]+).*/\1/')
fused=$("$book" train "${plain_args[@]}" --fused-sgd | tail -n 1 |
  sed -E 's/^accuracy: test ([0-9]+).*/\1/')
[[ $plain =~ ^[0-9]+$ && $fused =~ ^[0-9]+$ && $((fused - plain)) -le 100 && $((plain - fused)) -le 100 ]] \
  && pass "train --fused-sgd: $fused/10000 correct, plain SGD $plain" \
  || fail "train --fused-sgd: '$fused' against plain '$plain'"
# libxsmm's kernels round differently too: the same accuracy within 100 images,
# or, in a build without libxsmm, a refusal that says so.
if xsmm_out=$("$book" train "${plain_args[@]}" --gemm libxsmm 2>&1); then
  xsmm=$(tail -n 1 <<<"$xsmm_out" | sed -E 's/^accuracy: test ([0-9]+).*/\1/')
  [[ $xsmm =~ ^[0-9]+$ && $((xsmm - plain)) -le 100 && $((plain - xsmm)) -le 100 ]] \
    && pass "train --gemm libxsmm: $xsmm/10000 correct, OpenBLAS $plain" \
    || fail "train --gemm libxsmm: '$xsmm' against OpenBLAS '$plain'"
else
  [[ $xsmm_out == *"built without libxsmm"* ]] && pass "train --gemm libxsmm refused: no libxsmm" \
    || fail "train --gemm libxsmm failed: $xsmm_out"
fi
expect_error "does not exist" eval --model "$work/nowhere" --data "$data"
mkdir -p "$work/bad" && echo '{"format": "xgrad-model", "version": 1' >"$work/bad/model.json"
expect_error "model.json" eval --model "$work/bad" --data "$data"
expect_error "unknown experiment" run 14 --data "$data"
# output paths are refused before the first epoch, not after training
touch "$work/a-file"
expect_error "name the same directory" train "${small[@]}" --epochs 1 --save "$work/same" --out "$work/same"
start=$SECONDS
expect_error "$work/a-file" train "${small[@]}" --epochs 30 --save "$work/a-file"
(( SECONDS - start < 20 )) && pass "a bad --save is refused before training" \
  || fail "a bad --save took $((SECONDS - start)) s to be refused (trained first?)"
# an absurd learning rate that never gives NaN still warns
err=$("$book" train "${small[@]}" --epochs 1 --eta 100000 2>&1 >/dev/null)
[[ $err == *"warning: epoch 1"* ]] && pass "health warning for --eta 100000" \
  || fail "no health warning for --eta 100000: $err"
expect_error "unknown experiment id 0" run 0 --data "$data"

# reproduce --only with an unknown number: refused before any work, the
# report is left as it was
echo "previous report" >"$work/report.md"
expect_error "unknown experiment id 0" reproduce --only 0 --data "$data" --out "$work/report.md"
expect_error "unknown experiment id 14" reproduce --only 1,14 --data "$data" --out "$work/report.md"
[[ $(cat "$work/report.md") == "previous report" ]] && pass "reproduce --only 0 keeps the report" \
  || fail "reproduce --only 0 changed the report"

# reproduce --only N rewrites N's lines and keeps the other experiments' lines
printf '| 1 | kept row |\n- **#1** kept bullet\n| 11 | old row |\n' >"$work/report.md"
out=$("$book" reproduce --only 11 --seeds 1 --epochs 1 --data "$data" --out "$work/report.md" \
  --curves "$work/curves" 2>&1); rc=$?
if [[ $rc -eq 0 ]] && grep -q '^| 1 | kept row |$' "$work/report.md" &&
   grep -q '^- \*\*#1\*\* kept bullet$' "$work/report.md" && ! grep -q 'old row' "$work/report.md" &&
   grep -q '^| 11 | 784-800-10 |' "$work/report.md" && [[ -s "$work/curves/experiment-11/accuracy.svg" ]]; then
  pass "reproduce --only 11 merges its row into the report and writes curves"
else
  fail "reproduce --only 11 (rc=$rc): $out $(cat "$work/report.md")"
fi

# --augment: a fresh distortion per image and epoch, resumed bit for bit, and
# a checkpoint refuses to continue with another transform
"$book" train "${small[@]}" --augment elastic --epochs 2 --save "$work/aug" >/dev/null || fail "augmented run"
"$book" train "${small[@]}" --augment elastic --epochs 1 --checkpoint "$work/augck" >/dev/null \
  || fail "augmented checkpointed run"
"$book" train "${small[@]}" --augment elastic --epochs 2 --resume "$work/augck" --save "$work/augres" \
  >/dev/null || fail "augmented resume"
same=1
for f in "$work/aug"/*.npy; do cmp -s "$f" "$work/augres/$(basename "$f")" || same=0; done
[[ $same -eq 1 ]] && pass "augmented resumed run ends with identical weights" || fail "augmented resume differs"
expect_error "with the data transform" train "${small[@]}" --augment affine --epochs 2 --resume "$work/augck"

# numbers: one strict parser for every flag; a bad value is CLI11's exit 105
# with the flag's name, before any data is read
expect_flag_error() {  # expect_flag_error PATTERN ARGS...
  local pattern=$1; shift
  local err; err=$("$book" "$@" 2>&1 >/dev/null); local rc=$?
  [[ $rc -eq 105 && $err == *"$pattern"* ]] && pass "flag error: $*" \
    || fail "expected '$pattern' (rc=$rc) for $*: $err"
}
expect_flag_error "negative values are refused" train --seed -1
expect_flag_error "negative values are refused" train --early-stop -1
expect_flag_error "negative values are refused" train --sizes 784,-3,10
expect_flag_error "empty item 2" train --sizes 784,,10
expect_flag_error "would need" train --sizes 784,4000000000,10
expect_flag_error "out of range" train --epochs 99999999999999999999999
expect_flag_error "not a number" train --eta 0.5x
expect_flag_error "--batch" train --batch 2.5
expect_flag_error "--dropout" train --dropout -0.5
expect_flag_error "--dropout" train --dropout 1
expect_flag_error "--eta" train --eta nan
expect_flag_error "--epochs" reproduce --epochs 0
expect_flag_error "--augment" train --augment sideways
expect_flag_error "--eta-decay" train --eta-decay 0
expect_flag_error "--gemm" train --gemm mkl
expect_flag_error "--eta-decay" train --eta-decay 1.5
expect_flag_error "--seed" check --seed 18446744073709551616

# hessian: part (a) alone ends with the XOR accuracy; part (b) on 200 images
# for a fraction of a second per method writes the table, the CSV and the
# figures, and ends with the Hessian-free run's test accuracy.
out=$("$book" hessian --part a); rc=$?
last=$(tail -n 1 <<<"$out")
[[ $rc -eq 0 && $last == "accuracy: xor 4/4 100.00%" ]] && pass "hessian a: $last" \
  || fail "hessian a rc=$rc last='$last'"
out=$("$book" hessian --part b --data "$data" --train-size 200 --seconds 0.3 --slices 2 \
  --seed 3 --out "$work/hessian"); rc=$?
last=$(tail -n 1 <<<"$out")
[[ $rc -eq 0 && $last =~ ^accuracy:\ test\ [0-9]+/10000\ [0-9.]+%$ ]] && pass "hessian b: $last" \
  || fail "hessian b rc=$rc last='$last'"
n=$(cut -d, -f1 "$work/hessian/hessian.csv" 2>/dev/null | sort -u | grep -cE '^(hessian-free|sgd|momentum)$')
[[ $n -eq 3 ]] && pass "hessian.csv has the three methods" || fail "hessian.csv has $n methods"
for f in hessian-cost hessian-accuracy hessian-accuracy-epochs; do
  head -c 4 "$work/hessian/$f.svg" 2>/dev/null | grep -q '<svg' && pass "hessian wrote $f.svg" \
    || fail "hessian did not write $f.svg"
done
expect_flag_error "--seconds" hessian --seconds 0
expect_flag_error "--part" hessian --part c

# mpirun: `train` is data-parallel over 2 ranks and prints what one process
# prints (rank 0 alone), the same accuracy line; a failing rank ends the job
# with the rank named, in bounded time. Skipped where Open MPI is not installed.
if command -v mpirun >/dev/null && [[ ${XGRAD_CLI_SKIP_MPI:-} != 1 ]]; then
  mpi=(timeout 120 mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none)
  one=$("$book" train "${small[@]}" --epochs 2 --threads 1 | tail -n 1)
  out=$("${mpi[@]}" "$book" train "${small[@]}" --epochs 2 --threads 1 --save "$work/mpi-model" 2>&1); rc=$?
  n=$(grep -c '^accuracy:' <<<"$out")
  [[ $rc -eq 0 && $n -eq 1 && $(grep '^accuracy:' <<<"$out") == "$one" && -f "$work/mpi-model/model.json" ]] \
    && pass "mpirun -np 2 train: one '$one' line, as one process" \
    || fail "mpirun -np 2 train (rc=$rc, $n accuracy lines, one process: '$one'): $out"
  # Ranks get a pseudo-terminal from mpirun: no progress bar may be drawn into it.
  [[ $out != *$'\r'* ]] && pass "mpirun: no progress-bar frames in the output" \
    || fail "mpirun: progress-bar frames (\\r) in the output of a redirected run"
  # A checkpoint written by 2 ranks resumes alone on the same trajectory:
  # the uninterrupted 3-epoch run's weights ($work/model) up to the last bits.
  "${mpi[@]}" "$book" train "${small[@]}" --epochs 2 --checkpoint "$work/mpi-ck" >/dev/null 2>&1 \
    || fail "mpirun -np 2 checkpointed run"
  "$book" train "${small[@]}" --epochs 3 --resume "$work/mpi-ck" --save "$work/mpi-resumed" \
    >/dev/null || fail "resume alone from a 2-rank checkpoint"
  diff=$(python3 - "$work/model" "$work/mpi-resumed" <<'PY'
import array, glob, os, sys
def npy(path):  # float64 .npy: magic, version, header length, header, data
    raw = open(path, "rb").read()
    start = 10 + int.from_bytes(raw[8:10], "little")
    return array.array("f" if b"<f4" in raw[:start] else "d", raw[start:])
worst, files = 0.0, sorted(glob.glob(os.path.join(sys.argv[1], "*.npy")))
for f in files:
    a, b = npy(f), npy(os.path.join(sys.argv[2], os.path.basename(f)))
    scale = max(max(abs(v) for v in a), 1e-30)
    worst = max(worst, max(abs(x - y) for x, y in zip(a, b)) / scale)
print(worst if files else "no weights")
PY
  )
  python3 -c "import sys; sys.exit(0 if float('$diff') <= 1e-12 else 1)" 2>/dev/null \
    && pass "2-rank checkpoint resumed alone: weights as uninterrupted (rel diff $diff)" \
    || fail "2-rank checkpoint resumed alone: rel diff $diff"
  out=$("${mpi[@]}" "$book" train "${small[@]}" --epochs 1 --batch 5000 2>&1); rc=$?
  # Every rank meets this error; whichever reaches abort_job first names itself.
  [[ $rc -ne 0 && $rc -ne 124 && $out =~ rank\ [01]\ of\ 2\ failed && $out == *"mini-batch size"* ]] \
    && pass "mpirun: a failing rank ends the job with its rank named" \
    || fail "mpirun failing rank (rc=$rc): $out"
fi

echo "$failures failure(s)"
[[ $failures -eq 0 ]]
