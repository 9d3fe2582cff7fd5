#!/usr/bin/env python3
"""TLB shootdowns with several cores (models/os/arch/tlb.h), end to end.

Today a trace's threads run on its own core, so two cores share an mm only
through the kernel: reclaim running on one core (for its process's fault)
swaps out pages of the process loaded on the other core, and the OOM killer
on one core ends the process running on the other. Both must shoot down the
other core's TLB (flush_tlb_mm_range -> native_flush_tlb_multi) and pass
--check-invariants (no core hits a stale translation; the OS invariants).

1. Cross-core reclaim: traces a and b each write 2048 pages (8 MiB) twice,
   on two cores sharing 16 MiB of memory with 32 MiB of swap. Derived
   relations, not numbers taken from a run:
   - with two cores every native_flush_tlb_multi that sends an IPI sends
     exactly one (to the other core), so os.tlb.shootdowns == ipis_sent ==
     remote_flush_received == the cores' replay.shootdown_irqs summed;
   - reclaim flushes one page per flush_tlb_mm_range (try_to_unmap ->
     ptep_clear_flush), and the other core is one generation behind, so
     every remote flush is partial: remote_flush_one == ipis_sent,
     remote_flush_all == 0;
   - each handler costs the remote core os.tlb.ipi_handler_cycles +
     invlpg_cycles (one page): shootdown_stall_cycles == irqs * (700 + 100);
   - each wait is send + delivery + handler + ack = 150 + 1200 + 800 + 300 =
     2450: ipi_wait_cycles min == max == 2450, sum == 2450 * shootdowns.
   The same run with os.tlb.ipi_handler_cycles=10000 charges 10100 per IRQ
   and waits 150 + 1200 + 10100 + 300 = 11750.
2. The OOM killer across cores (test_smp.py's case, 16 MiB, no swap): the
   victim's core is running it; exit_mmap's flush has freed_tables and
   reaches it: the core goes to init_mm (os.tlb.lazy_switched >= 1, one IPI
   each, handler 700 + full flush 200).
3. One core: no os.tlb.* and no replay.shootdown_* statistic at all.

MMUSIM names the binary.
"""
import os
import sys
import tempfile

from mmusim_e2e import run_mmusim  # tests/e2e/mmusim_e2e.py

failures = []


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got}, want {want}")


def run(tmp, name, traces, sets):
    return run_mmusim(os.path.join(tmp, name), traces, sets, ["--check-invariants"])[0]


def write_traces(tmp, pages, rounds, stride_reads=False):
    paths = []
    for n, base in (("a.txt", 0x10000000), ("b.txt", 0x20000000)):
        lines = ["@mmap 0x%x 0x%x rw-" % (base, pages * 4096)]
        for _ in range(rounds):
            for i in range(pages):
                lines.append("W 0x%x 8" % (base + i * 4096))
                if stride_reads:
                    lines.append("R 0x%x 8" % (base + (i // 2) * 4096))
        paths.append(os.path.join(tmp, f"{pages}-{n}"))
        with open(paths[-1], "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths


def i(s, k):
    return int(s[k])


def reclaim_case(tmp, traces, handler):
    sets = ["cores=2", "os.memory=16MiB", "os.swap.size=32MiB"]
    if handler != 700:
        sets.append(f"os.tlb.ipi_handler_cycles={handler}")
    s = run(tmp, f"reclaim-{handler}", traces, sets)
    tag = f"reclaim (handler {handler})"
    ipis = i(s, "os.tlb.ipis_sent")
    if i(s, "os.vmstat.pswpout") == 0 or ipis == 0:
        failures.append(f"{tag}: no swap-out or no IPI (pswpout {s['os.vmstat.pswpout']}, ipis {ipis})")
    irqs = i(s, "core0.replay.shootdown_irqs") + i(s, "core1.replay.shootdown_irqs")
    expect(f"{tag} shootdowns", i(s, "os.tlb.shootdowns"), ipis)
    expect(f"{tag} remote_flush_received", i(s, "os.tlb.remote_flush_received"), ipis)
    expect(f"{tag} IRQs taken by the cores", irqs, ipis)
    expect(f"{tag} replay.shootdown_irqs (the total)", i(s, "replay.shootdown_irqs"), ipis)
    expect(f"{tag} remote_flush_one", i(s, "os.tlb.remote_flush_one"), ipis)
    expect(f"{tag} remote_flush_all", i(s, "os.tlb.remote_flush_all"), 0)
    stall = i(s, "core0.replay.shootdown_stall_cycles") + i(s, "core1.replay.shootdown_stall_cycles")
    expect(f"{tag} stall cycles", stall, irqs * (handler + 100))
    wait = 150 + 1200 + handler + 100 + 300
    expect(f"{tag} wait min", i(s, "os.tlb.ipi_wait_cycles.min"), wait)
    expect(f"{tag} wait max", i(s, "os.tlb.ipi_wait_cycles.max"), wait)
    expect(f"{tag} wait count", i(s, "os.tlb.ipi_wait_cycles.count"), ipis)
    expect(f"{tag} wait sum", i(s, "os.tlb.ipi_wait_cycles.sum"), wait * ipis)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        traces = write_traces(tmp, 2048, 2)
        reclaim_case(tmp, traces, 700)
        reclaim_case(tmp, traces, 10000)

        oom = write_traces(tmp, 4096, 1, stride_reads=True)
        s = run(tmp, "oom", oom, ["cores=2", "os.memory=16MiB", "paging.pcid=true"])
        expect("oom os.oom_kills", s["os.oom_kills"], "2")
        if i(s, "os.tlb.lazy_switched") < 1:
            failures.append("oom: no lazy CPU moved to init_mm by exit_mmap's flush")
        irqs = i(s, "core0.replay.shootdown_irqs") + i(s, "core1.replay.shootdown_irqs")
        expect("oom IRQs taken by the cores", irqs, i(s, "os.tlb.ipis_sent"))

        one = run(tmp, "one", traces[:1], ["os.memory=16MiB", "os.swap.size=32MiB"])
        extra = [k for k in one if k.startswith("os.tlb.") or ".shootdown_" in k]
        expect("one core: os.tlb.* and replay.shootdown_* statistics", extra, [])
    for f in failures[:50]:
        print("FAIL:", f)
    if failures:
        sys.exit(f"{len(failures)} mismatches")
    print("shootdown: cross-core reclaim and OOM kills shoot down the other core's TLB")


if __name__ == "__main__":
    main()
