#!/usr/bin/env python3
"""The bad-input corpus: every case is a command that must fail
with a documented exit code and a message naming what is wrong (and a few
that must now succeed, exit: 0, where the fix was to accept the input).

Each case is a file tests/bad_input/cases/NAME.case of "key: value" lines:

    # what the case checks (comment lines start with #)
    args: run -q -t {case}/trace.txt        mmusim's arguments, split as a shell would
    exit: 3                                  the expected exit code
    message: trace.txt:3                     a fragment the output must contain (repeatable)
    file: NAME = PYTHON-EXPRESSION           writes {tmp}/NAME (str or bytes) before the run
    stdin: PATH                              the file given on standard input
    before: PATH                             a stale file created before the run (repeatable)
    absent: PATH                             a file that must not exist after the run (repeatable)
    present: PATH                            a file that must exist after the run (repeatable)
    fsize: BYTES                             RLIMIT_FSIZE of the run (a full disk, without root)
    readonly: PATH                           a read-only directory (a read-only tmpfs as root)

Placeholders: {case} the case's directory (tests/bad_input/cases), {tmp} a
fresh directory per case, {src} the source tree. The messages are those the
README documents: the fragments were written from the rule each case breaks
(its key, limit, file and line), not copied from a run.

Usage: run.py [MMUSIM] [NAME...]   (MMUSIM from the environment otherwise)
"""
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CASES = os.path.join(HERE, "cases")


def parse(path):
    c = {"message": [], "file": [], "before": [], "absent": [], "present": []}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            raise SystemExit(f"{path}:{n}: expected 'key: value', got {line!r}")
        value = value.strip()
        if key in c and isinstance(c[key], list):
            c[key].append(value)
        elif key in ("args", "exit", "stdin", "fsize", "readonly"):
            c[key] = value
        else:
            raise SystemExit(f"{path}:{n}: unknown key {key!r}")
    for k in ("args", "exit"):
        if k not in c:
            raise SystemExit(f"{path}: missing {k}:")
    return c


def make_readonly(path):
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", path], capture_output=True)
        return r.returncode == 0
    os.chmod(path, 0o555)
    return True


def run_case(exe, name, c):
    tmp = tempfile.mkdtemp(prefix=f"mmusim-bad-{name}-")
    subst = lambda s: s.replace("{case}", CASES).replace("{tmp}", tmp).replace("{src}", SRC)
    mounted = None
    try:
        for spec in c["file"]:
            fname, _, expr = spec.partition(" = ")
            data = eval(expr, {"__builtins__": {"range": range, "str": str, "bytes": bytes, "len": len}})
            with open(os.path.join(tmp, fname), "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
        for b in c["before"]:
            p = subst(b)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("stale\n")
        if "readonly" in c:
            p = subst(c["readonly"])
            if not make_readonly(p):
                return "skipped (no read-only directory can be made here)"
            if os.geteuid() == 0:
                mounted = p
        args = [exe] + [subst(a) for a in shlex.split(c["args"])]
        stdin = open(subst(c["stdin"]), "rb") if "stdin" in c else subprocess.DEVNULL

        def limits():
            if "fsize" in c:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
                resource.setrlimit(resource.RLIMIT_FSIZE, (int(c["fsize"]), int(c["fsize"])))

        r = subprocess.run(args, stdin=stdin, capture_output=True, cwd=tmp, timeout=300, preexec_fn=limits)
        out = (r.stdout + r.stderr).decode(errors="replace")
        problems = []
        if r.returncode != int(c["exit"]):
            problems.append(f"exit {r.returncode}, expected {c['exit']}")
        for m in c["message"]:
            if subst(m) not in out:
                problems.append(f"no {subst(m)!r} in the output")
        if len(out) > 20000:
            problems.append(f"{len(out)} bytes of output: a message echoes too much")
        if "internal error" in out:
            problems.append("an internal error")
        for a in c["absent"]:
            if os.path.exists(subst(a)):
                problems.append(f"{subst(a)} exists after the run")
        for a in c["present"]:
            if not os.path.exists(subst(a)):
                problems.append(f"{subst(a)} does not exist after the run")
        if problems:
            return "FAILED: " + "; ".join(problems) + "\n    $ " + " ".join(shlex.quote(a) for a in args[:12]) + \
                "\n    " + out[:1500].replace("\n", "\n    ")
        return None
    finally:
        if mounted:
            subprocess.run(["umount", mounted], capture_output=True)
        for root, dirs, _ in os.walk(tmp):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o755)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    argv = sys.argv[1:]
    exe = argv.pop(0) if argv and os.path.sep in argv[0] else os.environ.get("MMUSIM")
    if not exe:
        raise SystemExit("usage: run.py MMUSIM [CASE...] (or MMUSIM in the environment)")
    names = argv or sorted(f[:-5] for f in os.listdir(CASES) if f.endswith(".case"))
    failed = 0
    for name in names:
        result = run_case(os.path.abspath(exe), name, parse(os.path.join(CASES, name + ".case")))
        print(f"{name}: {result or 'ok'}")
        failed += bool(result and result.startswith("FAILED"))
    print(f"bad-input corpus: {len(names) - failed} of {len(names)} cases ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
