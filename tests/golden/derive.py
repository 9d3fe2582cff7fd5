#!/usr/bin/env python3
"""Independent derivation of golden statistics from the trace itself.

For each golden case whose README says "derived:", recomputes some expected
counters straight from the lackey trace (no simulator code involved) and
checks that the case's expected.csv agrees:

- replay.accesses, .loads, .stores, .ifetches, .modifies: records by kind;
- replay.page_crossings: accesses whose bytes span two 4 KiB pages;
- os.faults.minor and replay.retries: with demand paging of 4 KiB pages
  (os.thp: never, implicit VMAs - anonymous memory -, no swap) Linux 6.1
  takes one fault at the first touch of each distinct page and, when that
  touch is a load or a fetch, maps the shared zero page read-only
  (do_anonymous_page without FAULT_FLAG_WRITE), so that the first store or
  read-modify-write to the page later faults again (do_wp_page ->
  wp_page_copy): faults = distinct pages + pages read before their first
  write, each followed by one re-execution; os.zero_page.maps and
  .replaced count the two kinds;
- os.pgtable_pages: page-table pages for the touched pages - one per distinct
  2 MiB region (PT), 1 GiB region (PD), 512 GiB region (PDPT), 256 TiB region
  (PML4, 5-level only), plus the process's root and the OS model's idle root
  (the CR3 before the first process, counted by os.pgtable_pages);
- with os.thp: always, every implicit VMA is an aligned 2 MiB region. Its
  first touch faults: a store maps a whole 2 MiB page (os.thp.alloc), a load
  or fetch the huge zero page (do_huge_pmd_anonymous_page with
  use_zero_page, os.zero_page.huge_maps). In a region mapped by the huge
  zero page the first store splits it into a page table of zero-page PTEs
  (do_huge_pmd_wp_page -> __split_huge_zero_page_pmd, into the PT page
  deposited with the huge PMD, so every region has its PT page) and
  replaces the zero page of its 4 KiB page, and every later first store to
  another 4 KiB page of it replaces that one: a fault each;
- for fully associative LRU level-1 TLBs (configs/small-tlb.yaml): misses of
  a brute-force LRU list over the data (or instruction) page stream (a
  store to a page mapped read-only hits, is refused, walks and faults, and
  its retry is not counted: the stream is unchanged);
- with os.fault_model: accesses (4-level, THP never, one process, implicit
  VMAs only), os.kernel.accesses: per fault, in trace order, current->mm
  and the mm (2), one vm_area_struct per probe of a binary search over the
  VMAs at that time - every implicit VMA is a maximal run of touched 2 MiB
  regions, as they merge -, the page-table entries read down to the first
  absent one or the leaf (1 to 4), two accesses per missing table (zero
  it, link it), then for a first store the page zeroed and its PTE
  written (2), for a first load or fetch only the PTE (1: the zero page
  needs no zeroing), and for a store to a zero-page mapping the new page
  zeroed and the PTE written (2); and replay.kernel_walks = 1: every frame
  involved lies in the linear map's first 1 GiB page of ZONE_NORMAL, global,
  never evicted from the 1 GiB TLB the user's 4 KiB pages do not use.

Usage: derive.py [CASE_DIR...]   (default: the cases listed below)
"""
import collections
import csv
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# case directory -> (trace, levels of paging, THP always?, {tlb stat prefix: (entries, data?)})
CASES = {
    "x86_64-ls-small": ("traces/ls-small.lackey.zst", 4, False, {}),
    "x86_64_la57-ls-small": ("traces/ls-small.lackey.zst", 5, False, {}),
    "x86_64-thp-always": ("traces/ls-small.lackey.zst", 4, True, {}),
    "small-tlb-ls-small": ("traces/ls-small.lackey.zst", 4, False,
                           {"mmu.tlb.l1d": (16, True), "mmu.tlb.l1i": (8, False)}),
    "x86_64-kernel-accesses": ("traces/ls-small.lackey.zst", 4, False, {}, True),
}


def vma_probes(runs, va):
    """Probes of find_vma's binary search over sorted [start, end) runs."""
    lo, hi, probes = 0, len(runs), 0
    while lo < hi:
        mid = (lo + hi) // 2
        probes += 1
        start, end = runs[mid]
        if end <= va:
            lo = mid + 1
        elif start > va:
            hi = mid
        else:
            break
    return probes


def kernel_accesses(faults):
    """os.kernel.accesses of the accesses fault model over the faults, in order."""
    regions, pts, pds, pdpts = set(), set(), set(), set()
    total = 0
    for kind, p in faults:
        runs = []  # the VMAs before the fault (a first touch creates its implicit VMA after the search)
        for r in sorted(regions):
            if runs and runs[-1][1] == r << 21:
                runs[-1][1] = (r + 1) << 21
            else:
                runs.append([r << 21, (r + 1) << 21])
        total += 2 + vma_probes(runs, p << 12)
        have = [p >> 27 in pdpts, p >> 18 in pds, p >> 9 in pts]
        reads = 1
        for h in have:
            if not h:
                break
            reads += 1
        if kind == "zero-write":
            total += 4 + 2  # PML4E..PTE all present; the new page zeroed, the PTE written
            continue
        total += reads + 2 * have.count(False) + (2 if kind == "write" else 1)
        pdpts.add(p >> 27)
        pds.add(p >> 18)
        pts.add(p >> 9)
        regions.add(p >> 9)
    return total


def records(trace):
    text = subprocess.run(["zstd", "-dc", os.path.join(ROOT, trace)], check=True,
                          capture_output=True, text=True).stdout
    for line in text.splitlines():
        if line.startswith("=="):
            continue
        kind = line[:2].strip()
        addr, size = line[2:].strip().split(",")
        yield kind, int(addr, 16), int(size)


def lru_misses(pages, entries):
    lru = collections.OrderedDict()
    misses = 0
    for p in pages:
        if p in lru:
            lru.move_to_end(p)
        else:
            misses += 1
            if len(lru) == entries:
                lru.popitem(last=False)
            lru[p] = True
    return misses


def derive(trace, levels, thp, tlbs, kernel=False):
    counts = collections.Counter()
    pages = set()
    state = {}          # page -> "zero" (mapped to the zero page) or "own"
    region_state = {}   # 2 MiB region (THP) -> "huge", "huge-zero" or "split"
    faults = []         # (kind, page) in trace order: "read", "write", "zero-write"
    thp_faults = 0
    data, inst = [], []
    for kind, addr, size in records(trace):
        counts[kind] += 1
        first, last = addr >> 12, (addr + size - 1) >> 12
        touched = [first] if first == last else [first, last]
        if len(touched) == 2:
            counts["crossing"] += 1
        write = kind in ("S", "M")
        for p in touched:
            pages.add(p)
            if thp:
                r = p >> 9
                st = region_state.get(r)
                if st is None:
                    thp_faults += 1
                    region_state[r] = "huge" if write else "huge-zero"
                elif write and st in ("huge-zero", "split") and state.get(p) != "own":
                    thp_faults += 1  # (the first one also splits the huge zero page)
                    region_state[r] = "split"
                    state[p] = "own"
                continue
            st = state.get(p)
            if st is None:
                state[p] = "own" if write else "zero"
                faults.append(("write" if write else "read", p))
            elif st == "zero" and write:
                state[p] = "own"
                faults.append(("zero-write", p))
        (inst if kind == "I" else data).extend(touched)
    regions = len({p >> 9 for p in pages})  # 2 MiB
    splits = sum(1 for st in region_state.values() if st == "split")
    # With THP every region is mapped huge at its first touch (a 2 MiB page
    # or the huge zero page), and do_huge_pmd_anonymous_page deposits a PTE
    # page with each huge PMD (pte_alloc_one + pgtable_trans_huge_deposit,
    # counted by mm_inc_nr_ptes); a split withdraws that page into the tree.
    # So one PT page per region either way.
    pts = len(region_state) if thp else regions
    tables = 2 + pts + len({p >> 18 for p in pages}) + len({p >> 27 for p in pages})
    if levels == 5:
        tables += len({p >> 36 for p in pages})
    nfaults = thp_faults if thp else len(faults)
    d = {
        "replay.accesses": sum(counts[k] for k in "ILSM"),
        "replay.loads": counts["L"], "replay.stores": counts["S"],
        "replay.ifetches": counts["I"], "replay.modifies": counts["M"],
        "replay.page_crossings": counts["crossing"],
        "os.faults.minor": nfaults, "replay.retries": nfaults,
        "os.pgtable_pages": tables,
    }
    if thp:
        d["os.thp.alloc"] = sum(1 for st in region_state.values() if st == "huge")
        d["os.zero_page.huge_maps"] = sum(1 for st in region_state.values() if st != "huge")
        d["os.zero_page.huge_splits"] = splits
    else:
        d["os.zero_page.maps"] = sum(1 for k, _ in faults if k == "read")
        d["os.zero_page.replaced"] = sum(1 for k, _ in faults if k == "zero-write")
    if kernel:
        d["os.kernel.accesses"] = kernel_accesses(faults)
        d["replay.kernel_walks"] = 1
    for prefix, (entries, is_data) in tlbs.items():
        d[prefix + ".misses"] = lru_misses(data if is_data else inst, entries)
    return d


def main(argv):
    names = [os.path.basename(os.path.normpath(a)) for a in argv] or sorted(CASES)
    bad = 0
    for name in names:
        trace, levels, thp, tlbs, *kernel = CASES[name]
        with open(os.path.join(HERE, name, "expected.csv")) as f:
            expected = {row["path"]: int(row["value"]) for row in csv.DictReader(f)}
        for key, value in sorted(derive(trace, levels, thp, tlbs, *kernel).items()):
            ok = expected.get(key) == value
            bad += not ok
            print(f"{name}: {key}: derived {value}, expected.csv {expected.get(key)}{'' if ok else '  MISMATCH'}")
    print(f"derive: {'all agree' if not bad else f'{bad} mismatches'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
