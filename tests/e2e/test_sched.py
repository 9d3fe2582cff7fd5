#!/usr/bin/env python3
"""Workloads on cores (cores: N > 1, sim/scheduler.h), end to end.

Every expected count is worked out by hand beside its trace, from these
rules (README, Several cores):
- a trace's threads are tasks: the records after `@thread T` are thread T's;
  the trace's first task (its main thread) runs on core i mod N for trace
  i, its k-th thread on the core k after it;
- every event but @thread is a fence in file order: it runs after every
  record before it in the file, and before every record after it;
- each core has its own TLBs: a page one core translated misses on another;
- each core time-slices its run queue every replay.switch_interval
  accesses, round-robin; replay.switches counts a change of the running
  task on a core (not from idle); a switch to another process loads its
  CR3 (switch_mm_irqs_off), between threads of one mm none;
- replay.affinity pins all of a trace's tasks to a core;
  replay.migrate_interval moves a task to the next core after that many of
  its accesses.
Every run uses memory.controller.model=fixed (no contention) and
paging.pcid=false (each CR3 load flushes the non-global TLB entries).
The first touch of a page in a rw- VMA is one fault (demand zero: a write
allocates, a read maps the zero page); the access is then retried
(replay.retries), and the retry is not counted in the TLB statistics.
At boot each core's MMU loads the idle root's CR3 (1 CR3 write per core).
MMUSIM names the binary.
"""
import os
import sys
import tempfile

from mmusim_e2e import ROOT, run_mmusim  # tests/e2e/mmusim_e2e.py
BASE = ["--set", "memory.controller.model=fixed", "--set", "paging.pcid=false"]
failures = []


def write(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run(tmp, name, traces, sets=(), extra=(), config=None):
    return run_mmusim(os.path.join(tmp, name), traces, sets, BASE + list(extra), config)


def expect(what, stats, want):
    for k, v in want.items():
        if stats.get(k) != str(v):
            failures.append(f"{what}: {k} = {stats.get(k)}, want {v}")


# 1. Two threads on two cores. Thread 1 (core 0) writes page A: fault 1,
# an l1d miss. @clone 2 is a fence: thread 2 (core 1) starts after it and
# reads A: mapped already (no fault), but core 1's TLB has never seen it: a
# miss there too. So per core 1 access and 1 l1d miss; 1 fault in all.
# CR3 writes: core 0 the idle root and process 1; core 1 the idle root and
# process 1 at @thread 2 (process 1 is new on that CPU). Events: core 0
# @mmap, @clone; core 1 @thread 2.
# On one core the read hits (same TLB, no CR3 load between the threads);
# with replay.affinity=[0] both threads run on core 0: the same, plus one
# switch (thread 1 ends, thread 2 runs: same mm, no CR3 load).
TWO = """@mmap 0x10000000 0x4000 rw-
W 0x10000000 8
@clone 2
@thread 2
R 0x10000000 8
"""
TWO_WANT = {
    "os.pgfault": 1, "core0.replay.accesses": 1, "core1.replay.accesses": 1,
    "core0.mmu.tlb.l1d.misses": 1, "core1.mmu.tlb.l1d.misses": 1, "core0.mmu.tlb.l1d.hits": 0,
    "core1.mmu.tlb.l1d.hits": 0, "core0.replay.retries": 1, "core1.replay.retries": 0,
    "core0.mmu.cr3_writes": 2, "core1.mmu.cr3_writes": 2, "core0.replay.events": 2, "core1.replay.events": 1,
    "replay.switches": 0,
}
TWO_ONE_CORE_WANT = {"os.pgfault": 1, "mmu.tlb.l1d.misses": 1, "mmu.tlb.l1d.hits": 1, "mmu.cr3_writes": 2}
TWO_PINNED_WANT = {
    "os.pgfault": 1, "core0.replay.accesses": 2, "core1.replay.accesses": 0, "core0.mmu.tlb.l1d.misses": 1,
    "core0.mmu.tlb.l1d.hits": 1, "core0.replay.switches": 1, "core0.mmu.cr3_writes": 2, "core1.mmu.cr3_writes": 1,
}

# 2. The fence: thread 1 (core 0) writes A, thread 2 (core 1) writes B:
# faults 1 and 2, concurrent (one epoch). Thread 2's @munmap of A and B
# runs only after both writes, and thread 1's read of B after the munmap:
# B has no VMA any more, so the read faults (3) and replay.implicit_vmas
# creates an anonymous VMA around it (os.implicit_vmas 1). Core 0 never
# translated B, so no stale entry is involved (no shootdowns yet). Had the
# read run before the munmap it would not fault (B mapped by thread 2):
# os.pgfault 2. Run with --check-invariants.
FENCE = """@mmap 0x10000000 0x2000 rw-
@clone 2
W 0x10000000 8
@thread 2
W 0x10001000 8
@munmap 0x10000000 0x2000
@thread 1
R 0x10001000 8
"""
FENCE_WANT = {
    "os.pgfault": 3, "os.implicit_vmas": 1, "core0.replay.accesses": 2, "core0.replay.retries": 2,
    "core1.replay.accesses": 1, "core1.replay.retries": 1,
}


def pages_trace(base, n):
    # n reads of 8 bytes in one page: the first faults (the zero page).
    return "".join("R 0x%x 8\n" % (base + 8 * i) for i in range(n))


# 3. Three traces of 10 reads each (one page each) on two cores,
# replay.switch_interval 4: a and c on core 0 (0 mod 2, 2 mod 2), b on core
# 1. Core 0 runs a 1-4, c 1-4, a 5-8, c 5-8, a 9-10 (ends), c 9-10: 5
# switches. CR3 writes on core 0: the idle root, a's process at its first
# access, c's at its first access, then the switches c->a, a->c, c->a, a->c
# (the first a->c loads nothing: c has no process yet) = 7; core 1: idle
# root and b = 2. Each of core 0's 6 slices starts after a CR3 load, so its
# first read misses: 6 l1d misses, 14 hits; core 1: 1 miss, 9 hits.
# 3 faults (one per process).
SLICE_WANT = {
    "core0.replay.accesses": 20, "core1.replay.accesses": 10, "core0.replay.switches": 5,
    "core1.replay.switches": 0, "core0.mmu.cr3_writes": 7, "core1.mmu.cr3_writes": 2,
    "core0.mmu.tlb.l1d.misses": 6, "core0.mmu.tlb.l1d.hits": 14, "core1.mmu.tlb.l1d.misses": 1,
    "core1.mmu.tlb.l1d.hits": 9, "os.pgfault": 3,
}
# 4. The same with replay.affinity [1, 1, 0]: a and b on core 1, c alone
# on core 0: core 1 now has core 0's counts above and core 0 core 1's.
AFFINITY_WANT = {
    "core0.replay.accesses": 10, "core1.replay.accesses": 20, "core0.replay.switches": 0,
    "core1.replay.switches": 5, "core0.mmu.cr3_writes": 2, "core1.mmu.cr3_writes": 7, "os.pgfault": 3,
}
# 5. Migration: trace a alone (10 reads of one page), cores 2,
# replay.migrate_interval 4: core 0 runs reads 1-4 and moves the task to
# core 1 (core 0 goes idle, keeping the mm loaded), core 1 runs 5-8 and
# moves it back, core 0 runs 9-10. Accesses 6 and 4; one migration each.
# CR3 writes: core 0 the idle root and a's process (coming back to an mm
# still loaded loads nothing) = 2; core 1 the idle root and a = 2. l1d:
# core 0 misses read 1 (the fault's retry is not counted) and hits 2-4 and
# 9-10 (its TLB kept the entry): 1 miss, 5 hits; core 1 misses read 5 and
# hits 6-8: 1 miss, 3 hits. No switches (a core picks the task up from
# idle). One fault.
MIGRATE_WANT = {
    "core0.replay.accesses": 6, "core1.replay.accesses": 4, "core0.replay.migrations": 1,
    "core1.replay.migrations": 1, "replay.migrations": 2, "core0.mmu.cr3_writes": 2, "core1.mmu.cr3_writes": 2,
    "core0.mmu.tlb.l1d.misses": 1, "core0.mmu.tlb.l1d.hits": 5, "core1.mmu.tlb.l1d.misses": 1,
    "core1.mmu.tlb.l1d.hits": 3, "replay.switches": 0, "os.pgfault": 1,
}
# With replay.affinity [0] the task is pinned: it never migrates.
PINNED_MIGRATE_WANT = {"core0.replay.accesses": 10, "core1.replay.accesses": 0, "replay.migrations": 0}

# 6. Read-ahead beyond the buffer (65536 records per trace): thread 2
# (core 1) reads once, then thread 1 (core 0) reads 100000 times, then
# thread 2 once more. Core 1 reads ahead for thread 2's second record and
# stops at the cap until core 0 has run enough of thread 1's: the run ends
# with every record run, 100000 accesses on core 0 and 2 on core 1.
AHEAD = ("@mmap 0x10000000 0x2000 rw-\n@clone 2\n@thread 2\nR 0x10001000 8\n@thread 1\n" +
         pages_trace(0x10000000, 100000 // 100) * 100 + "@thread 2\nR 0x10001000 8\n")
AHEAD_WANT = {"core0.replay.accesses": 100000, "core1.replay.accesses": 2}


def det_trace():
    # Four threads, fences (@mprotect, @munmap, @mmap) between their
    # stretches of writes and reads, for the determinism check.
    lines = ["@mmap 0x10000000 0x400000 rw-"]
    for t in range(2, 5):
        lines.append(f"@clone {t}")
    for r in range(3):
        for t in range(1, 5):
            lines.append(f"@thread {t}")
            base = 0x10000000 + t * 0x40000
            lines += ["W 0x%x 8" % (base + ((i * 7919) % 64) * 4096 + r * 64) for i in range(300)]
        lines.append("@thread 1")
        lines.append("@mprotect 0x%x 0x10000 r--" % (0x10000000 + 0x40000))
        lines.append("@munmap 0x%x 0x4000" % (0x10000000 + 0x300000))
        lines.append("@mprotect 0x%x 0x10000 rw-" % (0x10000000 + 0x40000))
    return "\n".join(lines) + "\n"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        two = write(tmp, "two.txt", TWO)
        expect("two threads, two cores", run(tmp, "two", [two], ["cores=2"])[0], TWO_WANT)
        expect("two threads, one core", run(tmp, "two1", [two])[0], TWO_ONE_CORE_WANT)
        expect("two threads pinned to core 0", run(tmp, "two_pin", [two], ["cores=2", "replay.affinity=[0]"])[0],
               TWO_PINNED_WANT)
        fence = write(tmp, "fence.txt", FENCE)
        expect("munmap fence", run(tmp, "fence", [fence], ["cores=2"], ["--check-invariants"])[0], FENCE_WANT)
        abc = [write(tmp, f"{n}.txt", pages_trace(b, 10)) for n, b in (("a", 0x10000000), ("b", 0x20000000),
                                                                       ("c", 0x30000000))]
        expect("3 traces, 2 cores", run(tmp, "slice", abc, ["cores=2", "replay.switch_interval=4"])[0], SLICE_WANT)
        expect("affinity", run(tmp, "aff", abc, ["cores=2", "replay.switch_interval=4",
                                                 "replay.affinity=[1,1,0]"])[0], AFFINITY_WANT)
        expect("migration", run(tmp, "mig", abc[:1], ["cores=2", "replay.migrate_interval=4"])[0], MIGRATE_WANT)
        expect("pinned, no migration",
               run(tmp, "mig_pin", abc[:1], ["cores=2", "replay.migrate_interval=4", "replay.affinity=[0]"])[0],
               PINNED_MIGRATE_WANT)
        ahead = write(tmp, "ahead.txt", AHEAD)
        expect("read-ahead cap", run(tmp, "ahead", [ahead], ["cores=2"])[0], AHEAD_WANT)
        # No new statistic without migration: replay.migrations exists only
        # with replay.migrate_interval > 0.
        s, _ = run(tmp, "nomig", abc, ["cores=2"])
        if any("migrations" in k for k in s):
            failures.append("replay.migrations registered without replay.migrate_interval")
        # Determinism: four threads on three cores with shared caches and
        # DRAM, migration on, run twice, once with --threads 2: the same
        # stats.csv byte for byte.
        det = write(tmp, "det.txt", det_trace())
        sets = ["cores=3", "replay.migrate_interval=500", "replay.switch_interval=200"]
        _, a = run(tmp, "det1", [det, abc[1]], sets, config="x86_64-caches.yaml")
        _, b = run(tmp, "det2", [det, abc[1]], sets, ["--threads", "2"], config="x86_64-caches.yaml")
        _, c = run(tmp, "det3", [det, abc[1]], sets, config="x86_64-caches.yaml")
        with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
            da = fa.read()
            if da != fb.read() or da != fc.read():
                failures.append("three identical multi-threaded runs gave different stats.csv")
        d, _ = run(tmp, "det_check", [det], sets, ["--check-invariants"])
        # 4 threads x 3 rounds x 300 writes.
        expect("determinism trace", d, {"replay.accesses": 3600})
        # 9. Two threads write the same new page in one stretch (no fence
        # between): both cores' walks find it absent at the same simulated
        # time; the arbiter lets core 0's fault in first (a page of its own:
        # demand zero), and core 1's fault then finds the entry present.
        # handle_pte_fault() decides on the entry, not the error code: a
        # spurious fault, no second page (before the fix: a second page mapped
        # over the first, "rss 2 but maps 1" under --check-invariants). So 2
        # page faults, both minor, one page in the process.
        race = write(tmp, "race.txt", "@mmap 0x10000000 0x4000 rw-\n@clone 2\n@thread 1\nW 0x10000000 8\n"
                     "@thread 2\nW 0x10000000 8\n")
        st, _ = run(tmp, "race", [race], ["cores=2"], ["--check-invariants"])
        expect("same page, two cores", st, {"os.pgfault": 2, "os.faults.minor": 2, "core0.replay.retries": 1,
                                             "core1.replay.retries": 1})
        # 8. The bundled multi-threaded trace (xz -T2: a main thread and two
        # workers, 19.4 M accesses) on 2, 3 and 4 cores: every record runs,
        # so each run replays exactly the accesses of the one-core run (which
        # has no scheduler). Two bugs fixed here failed it: a core waiting in
        # the OS model kept a reference to its buffered record while another
        # core's read-ahead grew that ring (a crash on 2 cores), and with 4
        # cores the idle core 3 counted cores that a notify() had already
        # woken as waiting (a false "scheduler deadlock").
        mt = os.path.join(ROOT, "traces", "xz-compress-mt.bin.zst")
        one, _ = run(tmp, "mt1", [mt])
        for cores in (2, 3, 4):
            st, _ = run(tmp, f"mt{cores}", [mt], [f"cores={cores}"])
            expect(f"xz-compress-mt on {cores} cores", st, {"replay.accesses": one["replay.accesses"],
                                                            "replay.skipped": 0})
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(f"{len(failures)} failures")
    print("sched: every hand-derived count matches")


if __name__ == "__main__":
    main()
