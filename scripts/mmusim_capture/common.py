"""Constants, errors, messages and small helpers shared by the modules of
capture-trace: record kinds, page arithmetic, the clean environment,
compressed input, the mmusim binary."""

import argparse
import os
import shutil
import signal
import subprocess
import sys


PROG = "capture-trace"

PAGE_SHIFT = 12      # 4 KiB pages
REGION_SHIFT = 21    # 2 MiB regions
PAGE = 1 << PAGE_SHIFT

# The four lackey record kinds, keyed by the first two bytes of the line.
KIND_OF_PREFIX = {b"I ": "I", b" L": "L", b" S": "S", b" M": "M"}
KINDS = ("I", "L", "S", "M")
# lackey kind -> mmusim text kind: instruction fetch X, load R, store W, modify M
TEXT_KIND = {"I": "X", "L": "R", "S": "W", "M": "M"}
TEXT_KINDS = ("R", "W", "X", "M")
LACKEY_OF_TEXT = {v: k for k, v in TEXT_KIND.items()}
TEXT_LETTER = {k: v.encode() for k, v in TEXT_KIND.items()}
EVENT_KINDS = ("mmap", "munmap", "mprotect", "brk", "fork", "exit", "proc", "invlpg", "mark", "clone",
               "thread")
FORMATS = ("lackey", "text", "bin")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
DEFAULT_MMUSIM = os.path.join(REPO_ROOT, "build", "mmusim")

# --clean-env: the whole environment of valgrind and COMMAND.  The environment
# strings sit on the program's initial stack, so their size moves every stack
# address in the trace; a fixed environment makes captures repeatable.
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"}
PWD_LENGTH = 256


def clean_env():
    """CLEAN_ENV plus LD_PRELOAD and PWD, arranged so that captures repeat.

    PWD: Debian's `valgrind` is a shell script, and the shell exports PWD into
    the program's environment.  Its length would move every string after it on
    the initial stack, so we pass PWD ourselves, padded with slashes to a fixed
    length (`/work///...`: the same directory; the shell keeps a PWD that
    names the current directory).

    LD_PRELOAD (empty, first): valgrind then puts its preload library into it
    where it stands instead of appending a new LD_PRELOAD at the end, right
    before the 16 AT_RANDOM bytes, where ld.so's word-wise scan of it reads
    some of those random bytes and uses them as a table index (a few random
    load addresses per run)."""
    env = {"LD_PRELOAD": ""}
    env.update(CLEAN_ENV)
    cwd = os.getcwd()
    if len(cwd) > PWD_LENGTH:
        note(f"warning: working directory path longer than {PWD_LENGTH} bytes; "
             "stack addresses will differ from captures made elsewhere")
    env["PWD"] = cwd + "/" * (PWD_LENGTH - len(cwd))
    return env


class CaptureError(Exception):
    """A fatal problem; main() prints it and exits 1."""


def die(msg, code=1):
    sys.stderr.write(f"{PROG}: error: {msg}\n")
    sys.exit(code)


def note(msg):
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()


def parse_count(text):
    """Parse a record count: decimal, with optional _ or , separators and an
    optional k/M/G suffix (powers of 1000)."""
    t = text.strip().replace("_", "").replace(",", "")
    mult = 1
    if t and t[-1] in "kKmMgG":
        mult = {"k": 10**3, "m": 10**6, "g": 10**9}[t[-1].lower()]
        t = t[:-1]
    try:
        value = int(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a record count: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"negative record count: {text!r}")
    return value


def page_up(n):
    return (n + PAGE - 1) & ~(PAGE - 1)


def prot_text(prot):
    return ("r" if prot & 1 else "-") + ("w" if prot & 2 else "-") + ("x" if prot & 4 else "-")


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"


def open_maybe_compressed(path):
    """(binary line source, process or None) for a plain, zstd, gzip or xz
    file (by its first bytes; "-" is standard input, plain only)."""
    if path == "-":
        return sys.stdin.buffer, None
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise CaptureError(f"{path}: cannot read: {e.strerror}")
    for magic, tool in ((ZSTD_MAGIC, "zstd"), (GZIP_MAGIC, "gzip"), (XZ_MAGIC, "xz")):
        if head.startswith(magic):
            if shutil.which(tool) is None:
                raise CaptureError(f"{path}: {tool}-compressed, but {tool} is not installed")
            proc = subprocess.Popen([tool, "-dc", path], stdout=subprocess.PIPE)
            return proc.stdout, proc
    return open(path, "rb"), None


def find_mmusim(path):
    path = path or DEFAULT_MMUSIM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise CaptureError(
            f"bin output is made by `mmusim convert`, but {path} does not exist or is not "
            "executable: build mmusim first (scripts/build), pass --mmusim PATH, or write text "
            "(-o NAME.txt.zst) and convert it later with `mmusim convert NAME.txt.zst NAME.bin.zst`")
    return path


def describe_status(rc):
    if rc < 0:
        try:
            return f"was killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with status {rc}"
