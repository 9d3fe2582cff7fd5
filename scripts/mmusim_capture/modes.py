"""The modes of capture-trace: capturing a running program under valgrind
(capture_mode, with the start-up probe probe_layout) and converting a saved
log (from_log_mode), with their summaries and warnings."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from .common import (CaptureError, EVENT_KINDS, KINDS, LACKEY_OF_TEXT, TEXT_KINDS, clean_env,
                     describe_status, die, find_mmusim, note, open_maybe_compressed)
from .layout import DEBUG_RE, StartupLayout
from .sinks import FileSink, sha256_of
from .text_input import generate_text
from .valgrind_log import LogRouter


def kill_group(proc):
    """End the process group of `proc` (started by us in its own session).
    SIGKILL at once: under valgrind the program may sit in a write to the
    log pipe that we no longer read, where a SIGTERM would wait."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reset_signals():
    """In the child before exec: default dispositions and an empty signal
    mask, whatever the caller had.  Programs look at inherited dispositions
    (xz, like many, installs no SIGINT handler if SIGINT is ignored, as it is
    for a background job of a non-interactive shell), so they change the
    trace."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def output_format(args, default_name):
    """(format, output path) from --format and -o."""
    fmt = args.format
    out = args.output
    if fmt is None:
        fmt = "lackey"
        if out is not None:
            base = out[:-4] if out.endswith(".zst") else out
            ext = os.path.splitext(base)[1]
            fmt = {".bin": "bin", ".txt": "text", ".text": "text", ".trace": "text"}.get(ext, "lackey")
    if out is None:
        out = default_name + {"lackey": ".lackey.zst", "text": ".txt.zst", "bin": ".bin.zst"}[fmt]
    out_dir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out_dir):
        raise CaptureError(f"output directory does not exist: {out_dir}")
    return fmt, out


def probe_layout(args, cmd, env):
    """valgrind's memory map at client start-up, from a separate short run:
    `valgrind --tool=lackey -d --vgdb=yes --vgdb-error=0 COMMAND` prints the
    map (to its stderr) and then waits for a debugger before the client's
    first instruction; we read the map and kill it, so the program never
    runs.  The map is the same as in the traced run (same valgrind, tool,
    program, arguments and environment; valgrind places the client
    deterministically).  Not done in the traced run itself because with -d
    valgrind keeps fd 2 for its debug log and fails the program's close(2)
    with EBADF (xz and coreutils then exit 1)."""
    # valgrind's gdbserver FIFOs go to a directory of ours, removed below
    # (a killed valgrind would leave them in /tmp).
    fifo_dir = tempfile.mkdtemp(prefix="capture-trace-vgdb-")
    probe_cmd = [args.valgrind, "--tool=lackey"] + args.valgrind_opt + \
        ["-d", "--vgdb=yes", "--vgdb-error=0", f"--vgdb-prefix={fifo_dir}/vgdb-pipe", "--"] + cmd
    try:
        proc = subprocess.Popen(probe_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True, env=env,
                                preexec_fn=reset_signals)
    except OSError as e:
        shutil.rmtree(fifo_dir, ignore_errors=True)
        raise CaptureError(f"cannot run valgrind: {e}")
    timer = threading.Timer(120, kill_group, (proc,))
    timer.start()
    layout = StartupLayout()
    try:
        for line in proc.stderr:
            if DEBUG_RE.match(line):
                layout.feed(line)
            if layout.done or b"Running thread" in line:
                break
    finally:
        timer.cancel()
        kill_group(proc)
        proc.stderr.close()
        proc.wait()
        shutil.rmtree(fifo_dir, ignore_errors=True)
    return layout


def print_summary(out, fmt, sink, router, extra_lines):
    print(f"trace:           {out}")
    print(f"format:          {fmt}")
    for line in extra_lines:
        print(line)
    print(f"records read:    {sink.seen}")
    print(f"records skipped: {min(sink.skip, sink.seen)}")
    if fmt == "lackey":
        kinds = "  ".join(f"{k}={sink.kinds[k]}" for k in KINDS)
    else:
        kinds = "  ".join(f"{t}={sink.kinds[LACKEY_OF_TEXT[t]]}" for t in TEXT_KINDS)
    print(f"records written: {sink.written}  {kinds}")
    if fmt != "lackey":
        ev = sink.stats.events
        print(f"events written:  {sum(ev.values())}  "
              + "  ".join(f"{k}={ev[k]}" for k in EVENT_KINDS if ev[k] or k in ("mmap", "munmap", "mprotect", "brk", "exit")))
        print(f"  of which start-up mappings: {router.initial_mappings}")
        if router.threads.seen:
            print(f"threads:         {router.threads.started} (valgrind's lock taken "
                  f"{router.threads.acquired} times, {router.threads.timeslices} at a time slice)")
    if sink.stats.want_pages:
        print(f"4 KiB pages:     {len(sink.stats.pages)}")
        print(f"2 MiB regions:   {len(sink.stats.regions)}")
    size = os.path.getsize(out)
    print(f"bytes compressed: {size}")
    print(f"sha256:          {sha256_of(out)}")


def warn_about(router, sink, fmt):
    if router.other:
        note(f"warning: {router.other} unexpected log line(s) dropped, e.g.:")
        for s in router.other_sample:
            sys.stderr.write("  " + s + "\n")
    if sink.malformed:
        note(f"warning: {sink.malformed} malformed access record(s) dropped")
    if sink.events_dropped:
        note(f"note: {sink.events_dropped} event(s) dropped: the lackey format has no events")
    for what, n in sorted(router.syscalls.notes.items()):
        note(f"warning: {what}: {n}")
    if fmt != "lackey" and router.initial_mappings == 0:
        note("warning: no start-up memory map (valgrind -d's \"Memory layout at client "
             "startup\"); the executable, ld.so and the stack have no @mmap (the replay's "
             "implicit VMAs would cover them)")
    threads = router.threads
    if router.syscalls.threads and not threads.seen:
        note(f"warning: {router.syscalls.threads} thread(s) created, but the log has no scheduler "
             "lines (valgrind --trace-sched=yes): every access is written as the main thread's")
    elif threads.seen and threads.clones != router.syscalls.threads and not sink.full:
        note(f"warning: {router.syscalls.threads} thread(s) created by clone, but "
             f"{threads.clones} started in the scheduler's lines")
    if threads.unknown:
        note(f"warning: {threads.unknown} thread(s) took valgrind's lock without a start line")
    if router.thread_mismatches:
        note(f"warning: {router.thread_mismatches} SYSCALL line(s) of a thread other than the one "
             "holding valgrind's lock")
    if sink.stats.events["fork"]:
        note("warning: the trace has @fork: valgrind traced the children into the same log "
             "without a switch of process, so the replay runs their accesses as the parent's")


def from_log_mode(args):
    fmt, out = output_format(args, os.path.basename(args.from_log))
    mmusim = find_mmusim(args.mmusim) if fmt == "bin" else None
    src, proc = open_maybe_compressed(args.from_log)
    sink = FileSink(out, fmt, args.level, args.skip, args.limit, not args.no_pages, mmusim)
    router = LogRouter(sink)
    try:
        for line in src:
            router.feed(line)
            if sink.full:
                break
        router.finish()
    except BaseException:
        sink.abort()
        raise
    finally:
        src.close()
        if proc is not None:
            proc.kill()
            proc.wait()
    errors = sink.finish()
    if errors:
        sink.abort()
        raise CaptureError("; ".join(errors))
    if sink.seen == 0:
        sink.abort()
        raise CaptureError(f"{args.from_log}: no lackey access records in the log")
    warn_about(router, sink, fmt)
    sink.commit()
    print_summary(out, fmt, sink, router, [f"log:             {args.from_log}"])
    return 0


def capture_mode(args):
    cmd = args.command
    if not cmd:
        die("no COMMAND given (put it after --)", 2)
    if shutil.which(args.valgrind) is None:
        die(f"valgrind not found ({args.valgrind}); install it (apt-get install valgrind)")
    if shutil.which("zstd") is None:
        die("zstd not found; install it (apt-get install zstd)")
    fmt, out = output_format(args, os.path.basename(cmd[0]))
    mmusim = find_mmusim(args.mmusim) if fmt == "bin" else None
    with_events = fmt != "lackey"

    # COMMAND's standard input: /dev/null unless given, so that a capture
    # neither reads the terminal nor depends on it.
    stdin_spec = subprocess.DEVNULL
    if args.stdin is not None:
        try:
            stdin_spec = open(args.stdin, "rb")
        except OSError as e:
            die(f"cannot open --stdin file: {e}")
    elif args.stdin_cmd is not None or args.stdin_text is not None:
        # Made in full before the program starts and handed over as a regular
        # file: reads from a pipe return whatever the writer got to so far,
        # and the number and sizes of the program's reads would change its
        # path (and the trace) from run to run.
        stdin_spec = tempfile.TemporaryFile(prefix="capture-trace-stdin-")
        if args.stdin_text is not None:
            for chunk in generate_text(args.stdin_text, args.seed):
                stdin_spec.write(chunk)
        else:
            gen_rc = subprocess.run(["sh", "-c", args.stdin_cmd], stdout=stdin_spec).returncode
            if gen_rc != 0:
                die(f"--stdin-cmd {describe_status(gen_rc)}")
        stdin_spec.flush()
        stdin_spec.seek(0)
    stdout_spec = stderr_spec = None
    if args.stdout is not None:
        try:
            stdout_spec = open(args.stdout, "wb")
        except OSError as e:
            die(f"cannot open --stdout file: {e}")
    if args.stderr is not None:
        try:
            stderr_spec = open(args.stderr, "wb")
        except OSError as e:
            die(f"cannot open --stderr file: {e}")

    env = None                 # inherit
    if args.clean_env or args.env:
        env = clean_env() if args.clean_env else dict(os.environ)
        for kv in args.env:
            if "=" not in kv:
                die(f"--env wants NAME=VALUE, got {kv!r}", 2)
            name, value = kv.split("=", 1)
            env[name] = value

    def on_signal(signum, frame):
        raise KeyboardInterrupt     # end valgrind (its own session) on the way out

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    layout = StartupLayout()
    if with_events:
        note("reading valgrind's start-up memory map (valgrind -d, stopped before the program runs)")
        try:
            layout = probe_layout(args, cmd, env)
        except KeyboardInterrupt:
            die("interrupted")
    sink = FileSink(out, fmt, args.level, args.skip, args.limit, not args.no_pages, mmusim)
    log_r, log_w = os.pipe()
    # valgrind's gdbserver FIFOs in a directory of ours: a valgrind killed at
    # --limit would leave them in /tmp.
    fifo_dir = tempfile.mkdtemp(prefix="capture-trace-vgdb-")
    vg_cmd = [args.valgrind, "--tool=lackey", "--trace-mem=yes"]
    if with_events:
        # The system calls, and the scheduler's switches between threads
        # (threads.py), in the same log as lackey's records.
        vg_cmd += ["--trace-syscalls=yes", "--trace-sched=yes"]
    vg_cmd += [f"--log-fd={log_w}", f"--vgdb-prefix={fifo_dir}/vgdb-pipe"]
    vg_cmd += args.valgrind_opt
    vg_cmd += ["--"] + cmd
    note("running: " + " ".join(shlex.quote(c) for c in vg_cmd))
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(vg_cmd, stdin=stdin_spec, stdout=stdout_spec, stderr=stderr_spec,
                                pass_fds=(log_w,), start_new_session=True, env=env,
                                preexec_fn=reset_signals)
    except OSError as e:
        sink.abort()
        shutil.rmtree(fifo_dir, ignore_errors=True)
        die(f"cannot run valgrind: {e}")
    os.close(log_w)

    router = LogRouter(sink, layout)

    stopped_at_limit = False
    interrupted = False
    try:
        with os.fdopen(log_r, "rb", buffering=1 << 20) as log:
            for line in log:
                router.feed(line)
                if sink.full:
                    stopped_at_limit = True
                    break
            if stopped_at_limit:
                kill_group(proc)
            else:
                router.finish()
    except KeyboardInterrupt:
        interrupted = True
        kill_group(proc)
    except BrokenPipeError:
        kill_group(proc)
        proc.wait()
        shutil.rmtree(fifo_dir, ignore_errors=True)
        sink.abort()
        die("zstd (or mmusim convert) stopped accepting data")
    rc = proc.wait()
    shutil.rmtree(fifo_dir, ignore_errors=True)
    elapsed = time.monotonic() - t0
    errors = sink.finish()

    def fail(msg):
        sink.abort()
        if router.messages:
            sys.stderr.write("valgrind's last messages:\n")
            for m in list(router.messages)[-15:]:
                sys.stderr.write("  " + m + "\n")
        die(msg)

    if interrupted:
        fail("interrupted")
    if errors:
        fail("; ".join(errors))
    if not stopped_at_limit:
        if rc != 0 and not args.ignore_exit_status:
            fail(f"valgrind/COMMAND {describe_status(rc)} "
                 "(the trace is discarded; --ignore-exit-status keeps it)")
    if sink.seen == 0:
        fail("valgrind produced no access records")
    if sink.written == 0:
        fail(f"no records left after --skip {args.skip} "
             f"(the program made only {sink.seen})")
    warn_about(router, sink, fmt)
    sink.commit()

    extra = []
    if stopped_at_limit:
        extra.append(f"stopped:         at --limit {args.limit}; the program was then ended")
    else:
        extra.append(f"program:         {describe_status(rc)}")
    print_summary(out, fmt, sink, router, extra)
    print(f"time:            {elapsed:.1f} s")
    return 0
