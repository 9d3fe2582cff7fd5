"""What the end-to-end Python tests share: where mmusim is, and one run of
it that fails the test (exit with the command and its stderr) when mmusim
does not exit 0. MMUSIM names the binary (ctest sets it)."""
import csv
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MMUSIM = os.environ.get("MMUSIM", os.path.join(ROOT, "build", "mmusim"))


def run_mmusim(out, traces, sets=(), opts=(), config=None):
    """`mmusim run -q -o out` with opts, -c configs/<config>, a -t per trace
    and a --set per entry of sets; returns (stats.csv as {path: value},
    the stats.csv path)."""
    cmd = [MMUSIM, "run", "-q", "-o", out] + list(opts)
    if config:
        cmd += ["-c", os.path.join(ROOT, "configs", config)]
    for t in traces:
        cmd += ["-t", t]
    for s in sets:
        cmd += ["--set", s]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}: {r.stderr}")
    path = os.path.join(out, "stats.csv")
    with open(path) as f:
        return {k: v for k, v in list(csv.reader(f))[1:]}, path
