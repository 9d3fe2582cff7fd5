"""Syscall events: the program's `SYSCALL[...]` lines of valgrind's
--trace-syscalls=yes log become @mmap/@munmap/@mprotect/@brk/@fork/@exit
events (SyscallConverter), with the address space as the events describe
it (AddressSpace) for mremap and madvise."""

import bisect
import collections
import os
import re

from .common import page_up, prot_text


# ---------------------------------------------------------------------------
# The program's address space as the events describe it


class AddressSpace:
    """The mappings the events written so far describe: sorted,
    non-overlapping [start, end) ranges with prot, file and huge.  Used to
    give mremap'd and madvise'd ranges the protection and kind they had.
    file is False (anonymous), True (a file without identity) or a FileRef,
    whose file offset follows the address, so that splitting keeps it."""

    def __init__(self):
        self.starts = []
        self.segs = []          # [start, end, prot, file, huge], sorted by start

    def _cut(self, start, end):
        """Remove [start, end) from every range (splitting as needed)."""
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        out = self.segs[:i]
        for s in self.segs[i:]:
            if s[1] <= start or s[0] >= end:
                out.append(s)
                continue
            if s[0] < start:
                out.append([s[0], start] + s[2:])
            if s[1] > end:
                out.append([end, s[1]] + s[2:])
        self.segs = out
        self.starts = [s[0] for s in out]

    def map(self, start, end, prot, file, huge=False):
        self._cut(start, end)
        i = bisect.bisect_left(self.starts, start)
        self.segs.insert(i, [start, end, prot, file, huge])
        self.starts.insert(i, start)

    def unmap(self, start, end):
        self._cut(start, end)

    def pieces(self, start, end):
        """The mapped parts of [start, end): [(start, end, prot, file, huge)]."""
        out = []
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        for s in self.segs[i:]:
            if s[0] >= end:
                break
            if s[1] > start:
                out.append((max(s[0], start), min(s[1], end), s[2], s[3], s[4]))
        return out

    def protect(self, start, end, prot):
        for s, e, _, file, huge in self.pieces(start, end):
            self.map(s, e, prot, file, huge)

    def at(self, addr):
        p = self.pieces(addr, addr + 1)
        return p[0] if p else None


class FileRef(collections.namedtuple("FileRef", "ident delta shared")):
    """A mapping of a known file: ident, the `file=` identity (bytes);
    delta, file offset minus address (the offset of address a is a + delta);
    shared, MAP_SHARED."""

    def offset_at(self, addr):
        return addr + self.delta

    def moved(self, old, new):
        """The same file pages mapped at new instead of old."""
        return FileRef(self.ident, self.delta + old - new, self.shared)


def file_identity(path):
    """A path as a `file=` identity (traces/FORMAT.md): UTF-8 bytes, each
    byte that is blank, '#', '%' or a control character written %XX."""
    out = bytearray()
    for c in path.encode("utf-8", "replace"):
        if (0x21 <= c < 0x7f and c not in (0x23, 0x25)) or c >= 0x80:
            out.append(c)
        else:
            out += b"%%%02X" % c
    return bytes(out[:4096])


# valgrind --trace-syscalls=yes lines -> events

# System call numbers -> what they are, for the two ABIs valgrind prints:
# x86-64 (amd64-linux) and i386 (x86-linux, a 32-bit program).  On i386 the
# mmaps are mmap2 (192, offset in 4 KiB pages) and the old mmap (90, its six
# arguments in a memory block, which valgrind reads and prints); both print
# (addr, length, prot, flags, fd, offset) and convert alike (the offset does
# not matter to the events).  shmat/shmdt go through ipc (117) on older i386
# libcs.
SYSCALLS_AMD64 = {
    9: "mmap", 10: "mprotect", 11: "munmap", 12: "brk", 25: "mremap", 28: "madvise",
    30: "shmat", 56: "clone", 57: "fork", 58: "vfork", 59: "execve", 60: "exit",
    67: "shmdt", 216: "remap_file_pages", 231: "exit_group", 435: "clone3",
}
SYSCALLS_X86 = {
    1: "exit", 2: "fork", 11: "execve", 45: "brk", 90: "mmap", 91: "munmap",
    117: "ipc", 120: "clone", 125: "mprotect", 163: "mremap", 190: "vfork",
    192: "mmap", 219: "madvise", 252: "exit_group", 257: "remap_file_pages",
    397: "shmat", 398: "shmdt", 435: "clone3",
}
# The ABI is not in the log; valgrind's names tell it.  A call whose number
# and printed name fit one ABI's table and not the other's decides it (the
# first one does; a dynamically linked program's first call is brk, 12
# "sys_brk" on x86-64, 45 "sys_brk" on i386).  Until then the x86-64 numbers
# apply, as before this script knew i386.
ABI_NAMES = {
    "amd64": {9: "sys_mmap", 10: "sys_mprotect", 11: "sys_munmap", 12: "sys_brk",
              25: "sys_mremap", 28: "sys_madvise", 56: "sys_clone", 57: "sys_fork",
              58: "sys_vfork", 60: "exit", 158: "sys_arch_prctl", 231: "exit_group"},
    "x86": {1: "exit", 2: "sys_fork", 45: "sys_brk", 90: "old_mmap", 91: "sys_munmap",
            120: "sys_clone", 125: "sys_mprotect", 163: "sys_mremap", 190: "sys_vfork",
            192: "sys_mmap2", 219: "sys_madvise", 243: "sys_set_thread_area",
            252: "exit_group"},
}
SYSCALLS = {"amd64": SYSCALLS_AMD64, "x86": SYSCALLS_X86}
MAP_ANONYMOUS = 0x20
MAP_HUGETLB = 0x40000
MAP_HUGE_SHIFT, MAP_HUGE_MASK, MAP_HUGE_1GB_LOG2 = 26, 0x3f, 30
CLONE_VM = 0x100
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15
MAP_SHARED_MASK = 0x03      # MAP_SHARED 1, MAP_SHARED_VALIDATE 3
AT_FDCWD = (-100, 0xffffff9c, 0xffffffffffffff9c)
# The calls that tell which file a descriptor is (for @mmap's file=): open,
# openat, close, dup, dup2, dup3, by ABI.
FD_CALLS = {
    "amd64": {2: "open", 3: "close", 32: "dup", 33: "dup2", 257: "openat", 292: "dup3"},
    "x86": {5: "open", 6: "close", 41: "dup", 63: "dup2", 295: "openat", 330: "dup3"},
}
# "0xADDR(PATH)" as valgrind prints a path argument (PATH may hold ", " or ")").
PATH_ARG_RE = re.compile(r"0x[0-9a-fA-F]+\((.*)\)\s*,\s*-?\w+\s*(?:,\s*-?\w+\s*)?\)\s*$", re.S)

# "SYSCALL[PID,TID](NR) rest"
SYSCALL_RE = re.compile(r"SYSCALL\[(\d+),(\d+)\]\((\d+)\) ?(.*)$", re.S)
# after "-->": "[pre-success] Success(0x4035000) " or "Failure(0x16) " or "[async] ... "
RESULT_RE = re.compile(r" *(?:\[[\w-]+\] )?(Success|Failure)\((0x[0-9a-fA-F]+)\) ?(.*)$", re.S)
ASYNC_POST = "... [async] -->"


def num(s):
    """A number as valgrind prints syscall arguments: 0x hex or decimal."""
    s = s.strip()
    if s[:2] in ("0x", "0X"):
        return int(s, 16)
    return int(s)


class SyscallConverter:
    """Turns valgrind's SYSCALL lines into events, written through
    emit(kind, line).  valgrind prints a call as one line,

        SYSCALL[PID,TID](NR) sys_NAME ( ARGS ) --> [pre-success] Success(0x..)
        SYSCALL[PID,TID](NR) sys_NAME ( ARGS )[sync] --> Failure(0x16)

    or, for a call the kernel runs while other threads may run, as two,

        SYSCALL[PID,TID](NR) sys_NAME ( ARGS ) --> [async] ...
        SYSCALL[PID,TID](NR) ... [async] --> Success(0x0)

    and sometimes with the result on a line of its own (" --> ...", after a
    fork's note, or an unimplemented syscall) or run into the next record
    with no newline (a clone's result and the new thread's first line).  Only
    the process of the first SYSCALL line is followed."""

    def __init__(self, emit):
        self.emit = emit
        self.space = AddressSpace()
        self.main_pid = None
        self.brk = None
        self.pending = {}       # (pid, tid) -> (nr, call) of [async] halves
        self.unfinished = None  # (pid, tid, nr, call) waiting for a " --> " line
        self.abi = None         # "amd64" or "x86" once a call has told (see ABI_NAMES)
        self.threads = 0
        self.fds = {}           # descriptor -> file= identity (bytes), from open/openat/dup
        self.cwd = os.getcwd()  # what relative paths of open(AT_FDCWD) start from
        self.calls = collections.Counter()   # converted calls by name
        self.notes = collections.Counter()   # things worth a warning

    # -- events -------------------------------------------------------------

    def ev_mmap(self, start, length, prot, file, huge=False, hugetlb=False):
        if length <= 0 or start + length > 1 << (32 if self.abi == "x86" else 64):
            self.notes["mmap with a range outside the address space skipped"] += 1
            return
        self.space.map(start, start + length, prot, file, huge)
        if isinstance(file, FileRef) and not hugetlb:
            off = file.offset_at(start)
            kind = b"file=" + file.ident + (b" off=0x%x" % off if off else b"") + (b" shared" if file.shared else b"")
        else:
            kind = b"file" if file else b"anon"
        self.emit("mmap", b"@mmap 0x%x 0x%x %s %s%s\n" % (
            start, length, prot_text(prot).encode(), kind,
            b" hugetlb" if hugetlb else b" huge" if huge else b""))

    def ev_munmap(self, start, length):
        if length <= 0:
            return
        self.space.unmap(start, start + length)
        self.emit("munmap", b"@munmap 0x%x 0x%x\n" % (start, length))

    def ev_mprotect(self, start, length, prot):
        if length <= 0:
            return
        self.space.protect(start, start + length, prot)
        self.emit("mprotect", b"@mprotect 0x%x 0x%x %s\n" % (start, length, prot_text(prot).encode()))

    def ev_brk(self, end):
        if self.brk == end:
            return
        if self.brk is not None:
            old, new = page_up(self.brk), page_up(end)
            if new > old:
                self.space.map(old, new, 3, False)
            elif new < old:
                self.space.unmap(new, old)
        self.brk = end
        self.emit("brk", b"@brk 0x%x\n" % end)

    def ev_fork(self, child):
        self.emit("fork", b"@fork %d\n" % child)

    def ev_exit(self):
        self.emit("exit", b"@exit\n")

    # -- parsing ------------------------------------------------------------

    def syscall(self, text):
        """One "SYSCALL[...]..." piece (str, no newline, no further SYSCALL
        in it).  Returns what follows the call's result on the same line
        (normally nothing), for the caller to feed as a line of its own."""
        m = SYSCALL_RE.match(text)
        if not m:
            self.notes["unparsed SYSCALL line"] += 1
            return ""
        pid, tid, nr, rest = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
        if self.main_pid is None:
            self.main_pid = pid
        if rest.startswith(ASYNC_POST):
            call = self.pending.pop((pid, tid), None)
            if call is None:
                return ""
            return self._result(pid, tid, call[0], call[1], rest[len(ASYNC_POST):])
        i = rest.find("-->")
        if i < 0:
            self.unfinished = (pid, tid, nr, rest)
            return ""
        return self._result(pid, tid, nr, rest[:i], rest[i + 3:])

    def continuation(self, text):
        """A line " --> RESULT": the result of the last unfinished call."""
        if self.unfinished is None:
            return ""
        pid, tid, nr, call = self.unfinished
        i = text.find("-->")
        res = text[i + 3:] if i >= 0 else text
        m = RESULT_RE.match(res)
        if m and self.op(nr, call) in ("fork", "vfork", "clone") and int(m.group(2), 16) == 0 \
                and m.group(1) == "Success":
            return ""   # the child's half of a fork; the parent's result follows
        self.unfinished = None
        return self._result(pid, tid, nr, call, res)

    def _result(self, pid, tid, nr, call, res):
        stripped = res.lstrip(" ")
        if stripped.startswith("[async] ..."):
            self.pending[(pid, tid)] = (nr, call)
            return stripped[len("[async] ..."):].strip()
        m = RESULT_RE.match(res)
        if not m:
            return ""      # e.g. "[pre-success] NoWriteResult" of rt_sigreturn
        try:
            self.handle(pid, tid, nr, call, m.group(1) == "Success", int(m.group(2), 16))
        except (ValueError, IndexError):
            self.notes[f"syscall {nr} with unparsed arguments: {call.strip()[:60]}"] += 1
        return m.group(3)

    def op(self, nr, call):
        """What call NR is ("mmap", "brk", ...; None for the rest), by the
        ABI, which the first call that tells it decides."""
        if self.abi is None:
            name = call.split("(", 1)[0].strip()
            fits = [abi for abi, names in ABI_NAMES.items() if names.get(nr) == name]
            if len(fits) == 1:
                self.abi = fits[0]
        return SYSCALLS[self.abi or "amd64"].get(nr)

    def handle(self, pid, tid, nr, call, ok, value):
        if pid != self.main_pid:
            self.notes["syscalls of other processes (forked children) ignored"] += 1
            return
        lp, rp = call.find("("), call.rfind(")")
        args = [a.strip() for a in call[lp + 1:rp].split(",")] if 0 <= lp < rp else []
        op = self.op(nr, call)
        fd_op = FD_CALLS[self.abi or "amd64"].get(nr)
        if fd_op:
            if ok:
                self.track_fd(fd_op, call, args, value)
            return
        if op == "mmap":
            if ok:
                flags = num(args[3])
                gb = bool(flags & MAP_HUGETLB) and \
                    (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK == MAP_HUGE_1GB_LOG2
                file = not flags & MAP_ANONYMOUS
                ident = self.fds.get(num(args[4])) if file else None
                if ident is not None:
                    # mmap2 (i386 192) counts its offset in 4 KiB pages.
                    off = num(args[5]) * (4096 if self.abi == "x86" and nr == 192 else 1)
                    file = FileRef(ident, off - value, (flags & MAP_SHARED_MASK) in (1, 3))
                self.ev_mmap(value, page_up(num(args[1])), num(args[2]) & 7,
                             file, bool(flags & MAP_HUGETLB) and not gb, gb)
        elif op == "munmap":
            if ok:
                self.ev_munmap(num(args[0]), page_up(num(args[1])))
        elif op == "mprotect":
            if ok:
                self.ev_mprotect(num(args[0]), page_up(num(args[1])), num(args[2]) & 7)
        elif op == "brk":
            if ok:
                self.ev_brk(value)
        elif op == "mremap":
            if ok:
                self.mremap(num(args[0]), page_up(num(args[1])), page_up(num(args[2])), value)
        elif op == "madvise":
            advice = num(args[2])
            if ok and advice in (MADV_HUGEPAGE, MADV_NOHUGEPAGE):
                start = num(args[0])
                huge = advice == MADV_HUGEPAGE
                for s, e, prot, file, h in self.space.pieces(start, start + page_up(num(args[1]))):
                    if h != huge:
                        self.ev_mmap(s, e - s, prot, file, huge)
        elif op in ("fork", "vfork"):
            if ok and value > 0:
                self.ev_fork(value)
        elif op == "clone":
            if ok and value > 0:
                if int(args[0], 16) & CLONE_VM:
                    self.threads += 1   # its @clone: from the scheduler lines (threads)
                else:
                    self.ev_fork(value)
        elif op == "clone3":
            if ok and value > 0:
                self.notes["clone3 calls not converted (flags not visible)"] += 1
        elif op == "exit_group" or (op == "exit" and self.threads == 0):
            self.ev_exit()
        elif op == "execve":
            self.notes["execve: the program replaced itself (valgrind does not follow it)"] += 1
        elif op in ("shmat", "shmdt", "remap_file_pages", "ipc"):
            if ok:
                if op != "ipc" or args[0] in ("21", "22"):     # ipc SHMAT, SHMDT
                    self.notes[f"syscall {nr} (shmat/shmdt/remap_file_pages) not converted"] += 1
            return
        else:
            return
        self.calls[call.split("(", 1)[0].strip() or str(nr)] += 1

    def track_fd(self, op, call, args, fd):
        """open/openat name a descriptor's file, close forgets it, dup*
        copies it (valgrind prints paths as 0xADDR(PATH))."""
        if op == "close":
            self.fds.pop(num(args[0]), None)
            return
        if op in ("dup", "dup2", "dup3"):
            ident = self.fds.get(num(args[0]))
            if ident is None:
                self.fds.pop(fd, None)
            else:
                self.fds[fd] = ident
            return
        m = PATH_ARG_RE.search(call)
        if not m:
            self.fds.pop(fd, None)
            return
        path = m.group(1)
        if not path.startswith("/"):
            base = self.cwd
            if op == "openat" and num(args[0]) not in AT_FDCWD:
                # relative to a directory descriptor: not followed
                self.fds.pop(fd, None)
                self.notes["openat relative to a directory descriptor (its file has no identity)"] += 1
                return
            path = os.path.join(base, path)
        self.fds[fd] = file_identity(os.path.normpath(path))

    def mremap(self, old, old_len, new_len, new):
        piece = self.space.at(old)
        if piece is None:
            self.notes["mremap of a range no event mapped (taken as rw- anon)"] += 1
            prot, file, huge = 3, False, False
        else:
            prot, file, huge = piece[2:]
        if new == old:
            if new_len > old_len:
                last = self.space.at(old + old_len - 1) if old_len else None
                if last is not None:
                    prot, file, huge = last[2:]
                self.ev_mmap(old + old_len, new_len - old_len, prot, file, huge)
            elif new_len < old_len:
                self.ev_munmap(old + new_len, old_len - new_len)
        else:
            if old_len:
                self.ev_munmap(old, old_len)
            if isinstance(file, FileRef):
                file = file.moved(old, new)
            self.ev_mmap(new, new_len, prot, file, huge)
