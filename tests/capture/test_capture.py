#!/usr/bin/env python3
"""Tests of scripts/capture-trace's conversion of a valgrind log into
mmusim's text/bin formats (accesses plus the OS events made from the
program's system calls).  Standard library only; no valgrind needed.

The main input is tiny_mmap.valgrind.log, a committed valgrind log of
tiny_mmap.c (see README.md here for how it was made).  The events expected
from it are written out below by hand from the C source, not pasted from the
script's output.  The other tests feed small hand-written log snippets in
valgrind 3.19's formats.

Run:  python3 tests/capture/test_capture.py [-v]
The tests that run the script as a command need zstd; the bin tests need the
mmusim binary: $MMUSIM, else build/mmusim of the repository (skipped if
neither exists).
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "scripts", "capture-trace")
LOG = os.path.join(HERE, "tiny_mmap.valgrind.log")

sys.dont_write_bytecode = True      # no __pycache__ next to scripts/
sys.path.insert(0, os.path.join(REPO, "scripts"))
import mmusim_capture as ct  # noqa: E402  (scripts/mmusim_capture/)


def mmusim_binary():
    for path in (os.environ.get("MMUSIM"), os.path.join(REPO, "build", "mmusim")):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def log_lines():
    with open(LOG, "rb") as f:
        return f.readlines()


def convert(lines, fmt="text", skip=0, limit=None):
    out, router = ct.convert_log_lines(lines, fmt, skip, limit)
    return out.decode().splitlines(), router


def snippet(text):
    """Hand-written log lines (str, one per line) as bytes lines."""
    return [(line + "\n").encode() for line in text.strip("\n").split("\n")]


def events(lines):
    return [ln for ln in lines if ln.startswith("@")]


# ---------------------------------------------------------------------------
# What tiny_mmap.c does, step by step (see the comments there).  B is the
# initial break, which the C source does not fix; the accesses listed are the
# program's volatile accesses to its own regions, in program order.

A, F, M, H = 0x10000000, 0x10100000, 0x10200000, 0x10400000


def expected_tiny(b):
    return [
        "@mmap 0x10000000 0x4000 rw- anon",      # 1. 4 pages rw
        "W 0x10000010 4",
        "W 0x10003008 8",
        "M 0x10000020 4",                        #    addl $7, (A+0x20)
        # 2. mprotect(A+1, ...) fails (EINVAL): no event
        "@mprotect 0x10001000 0x1000 r--",       # 3. length 100 rounds up
        "R 0x10001020 2",
        "@munmap 0x10003000 0x1000",             # 4.
        "@mmap 0x10100000 0x2000 r-x file",      # 5. memfd, 5000 bytes
        "R 0x10101001 1",
        "@munmap 0x10001000 0x1000",             # 6. mremap moves the r-- page
        "@mmap 0x10200000 0x3000 r-- anon",      #    ... to M, 3 pages, still r--
        "R 0x10202002 2",
        "@mmap 0x10003000 0x1000 rw- anon",      # 7. mremap grows in place
        "W 0x10003040 8",
        "@munmap 0x10003000 0x1000",             # 8. mremap shrinks in place
        "@mmap 0x10400000 0x200000 rw- anon",    # 9. 2 MiB ...
        "@mmap 0x10400000 0x200000 rw- anon huge",  # ... then MADV_HUGEPAGE
        "W 0x10401234 4",
        "@brk 0x%x" % b,                         # 10. brk(0): the initial break
        "@brk 0x%x" % (b + 0x3000),              #     grow by 3 pages
        "W 0x%x 8" % (b + 0x2018),
        "@brk 0x%x" % (b + 0x2000),              #     shrink by 1; brk(0): no event
        "R 0x%x 8" % (b + 0x1030),
        "@munmap 0x10100000 0x2000",             # 11.
        "@exit",                                 # 12. exit_group(0)
    ]


def access_addr(line):
    return int(line.split()[1], 16)


class VmaModel:
    """An independent little model of the address space the events build,
    to check that every access lands in a mapping that allows it."""

    def __init__(self):
        self.pages = {}     # page number -> prot string
        self.brk_start = self.brk_end = None

    def apply(self, line):
        f = line.split()
        if f[0] == "@mmap" or f[0] == "@mprotect":
            start, length = int(f[1], 16), int(f[2], 16)
            for p in range(start >> 12, (start + length + 4095) >> 12):
                if f[0] == "@mmap" or p in self.pages:
                    self.pages[p] = f[3]
        elif f[0] == "@munmap":
            start, length = int(f[1], 16), int(f[2], 16)
            for p in range(start >> 12, (start + length + 4095) >> 12):
                self.pages.pop(p, None)
        elif f[0] == "@brk":
            end = (int(f[1], 16) + 4095) >> 12
            if self.brk_start is None:
                self.brk_start = self.brk_end = end
                return
            for p in range(self.brk_end, end):
                self.pages[p] = "rw-"
            for p in range(end, self.brk_end):
                self.pages.pop(p, None)
            self.brk_end = end

    def allows(self, line):
        kind, addr = line.split()[0], access_addr(line)
        size = int(line.split()[2])
        need = {"R": "r", "W": "w", "M": "w", "X": "x"}[kind]
        for p in {addr >> 12, (addr + size - 1) >> 12}:
            prot = self.pages.get(p)
            if prot is None or need not in prot:
                return False
        return True


class TinyMmapLog(unittest.TestCase):
    """The committed log of tiny_mmap.c."""

    @classmethod
    def setUpClass(cls):
        cls.lines, cls.router = convert(log_lines())

    def brk_base(self):
        brks = [ln for ln in self.lines if ln.startswith("@brk ")]
        self.assertTrue(brks, "no @brk event")
        return int(brks[0].split()[1], 16)

    def test_program_events_and_accesses_in_order(self):
        b = self.brk_base()
        first_access = next(i for i, ln in enumerate(self.lines) if not ln.startswith("@"))
        got = []
        for ln in self.lines[first_access:]:
            if ln.startswith("@"):
                got.append(ln)
            elif A <= access_addr(ln) < H + 0x200000 or b <= access_addr(ln) < b + 0x3000:
                got.append(ln)
        self.assertEqual(got, expected_tiny(b))

    def test_startup_mappings_come_first(self):
        first_access = next(i for i, ln in enumerate(self.lines) if not ln.startswith("@"))
        prefix = self.lines[:first_access]
        self.assertTrue(prefix and all(ln.startswith("@mmap ") for ln in prefix), prefix)
        self.assertEqual(self.router.initial_mappings, len(prefix))
        # The executable's code holds the first instruction; the stack, with
        # valgrind's growth reservation below it (8 MiB in all), the first store.
        model = VmaModel()
        for ln in prefix:
            model.apply(ln)
        first_x = next(ln for ln in self.lines if ln.startswith("X "))
        first_w = next(ln for ln in self.lines if ln.startswith("W "))
        self.assertTrue(model.allows(first_x), first_x)
        self.assertTrue(model.allows(first_w), first_w)
        stack = [ln for ln in prefix if ln.endswith(" rw- anon")
                 and int(ln.split()[1], 16) <= access_addr(first_w)
                 < int(ln.split()[1], 16) + int(ln.split()[2], 16)]
        self.assertEqual(len(stack), 1, prefix)
        self.assertEqual(int(stack[0].split()[2], 16), 8 << 20)

    def test_every_access_is_in_a_mapping_that_allows_it(self):
        model = VmaModel()
        bad = []
        for ln in self.lines:
            if ln.startswith("@"):
                model.apply(ln)
            elif not model.allows(ln):
                bad.append(ln)
        self.assertEqual(bad, [])

    def test_counts(self):
        accesses = [ln for ln in self.lines if not ln.startswith("@")]
        raw = [ln for ln in log_lines() if ln[:2] in (b"I ", b" L", b" S", b" M")]
        self.assertEqual(len(accesses), len(raw))
        # lackey's I/L/S/M are X/R/W/M, address and size unchanged
        for mine, theirs in zip(accesses, raw):
            t = theirs.decode()
            kind = {"I": "X", "L": "R", "S": "W", "M": "M"}[t[:2].strip()]
            addr, size = t[3:].strip().split(",")
            self.assertEqual(mine, "%s 0x%x %d" % (kind, int(addr, 16), int(size)))
        self.assertEqual(self.router.syscalls.notes, {})
        self.assertEqual(self.router.other, 0)

    def test_skip_keeps_every_event(self):
        n = sum(1 for ln in self.lines if not ln.startswith("@"))
        lines, _ = convert(log_lines(), skip=n - 3)
        self.assertEqual(events(lines), events(self.lines))
        accesses = [ln for ln in lines if not ln.startswith("@")]
        self.assertEqual(accesses, [ln for ln in self.lines if not ln.startswith("@")][-3:])

    def test_limit_stops_after_n_accesses(self):
        lines, _ = convert(log_lines(), limit=5)
        self.assertEqual(lines, self.lines[:len(lines)])
        self.assertEqual(sum(1 for ln in lines if not ln.startswith("@")), 5)
        self.assertFalse(lines[-1].startswith("@"))

    def test_lackey_output_is_the_records_only(self):
        out, router = ct.convert_log_lines(log_lines(), "lackey")
        raw = [ln for ln in log_lines() if ln[:2] in (b"I ", b" L", b" S", b" M")]
        self.assertEqual(out, b"".join(raw))
        self.assertEqual(router.sink.events_dropped, len(events(self.lines)))


class SyscallSnippets(unittest.TestCase):
    """valgrind 3.19's ways of printing syscalls, hand-written."""

    def test_one_line_forms_and_failures(self):
        lines, _ = convert(snippet("""
SYSCALL[100,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 16400, 1, 2050, 4, 0 ) --> [pre-success] Success(0x4837000) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 7, 262178, 4294967295, 0 ) --> [pre-success] Success(0x5000000) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 1073741824, 3, 2013528098, 4294967295, 0 ) --> [pre-success] Success(0x40000000) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 0, 34, 4294967295, 0 ) --> [pre-fail] Failure(0xc) 
SYSCALL[100,1](10) sys_mprotect ( 0x4837000, 4096, 5 )[sync] --> Success(0x0) 
SYSCALL[100,1](10) sys_mprotect ( 0x4837001, 4096, 5 )[sync] --> Failure(0x16) 
SYSCALL[100,1](10) sys_mprotect ( 0x4838000, 0, 1 )[sync] --> Success(0x0) 
SYSCALL[100,1](11) sys_munmap ( 0x4835000, 41699 )[sync] --> Success(0x0) 
SYSCALL[100,1](0) sys_read ( 4, 0x1ffeffecd8, 832 ) --> [async] ... 
SYSCALL[100,1](0) ... [async] --> Success(0x340) 
SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) 
"""))
        self.assertEqual(lines, [
            "@mmap 0x4835000 0x2000 rw- anon",
            "@mmap 0x4837000 0x5000 r-- file",          # 16400 bytes: 5 pages
            "@mmap 0x5000000 0x1000 rwx anon huge",     # MAP_HUGETLB (0x40000)
            # MAP_HUGETLB | MAP_HUGE_1GB (30 << 26) | MAP_ANONYMOUS | MAP_PRIVATE
            "@mmap 0x40000000 0x40000000 rw- anon hugetlb",
            "@mprotect 0x4837000 0x1000 r-x",
            "@munmap 0x4835000 0xb000",
            "@exit",
        ])

    def test_file_identity_from_open_and_openat(self):
        # The descriptor's path (open, openat at AT_FDCWD, dup2; close
        # forgets it) gives file=PATH, the mmap offset off=, MAP_SHARED (1)
        # shared; 2050 is MAP_PRIVATE | MAP_DENYWRITE.  A relative path
        # starts at the capture's directory; blank and '#' are written %XX.
        cwd = os.getcwd().encode().replace(b"%", b"%25").replace(b" ", b"%20").replace(b"#", b"%23").decode()
        lines, _ = convert(snippet("""
SYSCALL[100,1](257) sys_openat ( -100, 0x4a2b3c(/usr/lib/libc.so.6), 524288 ) --> [async] ... 
SYSCALL[100,1](257) ... [async] --> Success(0x3) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 8192, 5, 2050, 3, 4096 ) --> [pre-success] Success(0x4837000) 
SYSCALL[100,1](33) sys_dup2 ( 3, 7 ) --> [pre-success] Success(0x7) 
SYSCALL[100,1](3) sys_close ( 3 ) --> [pre-success] Success(0x0) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 3, 1, 3, 0 ) --> [pre-success] Success(0x5000000) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 3, 1, 7, 0 ) --> [pre-success] Success(0x6000000) 
SYSCALL[100,1](2) sys_open ( 0x1234(data dir/x#1), 2 ) --> [async] ... 
SYSCALL[100,1](2) ... [async] --> Success(0x4) 
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 1, 2, 4, 8192 ) --> [pre-success] Success(0x7000000) 
SYSCALL[100,1](25) sys_mremap ( 0x4837000, 8192, 8192, 0x3, 0x9000000 ) --> [pre-success] Success(0x9000000) 
"""))
        self.assertEqual(lines, [
            "@mmap 0x4837000 0x2000 r-x file=/usr/lib/libc.so.6 off=0x1000",
            "@mmap 0x5000000 0x1000 rw- file",                  # fd 3 closed: no identity
            "@mmap 0x6000000 0x1000 rw- file=/usr/lib/libc.so.6 shared",
            "@mmap 0x7000000 0x1000 r-- file=%s/data%%20dir/x%%231 off=0x2000" % cwd,
            "@munmap 0x4837000 0x2000",                         # moved: the same file pages
            "@mmap 0x9000000 0x2000 r-x file=/usr/lib/libc.so.6 off=0x1000",
        ])

    def test_async_halves(self):
        lines, _ = convert(snippet("""
SYSCALL[100,1](9) sys_mmap ( 0x0, 4096, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x7000000) 
SYSCALL[100,1](28) sys_madvise ( 0x7000000, 4096, 14 ) --> [async] ... 
I  04001000,3
SYSCALL[100,1](28) ... [async] --> Success(0x0) 
SYSCALL[100,1](28) sys_madvise ( 0x7000000, 4096, 4 ) --> [async] ... 
SYSCALL[100,1](28) ... [async] --> Success(0x0) 
SYSCALL[100,1](28) sys_madvise ( 0x7000000, 4096, 15 ) --> [async] ... 
SYSCALL[100,1](28) ... [async] --> Failure(0x16) 
"""))
        self.assertEqual(lines, [
            "@mmap 0x7000000 0x1000 rw- anon",
            "X 0x4001000 3",
            "@mmap 0x7000000 0x1000 rw- anon huge",     # MADV_HUGEPAGE at its result
        ])

    def test_brk(self):
        lines, _ = convert(snippet("""
SYSCALL[100,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x4035000) 
SYSCALL[100,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x4035000) 
SYSCALL[100,1](12) sys_brk ( 0x4056000 ) --> [pre-success] Success(0x4056000) 
SYSCALL[100,1](12) sys_brk ( 0x90000000000 ) --> [pre-success] Success(0x4056000) 
SYSCALL[100,1](12) sys_brk ( 0x4040000 ) --> [pre-success] Success(0x4040000) 
"""))
        self.assertEqual(lines, ["@brk 0x4035000", "@brk 0x4056000", "@brk 0x4040000"])

    def test_mremap(self):
        lines, _ = convert(snippet("""
SYSCALL[100,1](9) sys_mmap ( 0x0, 8192, 1, 2, 3, 0 ) --> [pre-success] Success(0x6000000) 
SYSCALL[100,1](25) sys_mremap ( 0x6000000, 8192, 16384, 0x1 ) --> [pre-success] Success(0x6000000) 
SYSCALL[100,1](25) sys_mremap ( 0x6000000, 16384, 4096, 0x0 ) --> [pre-success] Success(0x6000000) 
SYSCALL[100,1](25) sys_mremap ( 0x6000000, 4096, 65536, 0x1 ) --> [pre-success] Success(0x6100000) 
SYSCALL[100,1](25) sys_mremap ( 0x6800000, 4096, 8192, 0x1 ) --> [pre-success] Success(0x6900000) 
SYSCALL[100,1](25) sys_mremap ( 0x6100000, 65536, 131072, 0x0 ) --> [pre-fail] Failure(0xc) 
"""))
        self.assertEqual(lines, [
            "@mmap 0x6000000 0x2000 r-- file",
            "@mmap 0x6002000 0x2000 r-- file",          # grown in place: the new tail
            "@munmap 0x6001000 0x3000",                 # shrunk in place: the cut tail
            "@munmap 0x6000000 0x1000",                 # moved: old range away ...
            "@mmap 0x6100000 0x10000 r-- file",         # ... new one with its prot/kind
            "@munmap 0x6800000 0x1000",                 # unknown range: rw- anon
            "@mmap 0x6900000 0x2000 rw- anon",
        ])

    def test_fork_thread_and_other_processes(self):
        lines, router = convert(snippet("""
SYSCALL[100,1](58) sys_fork ( )   fork: process 100 created child 101
 --> [pre-success] Success(0x0) 
 --> [pre-success] Success(0x65) 
SYSCALL[101,1](9) sys_mmap ( 0x0, 4096, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4900000) 
SYSCALL[100,1](56) sys_clone ( 1200011, 0x0, 0x0, 0x4a2c000, 0x0 ) --> [pre-success] Success(0x66) 
SYSCALL[100,1](56) sys_clone ( 3d0f00, 0x522bf70, 0x522c990, 0x522c990, 0x522c6c0 ) --> [pre-success] Success(0x67) SYSCALL[100,2](9) sys_mmap ( 0x0, 4096, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x5200000) 
SYSCALL[100,2](60) exit( 0 ) --> [pre-success] Success(0x0) 
SYSCALL[100,1](435) unimplemented (by the kernel) syscall: 435! (ni_syscall)
 --> [pre-fail] Failure(0x26) 
SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) 
"""))
        self.assertEqual(lines, [
            "@fork 101",                       # fork: the parent's result, not the child's 0
            # pid 101's mmap: another process, ignored
            "@fork 102",                       # clone without CLONE_VM
            # clone with CLONE_VM: a thread, no event; its mmap counts
            "@mmap 0x5200000 0x1000 rw- anon",
            # a thread's exit is not the process's
            "@exit",
        ])
        self.assertEqual(router.syscalls.threads, 1)
        self.assertIn("syscalls of other processes (forked children) ignored", router.syscalls.notes)

    def test_record_run_into_a_syscall_line(self):
        lines, _ = convert(snippet("""
SYSCALL[100,1](11) sys_munmap ( 0x6000000, 4096 )[sync] --> Success(0x0) I  04001000,3
 S 1ffefff000,8
"""))
        self.assertEqual(lines, ["@munmap 0x6000000 0x1000", "X 0x4001000 3", "W 0x1ffefff000 8"])

    # valgrind --trace-sched=yes: the scheduler's lines, as valgrind 3.19
    # prints them (a clone's result runs into the parent's "releasing lock").
    SCHED_LOG = """
--100--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))
--100--   SCHED[1]: entering VG_(scheduler)
I  04001000,3
SYSCALL[100,1](56) sys_clone ( 3d0f00, 0x522bf70, 0x522c990, 0x522c990, 0x522c6c0 ) --> [pre-success] Success(0x65) --100--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding
--100--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))
--100--   SCHED[2]: entering VG_(scheduler)
 S 05000000,8
SYSCALL[100,2](9) sys_mmap ( 0x0, 4096, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x6000000) 
SYSCALL[100,2](0) sys_read ( 0, 0x1ffefff000, 8 ) --> [async] ... 
--100--   SCHED[2]: releasing lock (VG_(client_syscall)[async]) -> VgTs_WaitSys
--100--   SCHED[2]:  acquired lock (VG_(client_syscall)[async])
SYSCALL[100,2](0) ... [async] --> Success(0x8) 
 L 05000008,8
--100--   SCHED[2]: releasing lock (VG_(scheduler):timeslice) -> VgTs_Yielding
--100--   SCHED[1]:  acquired lock (VG_(vg_yield))

 L 04002000,4
--100--   SCHED[1]: releasing lock (VG_(scheduler):timeslice) -> VgTs_Yielding
--100--   SCHED[2]:  acquired lock (VG_(scheduler):timeslice)
SYSCALL[100,2](60) exit( 0 ) --> [pre-success] Success(0x0) 
--100--   SCHED[2]: exiting VG_(scheduler)
SCHEDSETJMP(line 1211) tid 2, jumped=1476724588
--100--   SCHED[2]: release lock in VG_(exit_thread)
--100--   SCHED[1]:  acquired lock (VG_(scheduler):timeslice)
SYSCALL[100,1](56) sys_clone ( 3d0f00, 0x5a2cf70, 0x5a2d990, 0x5a2d990, 0x5a2d6c0 ) --> [pre-success] Success(0x66) --100--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding
--200--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))
--100--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))
 M 07000000,4
--100--   SCHED[2]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding
--100--   SCHED[1]:  acquired lock (VG_(vg_yield))
SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) 
"""

    def test_threads_from_the_scheduler_lines(self):
        lines, router = convert(snippet(self.SCHED_LOG))
        self.assertEqual(lines, [
            "X 0x4001000 3",                    # valgrind thread 1: the main thread, trace thread 1
            # the clone's result: no event; the new thread starts when it first
            # takes the lock ("starting new thread"): @clone from the stream's
            # thread (1), then its records
            "@clone 2",
            "@thread 2",
            "W 0x5000000 8",
            "@mmap 0x6000000 0x1000 rw- anon",  # thread 2's mmap
            # the lock released and taken back by thread 2 (a blocking read):
            # no @thread
            "R 0x5000008 8",
            "@thread 1",                        # the time slice gives the lock to thread 1
            "R 0x4002000 4",
            # thread 2 takes the lock only to exit (nothing written for it),
            # then thread 1 clones again: valgrind gives the new thread the
            # freed id 2, the trace a new id, 3; process 200's line is ignored
            "@clone 3",
            "@thread 3",
            "M 0x7000000 4",
            "@thread 1",                        # exit_group by thread 1
            "@exit",
        ])
        self.assertEqual(router.threads.started, 3)
        self.assertEqual(router.threads.timeslices, 2)
        self.assertEqual(router.threads.clones, 2)
        self.assertEqual(router.syscalls.threads, 2)     # both clones had CLONE_VM
        self.assertEqual(router.thread_mismatches, 0)
        self.assertEqual(router.other, 0)   # neither the blank line nor SCHEDSETJMP is unknown

    def test_threads_with_skip_keep_switches_before_events(self):
        lines, _ = convert(snippet(self.SCHED_LOG), skip=2)
        # X and W are skipped; @clone is kept, and thread 2's mmap still
        # comes after @thread 2.
        self.assertEqual(lines[:5], ["@clone 2", "@thread 2", "@mmap 0x6000000 0x1000 rw- anon",
                                     "R 0x5000008 8", "@thread 1"])

    def test_syscall_of_a_thread_without_the_lock_is_counted(self):
        _, router = convert(snippet("""
--100--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))
SYSCALL[100,1](56) sys_clone ( 3d0f00, 0x522bf70, 0x522c990, 0x522c990, 0x522c6c0 ) --> [pre-success] Success(0x65) 
--100--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))
SYSCALL[100,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x4035000) 
"""))
        self.assertEqual(router.thread_mismatches, 1)

    def test_startup_layout(self):
        lines, router = convert(snippet("""
--200:1: aspacem <<< SHOW_SEGMENTS: Memory layout at client startup (9 segments)
--200:1: aspacem   0: RSVN 0000000000-0000107fff 1081344 ----- SmFixed
--200:1: aspacem   1: file 0000108000-0000109fff    8192 r---- d=0xfe00 i=248139  o=0       (1,49)
--200:1: aspacem   2: file 000010a000-000010dfff   16384 r-x-- d=0xfe00 i=248139  o=8192    (1,49)
--200:1: aspacem   3: anon 0004035000-0004035fff    4096 rwx--
--200:1: aspacem   4:      0004835000-0057ffffff   1335m
--200:1: aspacem   5: FILE 0058000000-0058000fff    4096 r---- d=0xfe00 i=335458  o=0       (0,4)
--200:1: aspacem   6: ANON 0058232000-0058c24fff      9m rw---
--200:1: aspacem   7: RSVN 1ffe801000-1ffeffefff 8380416 ----- SmUpper
--200:1: aspacem   8: anon 1ffefff000-1fff000fff    8192 rw---
--200:1: aspacem >>>
--200:1:    main Running thread 1
==200== error 2 No such file or directory
I  0010a000,3
--200:1: aspacem <<< SHOW_SEGMENTS: Memory layout at client shutdown (1 segments)
--200:1: aspacem   0: anon 0020000000-0020000fff    4096 rw---
--200:1: aspacem >>>
--200:1:  gdbsrv 200 (creator 200) maybe unlinking 
    /tmp/vgdb-pipe-from-vgdb-to-200-by-???-on-???
"""))
        self.assertEqual(lines, [
            "@mmap 0x108000 0x2000 r-- file",
            "@mmap 0x10a000 0x4000 r-x file",
            "@mmap 0x4035000 0x1000 rwx anon",
            "@mmap 0x1ffe801000 0x800000 rw- anon",     # stack + its reservation
            "X 0x10a000 3",
        ])
        self.assertEqual(router.initial_mappings, 4)
        self.assertEqual(router.other, 0)


# ---------------------------------------------------------------------------
# tiny_mmap32.c, the same kind of program for i386 (see its comments): the
# x86-linux valgrind log has i386 call numbers and names (sys_mmap2 192,
# old_mmap 90, sys_brk 45, ...) and 32-bit addresses.

LOG32 = os.path.join(HERE, "tiny_mmap32.valgrind.log")


def expected_tiny32(b, child):
    return [
        "@mmap 0x10000000 0x4000 rw- anon",      # 1. mmap2, 4 pages rw
        "W 0x10000010 4",
        "W 0x10003006 2",
        "@mmap 0x10100000 0x2000 r-- anon",      # 2. old mmap, 5000 bytes: 2 pages
        "R 0x10101001 1",
        "@mmap 0x10200000 0x2000 r-x file",      # 3. mmap2 of the memfd, offset 1 page
        "R 0x10201002 2",
        # 4. mprotect(A+1, ...) fails (EINVAL): no event
        "@mprotect 0x10001000 0x1000 r--",       # 5. length 100 rounds up
        "@munmap 0x10003000 0x1000",             # 6.
        "@munmap 0x10001000 0x1000",             # 7. mremap moves the r-- page ...
        "@mmap 0x10300000 0x2000 r-- anon",      #    ... to M, 2 pages, still r--
        "R 0x10301004 4",
        "@brk 0x%x" % b,                         # 8. brk(0): the initial break
        "@brk 0x%x" % (b + 0x2000),              #    grow by 2 pages
        "W 0x%x 4" % (b + 0x1010),
        "@munmap 0x10100000 0x2000",             # 9.
        "@fork %d" % child,                      # 10. fork: the parent's result
        "@exit",                                 # 11. exit_group(0)
    ]


class TinyMmap32Log(unittest.TestCase):
    """The committed log of tiny_mmap32.c (i386)."""

    @classmethod
    def setUpClass(cls):
        with open(LOG32, "rb") as f:
            cls.raw = f.readlines()
        cls.lines, cls.router = convert(cls.raw)

    def test_program_events_and_accesses_in_order(self):
        brks = [ln for ln in self.lines if ln.startswith("@brk ")]
        self.assertTrue(brks, "no @brk event")
        b = int(brks[0].split()[1], 16)
        # the child's pid, as valgrind's fork note in the log says
        note = next(ln for ln in self.raw if b"created child" in ln)
        child = int(note.split()[-1])
        first_access = next(i for i, ln in enumerate(self.lines) if not ln.startswith("@"))
        got = []
        for ln in self.lines[first_access:]:
            if ln.startswith("@"):
                got.append(ln)
            elif 0x10000000 <= access_addr(ln) < 0x10400000 or b <= access_addr(ln) < b + 0x3000:
                got.append(ln)
        self.assertEqual(got, expected_tiny32(b, child))
        self.assertEqual(self.router.syscalls.abi, "x86")
        self.assertEqual(dict(self.router.syscalls.notes),
                         {"syscalls of other processes (forked children) ignored": 1})

    def test_startup_mappings_from_the_32bit_layout(self):
        first_access = next(i for i, ln in enumerate(self.lines) if not ln.startswith("@"))
        prefix = self.lines[:first_access]
        # The executable's four one-page segments at 0x8048000 (a -no-pie i386
        # link), valgrind's brk page after them, as its table shows.
        for ln in ("@mmap 0x8048000 0x1000 r-- file", "@mmap 0x8049000 0x1000 r-x file",
                   "@mmap 0x804a000 0x1000 r-- file", "@mmap 0x804b000 0x1000 rw- file",
                   "@mmap 0x804c000 0x1000 rwx anon"):
            self.assertIn(ln, prefix)
        self.assertEqual(self.router.initial_mappings, len(prefix))

    def test_every_access_is_32bit_and_in_a_mapping(self):
        model = VmaModel()
        bad = []
        n = 0
        for ln in self.lines:
            if ln.startswith("@"):
                model.apply(ln)
                continue
            n += 1
            addr, size = access_addr(ln), int(ln.split()[2])
            if addr + size > 0xC0000000 or not model.allows(ln):
                bad.append(ln)
        raw = sum(1 for ln in self.raw if ln[:2] in (b"I ", b" L", b" S", b" M"))
        self.assertEqual(n, raw)
        # The child's few accesses between fork and its exit are in the log
        # too (valgrind traces it into the same log); they are on the stack.
        self.assertEqual(bad, [])

    def test_i386_numbers_are_not_taken_for_x86_64_ones(self):
        # 45 is brk on i386 (recvfrom on x86-64) and decides the ABI; then
        # 11 is execve (munmap on x86-64), 9 link (mmap), 120 clone with
        # CLONE_VM a thread, 190 vfork, 1 exit of the last thread.
        lines, router = convert(snippet("""
SYSCALL[7,1](45) sys_brk ( 0x0 ) --> [pre-success] Success(0x804c000) 
SYSCALL[7,1](9) sys_link ( 0x804a000, 0x804a010 ) --> [pre-fail] Failure(0x2) 
SYSCALL[7,1](192) sys_mmap2 ( 0x0, 12288, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0xf7ff0000) 
SYSCALL[7,1](90) old_mmap ( 0x0, 4096, 5, 2, 3, 0 ) --> [pre-success] Success(0x4835000) 
SYSCALL[7,1](163) sys_mremap ( 0xf7ff0000, 12288, 16384, 0x0, 0x0 ) --> [pre-success] Success(0xf7ff0000) 
SYSCALL[7,1](120) sys_clone ( 3d0f00, 0x522bf70, 0x522c990, 0x522c990, 0x522c6c0 ) --> [pre-success] Success(0x8) 
SYSCALL[7,1](190) sys_vfork ( ) --> [pre-success] Success(0x9) 
SYSCALL[7,1](11) sys_execve ( 0x804a000(/bin/true), 0x0, 0x0 ) --> [pre-fail] Failure(0x2) 
SYSCALL[7,1](1) exit( 0 ) --> [pre-success] Success(0x0) 
SYSCALL[7,1](252) exit_group( 0 ) --> [pre-success] Success(0x0) 
"""))
        self.assertEqual(lines, [
            "@brk 0x804c000",
            "@mmap 0xf7ff0000 0x3000 rw- anon",
            "@mmap 0x4835000 0x1000 r-x file",
            "@mmap 0xf7ff3000 0x1000 rw- anon",     # grown in place: the new tail
            "@fork 9",                              # vfork; the clone was a thread
            "@exit",                                # exit_group (exit: a thread's)
        ])
        self.assertEqual(router.syscalls.abi, "x86")
        self.assertEqual(router.syscalls.threads, 1)


@unittest.skipIf(shutil.which("zstd") is None, "zstd is not installed")
class CommandLine(unittest.TestCase):
    """The script as a command: --from-log, --stats, and bin through mmusim."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="capture-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_script(self, *args):
        return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True)

    def test_from_log_text(self):
        out = os.path.join(self.tmp, "t.txt.zst")
        r = self.run_script("--from-log", LOG, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = subprocess.run(["zstd", "-dc", out], capture_output=True, check=True).stdout
        self.assertEqual(text, ct.convert_log_lines(log_lines())[0])
        mmusim = mmusim_binary()
        if mmusim is None:
            return      # --stats runs `mmusim stats`
        stats = self.run_script("--stats", "--mmusim", mmusim, out)
        self.assertEqual(stats.returncode, 0, stats.stderr)
        self.assertIn("format:         text", stats.stdout)
        self.assertIn("@brk:         3", stats.stdout)

    def test_from_log_bin_replays(self):
        mmusim = mmusim_binary()
        if mmusim is None:
            self.skipTest("no mmusim binary ($MMUSIM or build/mmusim)")
        out = os.path.join(self.tmp, "t.bin.zst")
        r = self.run_script("--from-log", LOG, "-o", out, "--mmusim", mmusim)
        self.assertEqual(r.returncode, 0, r.stderr)
        back = subprocess.run([mmusim, "convert", out, "-", "--to", "text"], capture_output=True)
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual(back.stdout, ct.convert_log_lines(log_lines())[0])
        run = subprocess.run([mmusim, "run", "-q", "-t", out, "-o", os.path.join(self.tmp, "run")],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(os.path.join(self.tmp, "run", "stats.json")) as f:
            os_stats = json.load(f)["os"]
        self.assertEqual(os_stats["implicit_vmas"], 0)
        self.assertEqual(os_stats["faults"]["segv"], 0)

    def test_missing_log_is_a_clear_error(self):
        out = os.path.join(self.tmp, "t.txt.zst")
        r = self.run_script("--from-log", os.path.join(self.tmp, "no-such.log"), "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such.log: cannot read: No such file or directory", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertFalse(os.path.exists(out) or os.path.exists(out + ".tmp"))

    def test_bin_without_mmusim_is_a_clear_error(self):
        out = os.path.join(self.tmp, "t.bin.zst")
        r = self.run_script("--from-log", LOG, "-o", out, "--mmusim", os.path.join(self.tmp, "nope"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)
        self.assertFalse(os.path.exists(out) or os.path.exists(out + ".tmp"))


# The real multi-threaded capture and the bundled threaded trace are their
# own ctest (capture_threads); capture_converter runs the rest with
# CAPTURE_THREADS=0.
ONLY_CONVERTER = os.environ.get("CAPTURE_THREADS") == "0"


@unittest.skipIf(ONLY_CONVERTER, "CAPTURE_THREADS=0 (ctest capture_threads runs it)")
class CaptureThreads(unittest.TestCase):
    """A real capture of thread_buffers.c (valgrind, gcc): thread k is the
    only one that touches buffer k, so every access to buffer k must be
    written as one thread's, each buffer's a different thread, the main
    thread's buffer thread 1's, with one @clone per pthread_create."""

    NTHREADS = 4        # thread_buffers.c: the main thread and 3 created ones

    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("valgrind", "gcc", "zstd") if shutil.which(t) is None]
        if missing:
            raise unittest.SkipTest(f"not installed: {', '.join(missing)} "
                                    "(scripts/install-deps --with-capture)")
        cls.tmp = tempfile.mkdtemp(prefix="capture-threads-")
        exe = os.path.join(cls.tmp, "thread_buffers")
        subprocess.run(["gcc", "-O1", "-pthread", "-o", exe, os.path.join(HERE, "thread_buffers.c")],
                       check=True)
        cls.trace = os.path.join(cls.tmp, "t.txt.zst")
        out = os.path.join(cls.tmp, "stdout")
        r = subprocess.run([sys.executable, SCRIPT, "-o", cls.trace, "--level", "1", "--clean-env",
                            "--stdout", out, "--stderr", os.devnull, "--", exe],
                           capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(cls.tmp)
            raise AssertionError(f"capture-trace failed: {r.stderr}")
        cls.summary, cls.warnings = r.stdout, r.stderr
        # "buf K 0xADDR 0xLEN" from the program
        cls.buffers = {}
        with open(out) as f:
            for line in f:
                _, k, addr, length = line.split()
                cls.buffers[int(k)] = (int(addr, 16), int(length, 16))
        # Which thread each access to a buffer is written as: the stream
        # starts on thread 1, @thread T switches it.
        text = subprocess.run(["zstd", "-dc", cls.trace], capture_output=True, check=True).stdout
        cls.lines = text.decode().splitlines()
        cls.owners = {k: collections.Counter() for k in cls.buffers}
        cls.order = []          # buffer of each run of buffer accesses, in trace order
        cls.clones, cls.switch_ids, cur = [], set(), 1
        for ln in cls.lines:
            f = ln.split()
            if f[0] == "@thread":
                cur = int(f[1])
                cls.switch_ids.add(cur)
            elif f[0] == "@clone":
                cls.clones.append(int(f[1]))
            elif not f[0].startswith("@"):
                a = int(f[1], 16)
                for k, (start, length) in cls.buffers.items():
                    if start <= a < start + length:
                        cls.owners[k][cur] += 1
                        if not cls.order or cls.order[-1] != k:
                            cls.order.append(k)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_buffer_access_is_its_threads(self):
        self.assertEqual(sorted(self.buffers), list(range(self.NTHREADS)))
        # Each pass of thread k touches its LEN / STRIDE bytes with a load and
        # a store: ROUNDS + (k == 3 ? LONG_PASSES - 1 : 0) passes
        # (thread_buffers.c: 8 pages / 16 = 2048 bytes, 16 rounds, 150).
        for k in range(self.NTHREADS):
            passes = 16 + (149 if k == 3 else 0)
            self.assertEqual(sum(self.owners[k].values()), 2 * 2048 * passes, f"buffer {k}")
        owner = {}
        for k, c in self.owners.items():
            self.assertEqual(len(c), 1, f"buffer {k} written as several threads' accesses: {dict(c)}")
            owner[k] = next(iter(c))
        self.assertEqual(owner[0], 1, "the main thread's buffer is not thread 1's")
        self.assertEqual(len(set(owner.values())), self.NTHREADS, f"threads share buffers: {owner}")

    def test_the_threads_ran_interleaved(self):
        # The barrier and sched_yield() after every pass make the threads
        # take turns while all are alive (in one run: 58 runs of one
        # buffer's accesses, 0 1 3 2 0 1 3 2 ...); how often is up to the
        # host's scheduler, so only a floor: more than one round's worth.
        self.assertGreater(len(self.order), 2 * self.NTHREADS, self.order[:40])

    def test_one_clone_per_created_thread(self):
        self.assertEqual(self.clones, [2, 3, 4])          # trace ids in order of first run
        self.assertEqual(self.switch_ids, {1, 2, 3, 4})
        self.assertIn("threads:         4", self.summary)
        # the last thread's 150 passes with no system call outlast a time
        # slice: at least one switch there, not at a system call
        m = re.search(r"(\d+) at a time slice", self.summary)
        self.assertTrue(m and int(m.group(1)) >= 1, self.summary)
        self.assertNotIn("warning", self.warnings)        # no mismatch, no unknown thread

    def test_replays_on_one_and_two_cores(self):
        mmusim = mmusim_binary()
        if mmusim is None:
            self.skipTest("no mmusim binary ($MMUSIM or build/mmusim)")
        for cores in (1, 2):
            out = os.path.join(self.tmp, f"run{cores}")
            r = subprocess.run([mmusim, "run", "-q", "-t", self.trace, "-o", out, "--check-invariants",
                                "--set", "os.memory=256MiB", "--set", f"cores={cores}"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "stats.json")) as f:
                st = json.load(f)
            self.assertEqual(st["os"]["implicit_vmas"], 0)
            self.assertEqual(st["os"]["faults"]["segv"], 0)
            self.assertEqual(st["os"]["processes"], 1)


@unittest.skipIf(ONLY_CONVERTER, "CAPTURE_THREADS=0 (ctest capture_threads runs it)")
class BundledThreadTrace(unittest.TestCase):
    """traces/xz-compress-mt.bin.zst, captured with the thread attribution:
    its counts as traces/README.md gives them (the capture's summary,
    cross-checked there by following @thread in the text), and its replay
    with its threads on one core of two."""

    TRACE = os.path.join(REPO, "traces", "xz-compress-mt.bin.zst")

    def setUp(self):
        self.mmusim = mmusim_binary()
        if self.mmusim is None:
            self.skipTest("no mmusim binary ($MMUSIM or build/mmusim)")

    def test_counts(self):
        r = subprocess.run([self.mmusim, "stats", self.TRACE], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = dict(ln.split(":", 1) for ln in r.stdout.splitlines() if ":" in ln)
        want = {"accesses": "19405339", "events": "77", "  @clone": "2", "  @thread": "18",
                "  @exit": "1", "4 KiB pages": "3702", "2 MiB regions": "31"}
        self.assertEqual({k: fields.get(k, "").strip() for k in want}, want)

    def test_replays_on_two_cores(self):
        with tempfile.TemporaryDirectory(prefix="capture-mt-") as out:
            r = subprocess.run([self.mmusim, "run", "-q", "-t", self.TRACE, "-o", out, "--set", "cores=2"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "stats.json")) as f:
                st = json.load(f)
        self.assertEqual(st["replay"]["accesses"], 19405339)
        self.assertEqual(st["os"]["implicit_vmas"], 0)
        self.assertEqual(st["os"]["faults"]["segv"], 0)
        self.assertEqual(st["os"]["processes"], 1)


if __name__ == "__main__":
    unittest.main()
