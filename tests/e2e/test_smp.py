#!/usr/bin/env python3
"""Several cores (cores: N): N unrelated traces on N cores against each run alone.

The expected values are not computed by this test: they are the statistics
of each bundled trace run alone on one core, by the same binary.

1. Private everything that can be private: with memory.controller.model
   fixed and no caches, a core's timing does not depend on the other cores
   (a fixed-latency memory has no contention), and each core has its own
   TLBs, paging-structure caches and walker. Unrelated processes share no
   page: the OS model's decisions for one process do not depend on the
   other's (enough memory, no reclaim). So core<i>.mmu.* and
   core<i>.replay.* must equal, every one of them, mmu.* and replay.* of
   trace i run alone; the totals replay.* and mmu.* are their sums, and
   the OS model's fault and process counters the sums over the alone runs.
   Done with and without PCIDs (the PCID slots are per CPU: running alone a
   process gets the first slot of its CPU, so it must on its core too), and
   with one core more than traces (an idle core: only the boot CR3 load).
   The per-core replay.shootdown_* statistics exist only with several
   cores; with no shared mm they must be 0.
2. Shared DRAM and caches (the default DRAM model and the x86_64-caches
   preset): the walks' timing now depends on the other cores, but the TLB
   and fault counters must not: every mmu.tlb.* counter and replay.retries
   (re-executions after a page fault) per core equal the alone run's.
3. Determinism: the same two-core run twice, once with --threads 1 (no
   decoder threads) and once with --threads 2 (trace decoding on host
   threads), gives byte-identical stats.csv.
4. The OOM killer across cores: two traces that each touch 16 MiB, on two
   cores sharing 16 MiB of memory: a fault on one core kills the process of
   the other (and later its own); the killed core's records are skipped from
   its next access or kernel entry, its MMU loads the idle root, and the run
   passes --check-invariants (no stale translation, the OS invariants).
   Each trace has 2 x 4096 accesses, so per core accesses + skipped = 8192,
   and both processes end killed (os.oom_kills 2).

MMUSIM names the binary; SMP_ACCESSES the accesses per trace (default 1000000).
"""
import csv
import os
import sys
import tempfile

from mmusim_e2e import ROOT, run_mmusim  # tests/e2e/mmusim_e2e.py
ACCESSES = os.environ.get("SMP_ACCESSES", "1000000")
TRACES = [os.path.join(ROOT, "traces", t) for t in ("sort-words.bin.zst", "python-dict.bin.zst", "sqlite-memdb.bin.zst")]

failures = []


def run(tmp, name, traces, sets, config=None, extra=()):
    limit = [] if name == "oom" else ["--max-accesses", ACCESSES]
    return run_mmusim(os.path.join(tmp, name), traces, sets, limit + list(extra), config)


def under(stats, prefix):
    return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got}, want {want}")


def private_case(tmp, tag, sets, cores):
    alone = [run(tmp, f"{tag}-alone{i}", [t], sets)[0] for i, t in enumerate(TRACES)]
    smp, _ = run(tmp, f"{tag}-smp", TRACES, sets + [f"cores={cores}"])
    for i, a in enumerate(alone):
        for group in ("mmu.", "replay."):
            want = under(a, group)
            got = under(smp, f"core{i}.{group}")
            # Statistics only several cores have: TLB-flush IPIs this core
            # handled (models/os/arch/tlb.h); unrelated processes in enough
            # memory share no mm, so none.
            for k in ("shootdown_irqs", "shootdown_stall_cycles"):
                if group == "replay.":
                    expect(f"{tag} core{i}.replay.{k}", got.pop(k, None), "0")
            if set(got) != set(want):
                failures.append(f"{tag} core{i}.{group}*: other statistics than alone")
            for k in want:
                expect(f"{tag} core{i}.{group}{k}", got.get(k), want[k])
    # The totals: every counter the sum over the cores (histogram minima
    # and maxima are the min and max).
    for group in ("mmu.", "replay."):
        for k, v in under(smp, group).items():
            parts = [int(under(smp, f"core{i}.{group}")[k]) for i in range(cores)]
            want = min(p for p in parts if p) if k.endswith(".min") and any(parts) else (
                max(parts) if k.endswith(".max") else sum(parts))
            expect(f"{tag} {group}{k}", int(v), want)
    for k in ("os.pgfault", "os.faults.minor", "os.processes"):
        expect(f"{tag} {k}", int(smp[k]), sum(int(a[k]) for a in alone))
    if cores > len(TRACES):
        idle = under(smp, f"core{cores - 1}.")
        expect(f"{tag} idle core accesses", idle["replay.accesses"], "0")
        expect(f"{tag} idle core CR3 loads (the idle root at boot)", idle["mmu.cr3_writes"], "1")


def shared_case(tmp, tag, sets, config):
    alone = [run(tmp, f"{tag}-alone{i}", [t], sets, config)[0] for i, t in enumerate(TRACES)]
    smp, _ = run(tmp, f"{tag}-smp", TRACES, sets + [f"cores={len(TRACES)}"], config)
    for i, a in enumerate(alone):
        want = {k: v for k, v in under(a, "mmu.tlb.").items()}
        want["retries"] = a["replay.retries"]
        got = under(smp, f"core{i}.mmu.tlb.")
        got["retries"] = smp[f"core{i}.replay.retries"]
        for k in want:
            expect(f"{tag} core{i} {k}", got.get(k), want[k])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        fixed = ["memory.controller.model=fixed"]
        private_case(tmp, "nopcid", fixed + ["paging.pcid=false"], 3)
        private_case(tmp, "pcid", fixed + ["paging.pcid=true"], 4)
        shared_case(tmp, "dram", [], None)
        shared_case(tmp, "caches", [], "x86_64-caches.yaml")
        _, a = run(tmp, "det1", TRACES[:2], ["cores=2"], "x86_64-caches.yaml", ["--threads", "1"])
        _, b = run(tmp, "det2", TRACES[:2], ["cores=2"], "x86_64-caches.yaml", ["--threads", "2"])
        with open(a, "rb") as fa, open(b, "rb") as fb:
            if fa.read() != fb.read():
                failures.append("two identical two-core runs gave different stats.csv")
        oom = []
        for n, base in (("oom_a.txt", 0x10000000), ("oom_b.txt", 0x20000000)):
            lines = ["@mmap 0x%x 0x1000000 rw-" % base]
            for i in range(4096):
                lines += ["W 0x%x 8" % (base + i * 4096), "R 0x%x 8" % (base + (i // 2) * 4096)]
            oom.append(os.path.join(tmp, n))
            with open(oom[-1], "w") as f:
                f.write("\n".join(lines) + "\n")
        s, _ = run(tmp, "oom", oom, ["cores=2", "os.memory=16MiB", "paging.pcid=true"], extra=["--check-invariants"])
        expect("oom os.oom_kills", s["os.oom_kills"], "2")
        for i in range(2):
            expect(f"oom core{i} accesses + skipped",
                   int(s[f"core{i}.replay.accesses"]) + int(s[f"core{i}.replay.skipped"]), 8192)
            if int(s[f"core{i}.replay.skipped"]) == 0:
                failures.append(f"oom core{i}: no record skipped")
    for f in failures[:50]:
        print("FAIL:", f)
    if failures:
        sys.exit(f"{len(failures)} mismatches")
    print("smp: every core matches its trace run alone")


if __name__ == "__main__":
    main()
