"""Valgrind log parsing: every line of the log goes through LogRouter.feed(),
which hands lackey's access records to a sink, `SYSCALL[...]` lines to the
SyscallConverter, scheduler lines (`SCHED[...]`) to the ThreadTracker and
debug lines to the StartupLayout, and keeps valgrind's own messages for
error reports."""

import collections
import re

from .common import KIND_OF_PREFIX
from .layout import DEBUG_RE, StartupLayout
from .sinks import RecordSink
from .syscalls import SYSCALL_RE, SyscallConverter
from .threads import ThreadTracker


# ---------------------------------------------------------------------------
# Input: dispatch valgrind's log lines


# The start of valgrind's banner lines, not worth repeating in error reports.
BANNER = ("Lackey, an example", "Copyright (C)", "Using Valgrind-", "Command: ",
          "Parent PID: ")


class LogRouter:
    """Splits valgrind's log into access records (to the sink), SYSCALL lines
    (to SyscallConverter, whose events go to the same sink), the scheduler's
    lines (to ThreadTracker, which tells the sink whose records follow and
    writes `@clone`), valgrind's debug
    lines (-d: the start-up memory map, when they are in the same log, as in
    a saved log) and valgrind's own messages (kept, the last few, for error
    reports).

    Before the first access or SYSCALL line, start() writes the start-up
    mappings as @mmap events: from `layout` (read by probe_layout() in a
    capture) or from the log's own debug lines."""

    def __init__(self, sink, layout=None):
        self.sink = sink
        self.syscalls = SyscallConverter(sink.event)
        self.threads = ThreadTracker(sink)
        # SYSCALL lines of a thread other than the one holding valgrind's
        # lock (none if the scheduler lines are read right)
        self.thread_mismatches = 0
        self.layout = layout if layout is not None else StartupLayout()
        self.started = False
        self.initial_mappings = 0
        self.messages = collections.deque(maxlen=40)
        self.in_summary = False  # lackey's closing statistics have begun
        self.prev_debug = False
        self.other = 0          # lines that are neither records nor messages
        self.other_sample = []

    def start(self):
        self.started = True
        for start, length, prot, file in self.layout.mappings():
            self.syscalls.ev_mmap(start, length, prot, file)
            self.initial_mappings += 1

    def feed(self, line):
        kind = KIND_OF_PREFIX.get(line[:2])
        if kind is not None:
            if not self.started:
                self.start()
            self.sink.access(kind, line)
            return
        debug = False
        if line.startswith(b"SYSCALL["):
            if not self.started:
                self.start()
            self.feed_syscalls(line)
        elif line.startswith(b" --> "):
            rest = self.syscalls.continuation(line.decode("utf-8", "replace").rstrip("\r\n"))
            if rest.strip():
                self.feed((rest + "\n").encode("utf-8", "replace"))
        elif line.startswith(b"=="):
            # Keep valgrind's messages for error reports, but not lackey's
            # closing statistics ("Counted N calls to main()" onwards).
            if not self.in_summary:
                text = line.decode("utf-8", "replace").rstrip("\n")
                body = text.split("== ", 1)[-1].strip() if text.count("==") >= 2 else text
                if " Counted " in text and "calls to main" in text:
                    self.in_summary = True
                elif body and not body.startswith(BANNER):
                    self.messages.append(text)
        elif line.startswith(b"--"):
            if self.threads.feed(line):
                pass
            elif DEBUG_RE.match(line):
                debug = True
                if not self.started:
                    self.layout.feed(line)
            else:       # "--PID-- message"
                self.messages.append(line.decode("utf-8", "replace").rstrip("\n"))
        elif line.startswith(b"SCHEDSETJMP("):
            pass    # --trace-sched: a thread's run ended by a longjmp (its exit); no switch
        elif self.prev_debug and line.startswith(b"    "):
            debug = True    # a debug message's continuation lines
        elif line.strip():
            self.other += 1
            if len(self.other_sample) < 5:
                self.other_sample.append(line.decode("utf-8", "replace").rstrip("\n"))
        self.prev_debug = debug

    def feed_syscalls(self, line):
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        # Two records may share a line (a clone's result, then the new
        # thread's first syscall): split before every "SYSCALL[".
        starts = [m.start() for m in re.finditer(r"SYSCALL\[", text)]
        for i, s in enumerate(starts):
            piece = text[s:starts[i + 1]] if i + 1 < len(starts) else text[s:]
            m = SYSCALL_RE.match(piece)
            if m and self.threads.seen and int(m.group(1)) == self.threads.pid \
                    and int(m.group(2)) != self.threads.running:
                self.thread_mismatches += 1
            rest = self.syscalls.syscall(piece)
            if rest.strip():
                self.feed((rest + "\n").encode("utf-8", "replace"))

    def finish(self):
        """At the end of the log: a log with no record still gets its
        start-up mappings."""
        if not self.started:
            self.start()


def convert_log_lines(lines, fmt="text", skip=0, limit=None):
    """Convert an iterable of valgrind log lines (bytes) in memory; returns
    (output bytes, router).  The tests use this."""
    sink = RecordSink(fmt, skip, limit)
    router = LogRouter(sink)
    for line in lines:
        router.feed(line)
        if sink.full:
            break
    router.finish()
    return sink.output(), router
