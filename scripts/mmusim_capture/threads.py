"""Threads: which thread each record of valgrind's log belongs to, from the
scheduler trace of `valgrind --trace-sched=yes` (ThreadTracker).

Valgrind runs the client's threads one at a time: a thread runs client code,
and lackey prints its records, only while it holds valgrind's "big lock".
With --trace-sched=yes valgrind prints, into the same log as lackey's
records and the SYSCALL lines,

    --PID--   SCHED[T]:  acquired lock (WHY)
    --PID--   SCHED[T]: releasing lock (WHY) -> STATE
    --PID--   SCHED[T]: release lock in VG_(exit_thread)

where T is valgrind's thread id (1 for the main thread; a slot that a new
thread takes from the lowest free one, so an exited thread's id comes back).
"acquired lock" is printed after the lock is taken and "releasing lock"
before it is given up (coregrind/m_scheduler/scheduler.c,
VG_(acquire_BigLock) / VG_(release_BigLock) in valgrind 3.19), and all
printing to the log happens under the lock.  So every record between
"SCHED[T]: acquired lock" and the next "acquired lock" is thread T's: the
order of switches and records on the one log is exact.

A thread's first "acquired lock (thread_wrapper(starting new thread))" is
its start (valgrind's thread_wrapper, run by the new kernel thread that
clone made).  The first one is the main thread: trace thread 1, the replay's
default process.  Each later one is a new thread: the next trace id (2, 3,
... in the order the threads first run, which repeats across captures
whatever the kernel's thread ids were) and an `@clone ID` in the stream
there, made by the thread the stream was on.  A reused valgrind id thus
gets a new trace id.  The `@thread ID` switches are written by the sink
(RecordSink.want_thread), only before the next record that is written, so
a lock handed back to the same thread (a blocking syscall) writes nothing.

Lines of another process (a forked child writes into the same log with its
own PID) are ignored."""

import re

# "--PID--   SCHED[T]: WHAT" (valgrind's print_sched_event, a Vg_DebugMsg)
SCHED_RE = re.compile(rb"--(\d+)-- +SCHED\[(\d+)\]: +(.*?)\s*$", re.S)
STARTING = b"acquired lock (thread_wrapper(starting new thread))"
TIMESLICE = b"acquired lock (VG_(scheduler):timeslice)"

MAIN_THREAD = 1     # the trace id of the main thread: the default process's pid


class ThreadTracker:
    """Follows valgrind's scheduler lines and tells the sink which trace
    thread the following records belong to (sink.want_thread), writing
    `@clone ID` through sink.event when a thread starts."""

    def __init__(self, sink):
        self.sink = sink
        self.pid = None         # the traced process (the first SCHED line's)
        self.trace_id = {}      # valgrind thread id -> trace thread id
        self.next_id = MAIN_THREAD + 1
        self.running = None     # valgrind id of the thread holding the lock
        self.lines = 0          # SCHED lines of the traced process
        self.acquired = 0       # of which "acquired lock"
        self.timeslices = 0     # of which at the end of another thread's time slice
        self.started = 0        # threads started, the main thread included
        self.unknown = 0        # "acquired lock" of a thread never started

    @property
    def seen(self):
        """True once the log has scheduler lines (--trace-sched=yes)."""
        return self.lines > 0

    @property
    def clones(self):
        return max(self.started - 1, 0)

    def feed(self, line):
        """One log line (bytes).  Returns False if it is not a SCHED line."""
        m = SCHED_RE.match(line)
        if not m:
            return False
        pid, tid, what = int(m.group(1)), int(m.group(2)), m.group(3)
        if self.pid is None:
            self.pid = pid
        if pid != self.pid:
            return True
        self.lines += 1
        if not what.startswith(b"acquired lock"):
            return True
        self.acquired += 1
        if what == TIMESLICE:
            self.timeslices += 1
        if what == STARTING:
            self.started += 1
            self.new_thread(tid)
        elif tid not in self.trace_id:
            # A log cut at its start (or a valgrind that prints no start):
            # taken as a thread starting here.
            self.unknown += 1
            self.new_thread(tid)
        self.running = tid
        self.sink.want_thread = self.trace_id[tid]
        return True

    def new_thread(self, tid):
        """Valgrind thread `tid` starts: the first one is the main thread,
        each later one the next trace id, made by `@clone` in the stream's
        current thread."""
        if not self.trace_id:
            self.trace_id[tid] = MAIN_THREAD
            return
        self.trace_id[tid] = self.next_id
        self.sink.event("clone", b"@clone %d\n" % self.next_id)
        self.next_id += 1
