#!/usr/bin/env python3
"""Per-CPU page lists, NUMA placement and private caches, end to end.

Every expected value is derived by hand in the comments below from Linux
6.1 (mm/page_alloc.c: init_per_zone_wmark_min, __setup_per_zone_wmarks,
zone_batchsize, zone_highsize, zone_statistics) and the model's rules
(README "Several cores"); none is read back from a run.

1. Two bundled traces on two cores and two nodes (8 GiB, the default), with
   --check-invariants (pages on the per-CPU lists are free, not leaked):
   - the zones: node 0 holds [0, 4 GiB): DMA (4096 frames less the 256
     reserved = 3840 managed) and DMA32 (1044480); node 1 holds Normal
     [4 GiB, 8 GiB) (1048576). lowmem = 2096896 pages = 8387584 KiB;
     min_free_kbytes = int_sqrt(16 * 8387584 = 134201344) = 11584
     (11584^2 = 134189056 <= it < 11585^2 = 134212225); pages_min = 2896.
     DMA32: min = 2896 * 1044480 / 2096896 = 1442, low = 1442 +
     max(1442 / 4, 1044480 * 10 / 10000 = 1044) = 2486. Normal: min = 2896
     * 1048576 / 2096896 = 1448, low = 1448 + max(362, 1048) = 2496. DMA:
     min = 5, low = 5 + max(1, 3) = 8.
   - batch (zone_batchsize): DMA32 and Normal: min(pages >> 10, 256) = 256,
     / 4 = 64, rounddown_pow_of_two(96) - 1 = 63; DMA: 3840 >> 10 = 3,
     / 4 = 0 -> 1, rounddown_pow_of_two(1) - 1 = 0 -> max(1, 0) = 1.
   - high (zone_highsize): one CPU per node (core c on node c * 2 / 2 = c),
     so low / 1, at least batch * 4: DMA32 2486, Normal 2496, DMA
     max(8, 4) = 8. Every CPU's pageset of a zone has the same values.
   - zone_statistics: each core's process faults on its own core, whose node
     has plenty of memory: every allocation is a hit on the allocating
     CPU's node, so numa_miss = numa_foreign = other_node = 0 and
     local_node = numa_hit on each node; interleave_hit is 0.
   - no DRAM access crosses nodes: each process's frames and page tables
     were allocated by its own core, on its node: remote_accesses 0.
2. One file page read by two processes on two nodes, with a private L1
   (memory.caches.l1.shared false, so each core's first read misses its own
   L1 and reaches DRAM): whichever core reads it first allocates the
   page-cache page on its own node and fills locally; the other core maps
   the same frame (a minor fault) and its fill crosses nodes. So exactly one
   remote DRAM access. The L1 statistics are per core (core<i>.memory.cache.l1.*),
   one data miss each, and no memory.cache.l1.* exists.
3. Keys: with cores 1 (defaults) no os.pcp.*, os.numa.* or memory.numa.*
   exist; os.pcp_lists false with two cores has none of os.pcp.*; true with
   one core has them (64 MiB: DMA32 12288 managed, batch 12 / 4 = 3, 3 + 1 = 4
   -> 3; high = low 240 / 1 CPU = 240, zone_test's watermarks of 64 MiB).

MMUSIM names the binary; NUMA_ACCESSES the accesses per trace (default 100000).
"""
import os
import sys
import tempfile

from mmusim_e2e import ROOT, run_mmusim  # tests/e2e/mmusim_e2e.py
ACCESSES = os.environ.get("NUMA_ACCESSES", "100000")
TRACES = [os.path.join(ROOT, "traces", t) for t in ("sort-words.bin.zst", "python-dict.bin.zst")]

failures = []


def run(tmp, name, traces, sets, extra=()):
    return run_mmusim(os.path.join(tmp, name), traces, sets,
                      ["--max-accesses", ACCESSES, "--check-invariants"] + list(extra))[0]


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got}, want {want}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # 1.
        s = run(tmp, "two-nodes", TRACES, ["cores=2", "os.numa_nodes=2", "memory.controller.model=fixed"])
        sizes = {"node0.DMA": ("8", "1"), "node0.DMA32": ("2486", "63"), "node1.Normal": ("2496", "63")}
        for zone, (high, batch) in sizes.items():
            for cpu in range(2):
                expect(f"os.pcp.{zone}.cpu{cpu}.high", s.get(f"os.pcp.{zone}.cpu{cpu}.high"), high)
                expect(f"os.pcp.{zone}.cpu{cpu}.batch", s.get(f"os.pcp.{zone}.cpu{cpu}.batch"), batch)
        for n in range(2):
            g = f"os.numa.node{n}."
            for k in ("numa_miss", "numa_foreign", "other_node", "interleave_hit"):
                expect(g + k, s.get(g + k), "0")
            expect(g + "local_node", s.get(g + "local_node"), s.get(g + "numa_hit"))
            if int(s.get(g + "numa_hit", "0")) == 0:
                failures.append(f"{g}numa_hit: node {n} allocated nothing")
            # The older os.node<N>.numa_hit counts the same events.
            expect(f"os.node{n}.numa_hit", s.get(f"os.node{n}.numa_hit"), s.get(g + "numa_hit"))
        expect("memory.numa.remote_accesses", s.get("memory.numa.remote_accesses"), "0")
        # The lists' pages: allocations = refills' pages + frees - pages left
        # and returned in bulk (every page that entered a list left it once).
        pcp_in = int(s["os.pcp.refill_pages"]) + int(s["os.pcp.free"])
        pcp_out = int(s["os.pcp.alloc"]) + int(s["os.pcp.bulk_free_pages"]) + int(s["os.pcp.pages"])
        expect("per-CPU list pages in = out + left", pcp_in, pcp_out)
        # 2.
        for i, (pid, base) in enumerate(((1, 0x10000000), (2, 0x20000000))):
            with open(os.path.join(tmp, f"file{i}.txt"), "w") as f:
                f.write(f"@proc {pid}\n@mmap 0x{base:x} 0x1000 r-- file=lib\nR 0x{base:x} 8\n")
        s = run(tmp, "file", [os.path.join(tmp, "file0.txt"), os.path.join(tmp, "file1.txt")],
                ["cores=2", "os.numa_nodes=2", "memory.caches.l1.size=32KiB", "memory.caches.l1.shared=false"])
        expect("file: memory.numa.remote_accesses", s.get("memory.numa.remote_accesses"), "1")
        for i in range(2):
            expect(f"file: core{i}.memory.cache.l1.data_misses", s.get(f"core{i}.memory.cache.l1.data_misses"), "1")
        expect("file: no shared l1 statistics", [k for k in s if k.startswith("memory.cache.l1.")], [])
        # 3.
        s = run(tmp, "one-core", TRACES[:1], [])
        expect("cores 1: new statistics", [k for k in s if k.startswith(("os.pcp.", "os.numa.", "memory.numa."))], [])
        s = run(tmp, "off", TRACES, ["cores=2", "os.pcp_lists=false"])
        expect("pcp_lists false: os.pcp.*", [k for k in s if k.startswith("os.pcp.")], [])
        s = run(tmp, "on", TRACES[:1], ["os.pcp_lists=true", "os.memory=64MiB"])
        expect("pcp_lists true, 64 MiB: DMA32 batch", s.get("os.pcp.node0.DMA32.cpu0.batch"), "3")
        expect("pcp_lists true, 64 MiB: DMA32 high", s.get("os.pcp.node0.DMA32.cpu0.high"), "240")
    for f in failures[:50]:
        print("FAIL:", f)
    if failures:
        sys.exit(f"{len(failures)} mismatches")
    print("numa: per-CPU lists, NUMA counters and private caches as derived")


if __name__ == "__main__":
    main()
