#!/usr/bin/env python3
"""A @mark on one core snapshots every core's statistics consistently.

Each core counts its same-page TLB hits lazily (Mmu::settle_repeats), so a
@mark given by core 1 must first settle core 0's pending repeats. The check
needs no timing: core 0 replays only 8-byte loads of one 4 KiB page, and
every demand translation probes the level-1 data TLB l1d exactly once
(a re-execution after the fault probes without counting: Replay sets
m_ext.demand only on the first attempt), so at any consistent snapshot
    core0.mmu.tlb.l1d.accesses == core0.replay.accesses
(no access crosses a page). Core 1 gives its @mark after 1000 loads, while
core 0, with 200000 loads of at least one cycle each to go, is still
running: the mark must fall strictly inside core 0's run, or the test
proves nothing. MMUSIM names the binary.
"""
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MMUSIM = os.environ.get("MMUSIM", os.path.join(ROOT, "build", "mmusim"))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a.txt")
        b = os.path.join(tmp, "b.txt")
        with open(a, "w") as f:
            f.write("@mmap 0x10000000 0x1000 rw-\n" + "R 0x10000008 8\n" * 200000)
        with open(b, "w") as f:
            f.write("@mmap 0x20000000 0x1000 rw-\n" + "R 0x20000008 8\n" * 1000 + "@mark m1\n" +
                    "R 0x20000008 8\n" * 1000)
        out = os.path.join(tmp, "out")
        cmd = [MMUSIM, "run", "-q", "-o", out, "-t", a, "-t", b, "--set", "cores=2"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}: {r.stderr}")
        with open(os.path.join(out, "stats.csv")) as f:
            s = {k: int(v) for k, v in list(csv.reader(f))[1:] if v.lstrip("-").isdigit()}
    failures = []
    for prefix in ("marks.m1.", ""):
        acc = s[prefix + "core0.replay.accesses"]
        l1d = s[prefix + "core0.mmu.tlb.l1d.accesses"]
        if l1d != acc:
            failures.append(f"{prefix}core0.mmu.tlb.l1d.accesses = {l1d}, want core0.replay.accesses = {acc}")
    at_mark = s["marks.m1.core0.replay.accesses"]
    if not 1 < at_mark < 200000:
        failures.append(f"core 0 had done {at_mark} accesses at core 1's mark: not inside its run")
    if s["core0.replay.accesses"] != 200000:
        failures.append(f"core0.replay.accesses = {s['core0.replay.accesses']}, want 200000")
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print(f"ok: core 0 at core 1's mark: {at_mark} accesses, as many l1d lookups")


main()
