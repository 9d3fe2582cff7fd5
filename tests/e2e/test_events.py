#!/usr/bin/env python3
"""Property tests on random OS event traces (scripts/gen-events).

1. TLB transparency: the OS model's statistics (os.*: faults of every
   kind, copy-on-write, forks, kills, reclaim, swap) do not depend on
   paging.pcid or paging.pge. PCIDs and global pages only decide which
   translations survive a CR3 load; Linux flushes whatever the page tables
   no longer allow (flush_tlb_mm_range, choose_new_asid), so no fault may
   appear or disappear with them. A stale TLB entry that let a store through
   a write-protected copy-on-write page would lose an os.faults.cow.
2. Every run is also made with --check-invariants: the OS model's
   invariants after every fault and the TLB-transparency check on every
   hit; a violation exits 1 and fails the test.

Each trace runs in 4 configurations (pcid x pge), in three families: plain
(64 MiB), THP always (64 MiB), and memory pressure with swap (16 MiB of
memory, 64 MiB of swap: kswapd, direct reclaim, swap-out and major faults).
MMUSIM names the binary; EVENT_SEEDS the number of seeds of the plain and
THP families (default 6; the swap family, slower, gets a sixth of it).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MMUSIM = os.environ.get("MMUSIM", os.path.join(ROOT, "build", "mmusim"))
GEN = os.path.join(ROOT, "scripts", "gen-events")
# Under ASan/UBSan (scripts/run-tests --sanitize: build-sanitize/) each run
# is several times slower: fewer seeds there (the same properties).
SANITIZED = "sanitize" in os.path.abspath(MMUSIM)
SEEDS = int(os.environ.get("EVENT_SEEDS", "2" if SANITIZED else "6"))

# family: (scripts/gen-events options, --set values, seeds). The swap
# family's traces are slow under the OS invariants (every fault checks all
# of memory); seed 5 and up reach swap-out and major faults within 600
# event groups.
FAMILIES = {
    "plain": ([], ["os.memory=64MiB"], range(1, SEEDS + 1)),
    "thp": (["--thp"], ["os.memory=64MiB", "os.thp=always"], range(1, SEEDS + 1)),
    "swap": (["--pressure", "--records", "600", "--procs", "2"], ["os.memory=16MiB", "os.swap.size=64MiB"],
             range(5, 5 + max(1, SEEDS // 6))),
}


def run(trace, sets, outdir):
    cmd = [MMUSIM, "run", "-t", trace, "-o", outdir, "--quiet", "--check-invariants"]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    with open(os.path.join(outdir, "stats.json")) as f:
        return json.load(f)


def os_stats(stats):
    flat = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(prefix + "." + k if prefix else k, v)
        else:
            flat[prefix] = node

    walk("", stats.get("os", {}))
    return flat


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for family, (gen_args, sets, seeds) in FAMILIES.items():
            for seed in seeds:
                trace = os.path.join(tmp, "%s-%d.txt" % (family, seed))
                subprocess.run([sys.executable, GEN, "--seed", str(seed), "-o", trace] + gen_args, check=True)
                problems = []
                results = {}
                try:
                    for pcid in ("false", "true"):
                        for pge in ("false", "true"):
                            out = os.path.join(tmp, "out-%s-%d-%s-%s" % (family, seed, pcid, pge))
                            s = run(trace, sets + ["paging.pcid=" + pcid, "paging.pge=" + pge], out)
                            results[(pcid, pge)] = os_stats(s)
                except AssertionError as e:
                    problems.append(str(e))
                if not problems:
                    base = results[("false", "true")]
                    if not base.get("faults.minor"):
                        problems.append("no faults at all: the trace tests nothing")
                    for key, r in results.items():
                        diff = sorted(k for k in set(base) | set(r) if base.get(k) != r.get(k))
                        if diff:
                            problems.append("pcid=%s pge=%s differs from pcid=false pge=true in %s" % (
                                key[0], key[1],
                                ", ".join("%s %s vs %s" % (k, base.get(k), r.get(k)) for k in diff[:8])))
                if problems:
                    failed += 1
                    print("FAIL %s seed %d (scripts/gen-events --seed %d %s; --set %s):\n  %s" % (
                        family, seed, seed, " ".join(gen_args), " --set ".join(sets), "\n  ".join(problems)))
                else:
                    passed += 1
                    print("ok %s seed %d: %s minor faults, %s COW, %s major, %s forks" % (
                        family, seed, base.get("faults.minor"), base.get("faults.cow"), base.get("faults.major"),
                        base.get("forks")))
    print("events: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
