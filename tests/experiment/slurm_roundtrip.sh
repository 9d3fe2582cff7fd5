#!/usr/bin/env bash
# The Slurm round trip (run by .ci/run, as root): brings up a real one-node
# Slurm cluster (scripts/slurm up), runs configs/experiments/smoke.yaml
# through it as one job array and locally, and checks that the two
# results.csv are identical row for row; then a sweep with a broken trace
# (its failed tasks must be reported with their logs) and a --resume that has
# nothing to submit. The cluster is torn down on every exit path.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${MMUSIM:-$root/build/mmusim}"
work="$(mktemp -d /tmp/mmusim-slurm-test-XXXXXX)"
cluster="$work/cluster"
fail() { echo "slurm_roundtrip: FAIL: $*" >&2; exit 1; }
cleanup() {
  "$root/scripts/slurm" down "$cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS

eval "$("$root/scripts/slurm" up "$cluster")"
exp="$root/configs/experiments/smoke.yaml"
"$bin" sweep "$exp" -j 2 -o "$work/local"
"$bin" sweep "$exp" --backend slurm --time 5:00 --poll 0.5 -o "$work/slurm" 2>"$work/slurm.err" \
  || { cat "$work/slurm.err" >&2; fail "the Slurm sweep failed"; }
cat "$work/slurm.err" >&2
job="$(sed -n 's/.*submitted Slurm job array \([0-9]*\).*/\1/p' "$work/slurm.err")"
[[ -n "$job" ]] || fail "no job array was submitted"
rows=$(($(wc -l <"$work/local/results.csv") - 1))
((rows == 4)) || fail "expected 4 result rows, got $rows"
diff -u "$work/local/results.csv" "$work/slurm/results.csv" || fail "Slurm and local results differ"
# Every task ran under Slurm: one completion record per array task, exit 0.
for k in 0 1 2 3; do
  grep -q "JobState=COMPLETED .* ArrayJobId=$job ArrayTaskId=$k " "$cluster/jobcomp.log" \
    || fail "no COMPLETED record for task $k in Slurm's $cluster/jobcomp.log"
  [[ -f "$work/slurm/slurm/logs/${job}_$k.out" ]] || fail "no Slurm log for task $k"
done
echo "slurm_roundtrip: $rows rows identical to the local backend's (job $job)"

# --resume: every run is finished, nothing is submitted.
"$bin" sweep "$exp" --backend slurm -o "$work/slurm" --resume 2>"$work/resume.err"
grep -q "4 already finished (--resume), 0 to run" "$work/resume.err" || fail "--resume resubmitted: $(cat "$work/resume.err")"
grep -q "submitted" "$work/resume.err" && fail "--resume submitted a job"

# Failed tasks are reported with their logs and do not stop the others.
printf 'R 0x1000\nL 0x2000\n' >"$work/broken.txt"
cat >"$work/bad.yaml" <<YAML
name: with-broken-trace
traces: [$root/traces/ls-small.lackey.zst, $work/broken.txt]
sweep: {mmu.tlbs.l1d.entries: [32, 64]}
YAML
set +e
"$bin" sweep "$work/bad.yaml" --backend slurm --poll 0.5 -o "$work/bad" 2>"$work/bad.err"
code=$?
set -e
cat "$work/bad.err" >&2
((code == 1)) || fail "a sweep with failed tasks exited $code, expected 1"
[[ $(grep -c "FAILED task" "$work/bad.err") == 2 ]] || fail "expected 2 failed tasks reported"
grep -q "broken.txt:2" "$work/bad.err" || fail "the failed task's error is not shown"
log="$(sed -n 's/.*Slurm log: \(.*\.out\)$/\1/p' "$work/bad.err" | head -1)"
[[ -f "$log" ]] || fail "the reported Slurm log '$log' does not exist"
[[ "$(cut -d, -f4 "$work/bad/results.csv" | tail -n +2 | tr '\n' ' ')" == "ok failed ok failed " ]] \
  || fail "statuses in results.csv: $(cat "$work/bad/results.csv")"
echo "slurm_roundtrip: ok in $((SECONDS - start)) s"
