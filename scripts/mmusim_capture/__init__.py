"""capture-trace as a package: record a program's memory-access trace with valgrind's lackey tool, with
the program's address-space changes as mmusim events.

Runs COMMAND under

    valgrind --tool=lackey --trace-mem=yes --log-fd=N COMMAND...

where N is the write end of a pipe that this script reads while the program
runs, and streams the trace into `zstd`, so a large trace never sits on disk
uncompressed.  The program's own stdout and stderr never mix into the trace.

Output formats (--format, or from the output's name):

  lackey  lackey's access records as they are (`I  addr,size`, ` L addr,size`,
          ` S addr,size`, ` M addr,size`); no events.  What the first version
          of this script wrote; valgrind runs without the options below.
  text    mmusim's text format (traces/FORMAT.md): the accesses (lackey's
          I/L/S/M become X/R/W/M) plus the OS events, in program order:
            - the program's initial mappings (executable, ld.so, brk page,
              stack) from valgrind's own memory map at client start-up,
              which `valgrind -d` prints; a separate short valgrind run
              that stops before the program's first instruction reads it
              (see probe_layout());
            - @mmap/@munmap/@mprotect/@brk/@fork/@exit made from the
              program's system calls and the values the kernel returned
              (`valgrind --trace-syscalls=yes`, whose `SYSCALL[...]` lines are
              printed into the same log as lackey's records, in program
              order);
            - @clone/@thread: each record written as its thread's, from
              the scheduler's lines (`valgrind --trace-sched=yes`, in the
              same log: which thread takes valgrind's lock, under which
              alone a thread runs and lackey prints; see threads.py).
  bin     the same records in mmusim's bin format: the text is piped through
          `mmusim convert - - --from text --to bin` (build/mmusim of this
          repository, or --mmusim PATH) and then zstd.

Syscall conversion (failed calls give no event).  x86-64 and i386 programs
alike (valgrind's amd64-linux and x86-linux tools; the ABI is told by the
first call whose number and name fit only one, see ABI_NAMES): on i386 the
mmaps are mmap2 (192; its offset counts 4 KiB pages) and the old mmap (90),
brk 45, munmap 91, mprotect 125, mremap 163, madvise 219, fork 2, vfork 190,
clone 120, exit 1, exit_group 252; addresses are 32-bit.

  mmap      -> @mmap RET LEN PROT anon|file|file=PATH [off=OFF] [shared]
               [huge|hugetlb]: at the address
               the kernel returned (MAP_FIXED semantics), LEN rounded up to
               4 KiB, PROT from PROT_READ 1 / PROT_WRITE 2 / PROT_EXEC 4,
               `anon` if MAP_ANONYMOUS (0x20) else a file: `file=PATH` when
               the descriptor's path is known (open / openat at AT_FDCWD,
               relative paths joined to the capture's directory and
               normalised; dup, dup2, dup3 copy it; close forgets it; blank,
               '#', '%' and control bytes written %XX), with `off=` the
               mmap offset (mmap2's in pages times 4096) when not 0 and
               `shared` for MAP_SHARED / MAP_SHARED_VALIDATE; plain `file`
               for another descriptor (memfd, a socket, one inherited or
               opened relative to a directory descriptor); MAP_HUGETLB with
               MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT 26) gives `hugetlb` (the
               os.hugetlb_1g pool), MAP_HUGETLB of another size `huge` (2 MiB
               hugetlb pages are not modelled: THP advice stands in)
  munmap    -> @munmap ADDR LEN            (LEN rounded up to 4 KiB)
  mprotect  -> @mprotect ADDR LEN PROT     (LEN rounded up; a 0 LEN: nothing)
  brk       -> @brk RET, the break the kernel returned, whenever it differs
               from the last one (the first brk(0) gives the initial break)
  mremap    -> moved: @munmap OLD OLDLEN + @mmap NEW NEWLEN; grown in place:
               @mmap of the new tail; shrunk in place: @munmap of the cut
               tail.  Protection and anon/file (with the file offset moved
               along) of the new range are those of
               the old range as the earlier events left it (rw- anon if no
               event mapped it).
  madvise   -> MADV_HUGEPAGE / MADV_NOHUGEPAGE: the mapped parts of the range
               are issued again as @mmap with / without `huge` (the OS model
               has no event that sets the flag in place, so their pages are
               dropped and fault in again); other advice: nothing
  fork, vfork, clone without CLONE_VM -> @fork CHILD (the replay runs it as
               a copy-on-write fork; but valgrind keeps tracing the child
               into the same log without a switch of process, so the
               child's accesses would be replayed as the parent's: a
               warning)
  clone with CLONE_VM (a thread)      -> nothing (its @clone comes when the
               thread first takes valgrind's lock, from the scheduler's
               lines: threads.py)
  exit_group (or exit with no threads) -> @exit
  the rest (read, write, ...)         -> nothing

No @proc is written: the trace is one process, the replay's default one
(pid 1, which is also its main thread's id; threads get 2, 3, ...).
--skip and --limit count access records only; events are always kept, even
inside the skipped prefix, because the address space they build is needed
by the accesses that follow.

Standard library only; needs `valgrind` and `zstd` on PATH, and for bin the
mmusim binary.

Structure: every line of valgrind's log goes through LogRouter.feed()
(valgrind_log), which hands access records to a RecordSink (sinks:
skip/limit, counting, conversion, compression), `SYSCALL[...]` lines to
SyscallConverter (syscalls: it writes events through the same sink),
`SCHED[...]` lines to ThreadTracker (threads: it writes @clone and tells the
sink which thread the next records are, for @thread), debug lines to
StartupLayout (layout), and keeps valgrind's own messages for
error reports.  `--from-log LOG` runs a saved valgrind log through the same
code (modes).  cli parses the command line; scripts/capture-trace is the
entry point.  `--stats TRACE...` runs `mmusim stats`, the one reader of
trace files.
"""

from .valgrind_log import LogRouter, convert_log_lines  # noqa: F401
