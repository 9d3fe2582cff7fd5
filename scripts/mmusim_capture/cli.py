"""The command line of capture-trace (scripts/capture-trace): argument
parsing and dispatch to the modes; --stats runs `mmusim stats`."""

import argparse
import os
import shutil
import subprocess
import sys

from .common import CaptureError, DEFAULT_MMUSIM, FORMATS, PROG, die, parse_count
from .modes import capture_mode, from_log_mode
from .text_input import generate_text


def stats_mode(paths, mmusim=None):
    """--stats: `mmusim stats TRACE...`, mmusim's own reader of every trace
    format (records, accesses and events by kind, footprint).  Returns its
    exit status."""
    exe = mmusim or DEFAULT_MMUSIM
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise CaptureError(
            f"--stats runs `mmusim stats`, but {exe} does not exist or is not executable: "
            "build mmusim first (scripts/build) or pass --mmusim PATH")
    return subprocess.call([exe, "stats", "--"] + list(paths))


def main(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        usage=("%(prog)s [-o OUT] [--format FMT] [--skip N] [--limit N] [options] -- COMMAND [ARGS...]\n"
               "       %(prog)s --from-log LOG [-o OUT] [--format FMT] [--skip N] [--limit N]\n"
               "       %(prog)s --stats TRACE...\n"
               "       %(prog)s --gen-text BYTES [--seed S]"),
        description=(
            "Run COMMAND under valgrind's lackey tool and write its memory-access "
            "trace compressed with zstd: lackey's own records (--format lackey), or "
            "mmusim's text or bin format with the program's address-space changes "
            "(mmap, munmap, mprotect, brk, mremap, fork, exit) as events, made from "
            "valgrind --trace-syscalls=yes and valgrind's start-up memory map, and each "
            "record written as its thread's (@clone, @thread, from valgrind "
            "--trace-sched=yes) (--format text|bin). The trace is streamed from valgrind through a pipe "
            "into zstd; the program's own stdout/stderr stay separate. Exits non-zero "
            "if valgrind or COMMAND fails. "
            "With --from-log, convert a saved valgrind log instead (see "
            "tests/capture/README.md for how to save one). "
            "With --stats, print the records, accesses and events by kind, and distinct "
            "4 KiB pages and 2 MiB regions of existing traces (runs `mmusim stats`)."),
        epilog=(
            "N accepts k/M/G suffixes (powers of 1000), e.g. --limit 12M.\n"
            "Without --format the format comes from OUT's name: *.bin.zst bin, "
            "*.txt.zst (.text, .trace) text,\nanything else lackey; without -o it is "
            "lackey, written to ./<command-name>.lackey.zst.\n"
            "Examples:\n"
            "  scripts/capture-trace -o traces/ls-small.lackey.zst --limit 150k -- ls /\n"
            "  scripts/capture-trace -o ls.bin.zst --clean-env --stdout /dev/null "
            "--stderr /dev/null -- ls /\n"
            "  scripts/capture-trace --stats traces/ls-small.lackey.zst"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file (default: ./<command-name>.<format>.zst); written "
                        "as OUT.tmp and renamed when complete")
    p.add_argument("--format", choices=FORMATS,
                   help="output format: lackey (records only, as valgrind prints them), "
                        "text or bin (mmusim's formats, with events); default from OUT's name")
    p.add_argument("--mmusim", metavar="PATH",
                   help=f"the mmusim binary for bin output and --stats (default: {DEFAULT_MMUSIM})")
    p.add_argument("--skip", type=parse_count, default=0, metavar="N",
                   help="drop the first N access records (warm-up, dynamic loader); "
                        "events are kept")
    p.add_argument("--limit", type=parse_count, default=None, metavar="N",
                   help="stop after writing N access records; the program is then ended")
    p.add_argument("--level", type=int, default=19, metavar="L",
                   help="zstd level 1..22 (default 19; above 19 adds --ultra)")
    p.add_argument("--stdin", metavar="FILE",
                   help="COMMAND's standard input (default: /dev/null)")
    p.add_argument("--stdin-cmd", metavar="SHELL_CMD",
                   help="COMMAND's stdin is the output of `sh -c SHELL_CMD` (collected in a "
                        "temporary file first, so the program's reads repeat exactly)")
    p.add_argument("--stdin-text", type=parse_count, metavar="BYTES",
                   help="COMMAND's stdin is BYTES of deterministic English-like text "
                        "(see --seed; a temporary file, like --stdin-cmd)")
    p.add_argument("--seed", type=int, default=42,
                   help="seed for --stdin-text and --gen-text (default 42)")
    p.add_argument("--gen-text", type=parse_count, metavar="BYTES",
                   help="print BYTES of the --stdin-text text to stdout and exit (to make "
                        "other inputs from it, e.g. with --stdin-cmd)")
    p.add_argument("--stdout", metavar="FILE",
                   help="COMMAND's standard output (default: inherited)")
    p.add_argument("--clean-env", action="store_true",
                   help="run with only PATH=/usr/local/bin:/usr/bin:/bin, LC_ALL=C, an "
                        "empty LD_PRELOAD and PWD padded with slashes to a fixed length: "
                        "repeatable captures (the same addresses in every run, from any "
                        "working directory)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set an environment variable for COMMAND (repeatable; applied "
                        "after --clean-env)")
    p.add_argument("--stderr", metavar="FILE",
                   help="COMMAND's (and valgrind's own) standard error (default: inherited)")
    p.add_argument("--valgrind", default="valgrind", metavar="PATH",
                   help="valgrind executable (default: valgrind)")
    p.add_argument("--valgrind-opt", action="append", default=[], metavar="OPT",
                   help="extra valgrind option, e.g. --valgrind-opt=--smc-check=all "
                        "(repeatable)")
    p.add_argument("--ignore-exit-status", action="store_true",
                   help="keep the trace even if COMMAND exits non-zero")
    p.add_argument("--no-pages", action="store_true",
                   help="do not count distinct pages while capturing (a bit faster)")
    p.add_argument("--from-log", metavar="LOG",
                   help="convert the valgrind log LOG (plain or zstd/gzip/xz; - for stdin) "
                        "instead of running a program")
    p.add_argument("--stats", action="store_true",
                   help="print statistics of the TRACE files given instead of capturing "
                        "(`mmusim stats TRACE...`; --mmusim names the binary)")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help=argparse.SUPPRESS)

    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    try:
        if args.gen_text is not None:
            for chunk in generate_text(args.gen_text, args.seed):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        if args.stats:
            if not args.command:
                die("--stats needs trace files", 2)
            return stats_mode(args.command, args.mmusim)
        if sum(x is not None for x in (args.stdin, args.stdin_cmd, args.stdin_text)) > 1:
            die("use only one of --stdin, --stdin-cmd, --stdin-text", 2)
        if not 1 <= args.level <= 22:
            die("--level must be 1..22", 2)
        if args.limit == 0:
            die("--limit must be at least 1", 2)
        if args.from_log is not None:
            if args.command:
                die("--from-log takes no COMMAND", 2)
            if shutil.which("zstd") is None:
                die("zstd not found; install it (apt-get install zstd)")
            return from_log_mode(args)
        return capture_mode(args)
    except CaptureError as e:
        die(str(e))
