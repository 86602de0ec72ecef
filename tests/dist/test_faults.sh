#!/usr/bin/env bash
# A failing rank ends the whole job, non-zero, with a message naming it,
# within a bounded time (no hang). Usage: test_faults.sh MPIRUN FAULT_PROGRAM [MPIRUN FLAGS...]
set -uo pipefail
mpirun=$1
prog=$2
shift 2
flags=("$@")
limit=60  # seconds; a healthy run takes about one
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# run NAME EXPECT_RC(0|fail) PATTERN ARGS...: runs 2 ranks, checks rc and output.
run() {
  local name=$1 expect=$2 pattern=$3
  shift 3
  local start out rc
  start=$(date +%s)
  out=$(timeout -k 5 "$limit" "$mpirun" -np 2 "${flags[@]}" "$prog" "$@" 2>&1)
  rc=$?
  local took=$(($(date +%s) - start))
  if [[ $rc -eq 124 || $rc -eq 137 && $took -ge $limit ]]; then
    fail "$name: still running after ${limit}s (a hang)"; echo "$out" | tail -n 20; return
  fi
  if [[ $expect == 0 && $rc -ne 0 ]] || [[ $expect == fail && $rc -eq 0 ]]; then
    fail "$name: exit code $rc"; echo "$out" | tail -n 20; return
  fi
  if ! grep -qE "$pattern" <<<"$out"; then
    fail "$name: no line matching '$pattern'"; echo "$out" | tail -n 20; return
  fi
  pass "$name: exit $rc after ${took}s: $(grep -m1 -E "$pattern" <<<"$out")"
}

# Every fault through both paths: node-shared memory (the default on one
# machine) and MPI messages (XGRAD_DIST_SHM=0).
base_flags=("${flags[@]}")
for shm in 1 0; do
  export XGRAD_DIST_SHM=$shm
  flags=("${base_flags[@]}" -x XGRAD_DIST_SHM)
  echo "-- XGRAD_DIST_SHM=$shm"
  run "healthy job" 0 '^ok: 50 steps on 2 ranks' ok
  run "rank 1 throws" fail 'xgrad: rank 1 of 2 failed: a deliberate failure at step 20' throw 1
  run "rank 0 throws" fail 'xgrad: rank 0 of 2 failed: a deliberate failure at step 20' throw 0
  run "rank 1 throws out of a plain Session" fail "xgrad: rank 1 of 2 failed: an exception left the dist::Session's scope" unwind 1
  run "rank 1 killed by SIGKILL" fail 'rank 1 .*(signal 9|Killed)' kill 1
  run "different shapes" fail 'xgrad: rank [01] of 2 failed: dist: allreduce: the ranks disagree on the arrays' shapes
  run "different shapes at step 20" fail "xgrad: rank [01] of 2 failed: dist: allreduce: the ranks disagree on the arrays' count and shapes" late
  run "shards not covering the batch" fail "local_rows add up to 12, not global_rows = 10" rows
done
export XGRAD_DIST_SHM=1  # the program turns it off on the last rank only
run "ranks on different paths" fail 'xgrad: rank [01] of 2 failed: dist: .*the ranks disagree on the shared-memory setting' shm

# Mismatched builds: rank 1 runs the same program from another build (e.g. a
# -DXGRAD_FLOAT=ON build), given by XGRAD_DIST_PEER_PROGRAM; skipped without it.
if [[ -n "${XGRAD_DIST_PEER_PROGRAM:-}" ]]; then
  start=$(date +%s)
  out=$(timeout -k 5 "$limit" "$mpirun" "${flags[@]}" -np 1 "$prog" ok : -np 1 \
        "$XGRAD_DIST_PEER_PROGRAM" ok 2>&1)
  rc=$?
  if [[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "the ranks run different xgrad builds" <<<"$out"; then
    pass "mismatched builds: exit $rc after $(($(date +%s) - start))s: $(grep -m1 "different xgrad builds" <<<"$out")"
  else
    fail "mismatched builds: rc=$rc"; echo "$out" | tail -n 20
  fi
else
  echo "skip: mismatched builds (set XGRAD_DIST_PEER_PROGRAM to another build's xgrad-test_fault_rank)"
fi

[[ $failures -eq 0 ]] || { echo "$failures fault test(s) failed"; exit 1; }
echo "all fault tests passed"
