"""Output sinks: access records and events after skip/limit, counted
(Stats), converted to the output format and compressed (RecordSink keeps
them in memory, FileSink streams them to zstd, through `mmusim convert`
for bin)."""

import collections
import hashlib
import os
import subprocess
import tempfile

from .common import (CaptureError, FORMATS, PAGE_SHIFT, REGION_SHIFT, TEXT_KIND, TEXT_LETTER,
                     describe_status)


# ---------------------------------------------------------------------------
# Statistics over access records


class Stats:
    """Counts accesses by kind (mmusim's R/W/X/M), events by kind, and the
    distinct 4 KiB pages and 2 MiB regions the accesses touch.  An access
    covers [addr, addr+size-1]; it touches the pages (and regions) of its
    first and last byte (sizes are at most a page, so there is nothing in
    between)."""

    def __init__(self, want_pages=True):
        self.kinds = collections.Counter()
        self.events = collections.Counter()
        self.want_pages = want_pages
        self.pages = set()
        self.regions = set()
        self.bad = 0

    def add_access(self, kind, addr, size):
        self.kinds[kind] += 1
        if not self.want_pages:
            return
        first = addr >> PAGE_SHIFT
        last = (addr + size - 1) >> PAGE_SHIFT
        self.pages.add(first)
        self.regions.add(addr >> REGION_SHIFT)
        if last != first:
            self.pages.add(last)
            self.regions.add((addr + size - 1) >> REGION_SHIFT)

    def add(self, kind, line):
        """Account one lackey record line (bytes, no newline) of lackey kind
        I/L/S/M.  Returns False if the line is not a well-formed record."""
        try:
            addr_s, size_s = line[3:].split(b",")
            addr = int(addr_s, 16)
            size = int(size_s)
        except ValueError:
            self.bad += 1
            return False
        if size <= 0:
            self.bad += 1
            return False
        self.add_access(TEXT_KIND[kind], addr, size)
        return True

    @property
    def records(self):
        return sum(self.kinds.values())


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# Output: skip / limit / count / convert, then compress


class RecordSink:
    """Takes access records (lackey lines) and event lines in trace order,
    drops the first `skip` access records (events are always kept), stops
    accepting after `limit` access records, converts them to the output
    format and passes the bytes to write().  This base class keeps them in
    memory (for tests and --from-log to a list); FileSink streams to zstd."""

    def __init__(self, fmt="text", skip=0, limit=None, want_pages=True):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt = fmt
        self.skip = skip
        self.limit = limit
        self.seen = 0           # access records read from the log
        self.written = 0        # access records written to the trace
        self.malformed = 0      # access lines that did not parse (text/bin: dropped)
        self.events_dropped = 0  # events a lackey output cannot carry
        self.stats = Stats(want_pages)
        self.kinds = collections.Counter()   # written, by lackey kind
        self.batch = []
        self.chunks = []        # the in-memory output of this base class
        # Threads (threads.ThreadTracker sets want_thread): the stream's
        # thread in the output, and the one the next records belong to.
        # `@thread ID` is written before the next access or event written
        # when they differ; 1 is the main thread, where a trace starts.
        self.thread = 1
        self.want_thread = 1

    @property
    def full(self):
        return self.limit is not None and self.written >= self.limit

    def access(self, kind, line):
        """One lackey access record (bytes, with its newline) of lackey kind
        I/L/S/M."""
        self.seen += 1
        if self.seen <= self.skip or self.full:
            return
        if self.fmt == "lackey":
            if self.stats.want_pages:
                self.stats.add(kind, line.rstrip(b"\n"))
            else:
                self.stats.kinds[TEXT_KIND[kind]] += 1
            out = line
        else:
            try:
                addr_s, size_s = line[3:].rstrip(b"\r\n").split(b",")
                addr = int(addr_s, 16)
                size = int(size_s)
            except ValueError:
                addr = size = -1
            if not (0 < size <= 4096 and 0 <= addr < 1 << 64):
                self.malformed += 1
                return
            self.stats.add_access(TEXT_KIND[kind], addr, size)
            out = b"%s 0x%x %d\n" % (TEXT_LETTER[kind], addr, size)
            if self.want_thread != self.thread:
                self.switch_thread()
        self.written += 1
        self.kinds[kind] += 1
        self.batch.append(out)
        if len(self.batch) >= 8192:
            self.flush()

    def event(self, kind, line):
        """One event of `kind` (mmap, munmap, ...) as a text-format line
        (bytes, with its newline).  Kept even while skipping."""
        if self.full:
            return
        if kind != "clone" and self.want_thread != self.thread:
            self.switch_thread()    # the event is the thread's (a clone: the stream's)
        self.stats.events[kind] += 1
        if self.fmt == "lackey":
            self.events_dropped += 1
            return
        self.batch.append(line)

    def switch_thread(self):
        """`@thread want_thread`: the following records are that thread's."""
        self.thread = self.want_thread
        self.event("thread", b"@thread %d\n" % self.thread)

    def flush(self):
        if self.batch:
            self.write(b"".join(self.batch))
            self.batch = []

    def write(self, data):
        self.chunks.append(data)

    def output(self):
        """The in-memory output (base class only)."""
        self.flush()
        return b"".join(self.chunks)


class FileSink(RecordSink):
    """Streams the records into `zstd` (through `mmusim convert` for bin),
    writing OUT.tmp; commit() renames it to OUT."""

    def __init__(self, path, fmt, level, skip, limit, want_pages, mmusim=None):
        super().__init__(fmt, skip, limit, want_pages)
        self.path = path
        self.tmp_path = path + ".tmp"
        self.conv = None
        self.conv_err = None
        cmd = ["zstd", "-q", "-c", "-T1", f"-{level}"]
        if level > 19:
            cmd.insert(1, "--ultra")
        self.out_file = open(self.tmp_path, "wb")
        try:
            if fmt == "bin":
                self.conv_err = tempfile.TemporaryFile(prefix="capture-trace-convert-")
                self.conv = subprocess.Popen([mmusim, "convert", "-", "-", "--from", "text", "--to", "bin"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self.conv_err)
                self.zstd = subprocess.Popen(cmd, stdin=self.conv.stdout, stdout=self.out_file)
                self.conv.stdout.close()
                self.pipe = self.conv.stdin
            else:
                self.zstd = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.out_file)
                self.pipe = self.zstd.stdin
        except OSError as e:
            self.abort()
            raise CaptureError(f"cannot run {'mmusim convert or zstd' if fmt == 'bin' else 'zstd'}: {e}")

    def write(self, data):
        self.pipe.write(data)

    def finish(self):
        """Close the pipeline; returns a list of failure messages (empty when
        all went well)."""
        errors = []
        try:
            self.flush()
        except BrokenPipeError:
            pass
        try:
            self.pipe.close()
        except BrokenPipeError:
            pass
        if self.conv is not None:
            rc = self.conv.wait()
            if rc != 0:
                self.conv_err.seek(0)
                msg = self.conv_err.read().decode("utf-8", "replace").strip()
                errors.append(f"mmusim convert {describe_status(rc)}: {msg}")
        rc = self.zstd.wait()
        if rc != 0:
            errors.append(f"zstd {describe_status(rc)}")
        self.out_file.close()
        return errors

    def commit(self):
        os.replace(self.tmp_path, self.path)

    def abort(self):
        for p in (getattr(self, "conv", None), getattr(self, "zstd", None)):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        self.out_file.close()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass
