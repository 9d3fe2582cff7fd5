#!/usr/bin/env python3
"""Threads in traces: @clone TID and @thread TID, end to end.

Every expected count is worked out by hand beside its trace:
the OS model creates process 1 at the first record, @clone makes a task
that shares its mm (no page tables, no copy: kernel/fork.c copy_process
with CLONE_VM), and @thread switches the stream to a task of the same mm
without a CR3 load (switch_mm_irqs_off returns early when prev == next).
MMUSIM names the binary.
"""
import os
import subprocess
import sys
import tempfile

from mmusim_e2e import MMUSIM, run_mmusim  # tests/e2e/mmusim_e2e.py
failures = []


def write(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run(tmp, name, traces, sets=()):
    return run_mmusim(os.path.join(tmp, name), traces, sets, ["--set", "memory.controller.model=fixed"])[0]


def expect(what, stats, want):
    for k, v in want.items():
        if stats.get(k) != str(v):
            failures.append(f"{what}: {k} = {stats.get(k)}, want {v}")


# Two tasks of one mm. W 0x10000000 faults (demand zero, fault 1); thread
# 2 reads the same page: no fault, and an L1 DTLB hit, as no CR3 load came
# between; thread 2's store to the next page faults (fault 2); thread 1
# then reads that page without a fault: the mm is shared. One process, CR3
# loaded twice (the idle root at boot, process 1), 4 events, 2 retries;
# l1d: 4 lookups, the two first touches miss, the two reads hit.
SHARED = """@mmap 0x10000000 0x4000 rw-
W 0x10000000 8
@clone 2
@thread 2
R 0x10000000 8
W 0x10001000 8
@thread 1
R 0x10001000 8
"""
SHARED_WANT = {
    "os.pgfault": 2, "os.processes": 1, "os.forks": 0, "mmu.cr3_writes": 2, "replay.events": 4,
    "replay.retries": 2, "mmu.tlb.l1d.accesses": 4, "mmu.tlb.l1d.hits": 2, "mmu.tlb.l1d.misses": 2,
}

# The same with @fork 2 / @proc 2 instead: the child has its own mm
# (copy-on-write). CR3 loads: the idle root, process 1, the parent's full
# flush at the end of dup_mmap (flush_tlb_mm -> flush_tlb_local, a CR3
# write without PCIDs), the child, the parent again: 5. The child's read of the first page finds it mapped by
# copy_page_range (no fault) but the TLB flushed by the CR3 load (a miss);
# its store to the second page faults in its own mm (fault 2), and the
# parent's read of that page faults again (fault 3): not shared.
FORKED = SHARED.replace("@clone 2", "@fork 2").replace("@thread", "@proc")
FORKED_WANT = {"os.pgfault": 3, "os.processes": 2, "os.forks": 1, "mmu.cr3_writes": 5, "replay.retries": 3}

# @exit in a thread is exit_group(): process 1 ends with every thread, so
# after @thread 1 the read is a dead process's record: skipped, no fault.
EXIT = """@mmap 0x10000000 0x1000 rw-
@clone 2
@thread 2
@exit
@thread 1
R 0x10000000 8
"""
EXIT_WANT = {"replay.skipped": 1, "replay.accesses": 0, "os.pgfault": 0, "os.processes": 1}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        shared = write(tmp, "shared.txt", SHARED)
        expect("shared mm", run(tmp, "shared", [shared]), SHARED_WANT)
        expect("fork instead", run(tmp, "forked", [write(tmp, "forked.txt", FORKED)]), FORKED_WANT)
        expect("exit_group", run(tmp, "exit", [write(tmp, "exit.txt", EXIT)]), EXIT_WANT)
        # Two traces, each with its thread 2: tids are per trace, as pids
        # are (global ids 1, 2 for trace A's tasks, 3, 4 for B's), so each
        # trace's run gives twice the counts (faults, retries) on one core.
        s = run(tmp, "two", [shared, shared])
        expect("two traces", s, {"os.pgfault": 4, "os.processes": 2, "replay.retries": 4})
        # On two cores, each trace pinned to its core (replay.affinity), a
        # trace's threads are tasks of that core's run queue, and between
        # two events (fences: @clone here) they run in the core's order,
        # not the file's (test_sched.py): thread 1 keeps the core while it
        # can run, so after @clone its @thread 1 and R 0x10001000 run
        # first: a read fault (the zero page), then thread 2's R hits and
        # its W 0x10001000 takes a write fault on the zero page: 3 faults
        # and 3 retries per trace.
        s = run(tmp, "two2", [shared, shared], ["cores=2", "replay.affinity=[0,1]"])
        expect("two traces, two cores", s, {"os.pgfault": 6, "os.processes": 2, "replay.retries": 6})
        # bin: mmusim convert round-trips the new records, and the bin trace
        # replays to the same statistics.
        b = os.path.join(tmp, "shared.bin")
        back = os.path.join(tmp, "back.txt")
        for args in (["convert", shared, b], ["convert", b, back]):
            r = subprocess.run([MMUSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit(f"FAIL: mmusim {' '.join(args)}: {r.stderr}")
        with open(back) as f:
            if f.read() != SHARED.replace("rw-", "rw- anon"):
                failures.append("text -> bin -> text changed the trace")
        expect("shared mm (bin)", run(tmp, "shared_bin", [b]), SHARED_WANT)
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(f"{len(failures)} failures")
    print("threads: every hand-derived count matches")


if __name__ == "__main__":
    main()
