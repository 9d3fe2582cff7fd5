#!/usr/bin/env python3
"""`mmusim sweep` and `mmusim check` from the command line (ctest: sweep_cli).

The simulator is $MMUSIM. Each test runs real child `mmusim run` processes on
the small bundled trace; expected values come from direct `mmusim run`s of
the same configuration, from the experiment's definition, or from the file
system (which runs were redone), never from the sweep's own output.
"""
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

MMUSIM = os.environ.get("MMUSIM", "build/mmusim")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = os.path.join(ROOT, "traces/ls-small.lackey.zst")
TINY = "R 0x1000\nW 0x2000 8\nX 0x400000\nR 0x1ff8 16\n"


def fifo_holders(path):
    """Pids of live processes that hold path open or were started with it as
    an argument (a reader blocked in open() has no fd yet; a zombie has
    neither), from /proc."""
    holders = []
    arg = path.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if arg in f.read().split(b"\0"):
                    holders.append(int(pid))
                    continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    holders.append(int(pid))
                    break
        except OSError:  # gone, or not ours to look at
            continue
    return holders


def run(args, **kw):
    return subprocess.run([MMUSIM] + args, capture_output=True, text=True, **kw)


def stats_csv(path):
    with open(path) as f:
        return {row["path"]: row["value"] for row in csv.DictReader(f)}


def results(path):
    with open(path) as f:
        return list(csv.DictReader(f))


class Sweep(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmusim-sweep-test-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_results_match_direct_runs_in_point_then_trace_order(self):
        tiny = self.write("tiny.txt", TINY)
        exp = self.write("e.yaml", f"""name: t
traces: [{SMALL}, {tiny}]
set: {{os.thp: never}}
sweep: {{mmu.tlbs.l1d.entries: [32, 64]}}
zip: {{mmu.tlbs.l2.entries: [768, 1536], mmu.tlbs.l2.ways: [6, 12]}}
metrics: [mmu.tlb.l1d.misses, replay.cycles]
""")
        out = os.path.join(self.dir, "out")
        r = run(["sweep", exp, "-j", "2", "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = results(os.path.join(out, "results.csv"))
        # 2 sweep values x 2 zip rows x 2 traces, point-major in the file's order.
        expected_order = [(e, l2, w, t) for e in ("32", "64") for (l2, w) in (("768", "6"), ("1536", "12"))
                          for t in ("ls-small", "tiny")]
        got = [(x["mmu.tlbs.l1d.entries"], x["mmu.tlbs.l2.entries"], x["mmu.tlbs.l2.ways"], x["trace"]) for x in rows]
        self.assertEqual(got, expected_order)
        for x in rows[:3]:  # spot-check against direct runs
            d = os.path.join(self.dir, "direct")
            trace = SMALL if x["trace"] == "ls-small" else tiny
            rr = run(["run", "-q", "--set", "os.thp=never", "--set", "mmu.tlbs.l1d.entries=" + x["mmu.tlbs.l1d.entries"],
                      "--set", "mmu.tlbs.l2.entries=" + x["mmu.tlbs.l2.entries"],
                      "--set", "mmu.tlbs.l2.ways=" + x["mmu.tlbs.l2.ways"], "-t", trace, "-o", d])
            self.assertEqual(rr.returncode, 0, rr.stderr)
            s = stats_csv(os.path.join(d, "stats.csv"))
            self.assertEqual(x["status"], "ok")
            self.assertEqual(x["mmu.tlb.l1d.misses"], s["mmu.tlb.l1d.misses"])
            self.assertEqual(x["replay.cycles"], s["replay.cycles"])
            run_dir = os.path.join(out, "runs", x["point"], x["trace"])
            self.assertTrue(os.path.exists(os.path.join(run_dir, "config.yaml")))
        # Deterministic: the same sweep again gives a byte-identical results.csv.
        first = open(os.path.join(out, "results.csv"), "rb").read()
        r = run(["sweep", exp, "-j", "1", "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(open(os.path.join(out, "results.csv"), "rb").read(), first)

    def test_a_list_entry_runs_its_traces_as_processes_of_one_run(self):
        tiny = self.write("tiny.txt", TINY)
        exp = self.write("e.yaml", f"""name: t
traces: [[{SMALL}, {tiny}]]
sweep: {{replay.switch_interval: [1000, 5000]}}
metrics: [replay.switches, replay.cycles, os.processes]
""")
        out = os.path.join(self.dir, "out")
        r = run(["sweep", exp, "-j", "2", "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = results(os.path.join(out, "results.csv"))
        self.assertEqual([x["trace"] for x in rows], ["ls-small+tiny"] * 2)
        for x in rows:  # each equals a direct run with both traces as processes
            d = os.path.join(self.dir, "direct")
            rr = run(["run", "-q", "--set", "replay.switch_interval=" + x["replay.switch_interval"],
                      "-t", SMALL, "-t", tiny, "-o", d])
            self.assertEqual(rr.returncode, 0, rr.stderr)
            s = stats_csv(os.path.join(d, "stats.csv"))
            self.assertEqual(x["os.processes"], "2")
            for m in ("replay.switches", "replay.cycles"):
                self.assertEqual(x[m], s[m], m)

    def test_shipped_experiments_validate(self):
        exp_dir = os.path.join(ROOT, "configs", "experiments")
        for name in sorted(os.listdir(exp_dir)):
            if name.endswith(".yaml"):
                r = run(["sweep", os.path.join(exp_dir, name), "--dry-run", "-o", os.path.join(self.dir, name)])
                self.assertEqual(r.returncode, 0, name + ": " + r.stderr)

    def test_a_failed_run_is_reported_and_does_not_stop_the_others(self):
        bad = self.write("broken.txt", "R 0x1000\nL 0x2000\n")
        exp = self.write("e.yaml", f"traces: [{SMALL}, {bad}]\nsweep: {{mmu.tlbs.l1d.entries: [32, 64]}}\n")
        out = os.path.join(self.dir, "out")
        r = run(["sweep", exp, "-j", "2", "-o", out])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("FAILED point", r.stderr)
        self.assertIn("trace broken: exit 3", r.stderr)
        self.assertIn("broken.txt:2", r.stderr)  # the run's own error, with its line
        self.assertIn("/broken/log", r.stderr)
        rows = results(os.path.join(out, "results.csv"))
        self.assertEqual([x["status"] for x in rows], ["ok", "failed", "ok", "failed"])
        self.assertEqual(rows[1]["replay.cycles"], "")

    def test_resume_after_a_killed_run_reruns_only_unfinished_runs(self):
        # The second trace is a FIFO: its run blocks reading it until the test
        # writes, so the sweep can be killed while that run is mid-way.
        fifo = os.path.join(self.dir, "slow.txt")
        os.mkfifo(fifo)
        exp = self.write("e.yaml", f"traces: [{SMALL}, {fifo}]\nsweep: {{mmu.tlbs.l1d.entries: [32, 64]}}\n")
        out = os.path.join(self.dir, "out")
        p = subprocess.Popen([MMUSIM, "sweep", exp, "-j", "1", "-o", out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        listing = run(["sweep", exp, "--dry-run"]).stdout.split("\n")[1:3]
        ids = [line.split()[0] for line in listing]
        first = os.path.join(out, "runs", ids[0], "ls-small")
        blocked = os.path.join(out, "runs", ids[0], "slow")
        deadline = time.time() + 60
        while not (os.path.exists(os.path.join(blocked, "cmd")) and os.path.exists(os.path.join(first, "stats.json"))):
            self.assertLess(time.time(), deadline, "the sweep never reached the blocked run")
            time.sleep(0.02)
        time.sleep(0.2)
        os.killpg(p.pid, signal.SIGKILL)  # the sweep and its running child
        p.wait()
        # p.wait() reaps the sweep only. Until the killed child has exited it
        # may still count as a reader of the FIFO: a writer opening it then
        # does not block, and what it writes is dropped with the pipe when the
        # child goes - the resumed run would wait for a writer forever. So
        # wait until no process holds the FIFO open or is still opening it.
        deadline = time.time() + 60
        while fifo_holders(fifo):
            self.assertLess(time.time(), deadline, "the killed run never released the FIFO")
            time.sleep(0.02)
        self.assertFalse(os.path.exists(os.path.join(blocked, "stats.json")))
        self.assertFalse(os.path.exists(os.path.join(out, "results.csv")))
        before = os.stat(os.path.join(first, "stats.json"))

        def feed():  # each remaining FIFO run reads the tiny trace once, in turn
            for k, point in enumerate(ids):
                # With -j 1 the sweep writes a run's cmd only after the previous
                # run exited, so no earlier reader can swallow this copy.
                started = os.path.join(out, "runs", point, "slow", "cmd")
                while k > 0 and not os.path.exists(started) and time.time() < deadline:
                    time.sleep(0.02)
                with open(fifo, "w") as f:
                    f.write(TINY)

        deadline = time.time() + 120
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        r = run(["sweep", exp, "-j", "1", "-o", out, "--resume"], timeout=120)
        feeder.join(10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 already finished (--resume), 3 to run", r.stderr)
        after = os.stat(os.path.join(first, "stats.json"))
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))  # not rerun
        self.assertTrue(os.path.exists(os.path.join(blocked, "stats.json")))
        rows = results(os.path.join(out, "results.csv"))
        self.assertEqual([x["status"] for x in rows], ["ok"] * 4)
        # A second --resume has nothing left to do.
        r = run(["sweep", exp, "-o", out, "--resume"], timeout=60)
        self.assertIn("4 already finished (--resume), 0 to run", r.stderr)

    def test_resume_reruns_a_run_whose_settings_changed(self):
        exp = self.write("e.yaml", f"traces: [{SMALL}]\nsweep: {{mmu.tlbs.l1d.entries: [32]}}\nmax_accesses: 1000\n")
        out = os.path.join(self.dir, "out")
        self.assertEqual(run(["sweep", exp, "-o", out]).returncode, 0)
        exp = self.write("e.yaml", f"traces: [{SMALL}]\nsweep: {{mmu.tlbs.l1d.entries: [32]}}\nmax_accesses: 2000\n")
        r = run(["sweep", exp, "-o", out, "--resume"])
        self.assertIn("0 already finished (--resume), 1 to run", r.stderr)
        self.assertEqual(stats_csv(os.path.join(out, "runs", results(os.path.join(out, "results.csv"))[0]["point"],
                                                "ls-small", "stats.csv"))["replay.accesses"], "2000")

    def test_bad_experiment_files_fail_before_anything_runs(self):
        out = os.path.join(self.dir, "out")
        cases = [
            (f"traces: [{SMALL}]\nsweep:\n  mmu.tlbs.l1d.entries: [32, 64, 48]\n",
             "e.yaml: point 3 of 3 (mmu.tlbs.l1d.entries=48)"),
            (f"traces: [{SMALL}]\nsweep: {{mmu.tlbs.l1d.entires: [32]}}\n", "did you mean 'mmu.tlbs.l1d.entries'"),
            (f"traces: [{SMALL}]\nmetrics: [mmu.tlb.l1d.miss]\n", "did you mean 'mmu.tlb.l1d.misses'"),
            (f"traces: [{SMALL}]\nswep: {{}}\n", "e.yaml:2:1: unknown key 'swep'; did you mean 'sweep'"),
            ("traces: [missing.bin.zst]\n", "e.yaml:1:10: traces: no such trace file 'missing.bin.zst'"),
            (f"traces: [{SMALL}]\nzip: {{os.thp: [never, always], mmu.tlbs.l2.ways: [4]}}\n", "has 1 values"),
        ]
        for text, message in cases:
            exp = self.write("e.yaml", text)
            shutil.rmtree(out, ignore_errors=True)
            r = run(["sweep", exp, "-o", out])
            self.assertEqual(r.returncode, 2, text + r.stderr)
            self.assertIn(message, r.stderr, text)
            self.assertFalse(os.path.exists(os.path.join(out, "runs")), text)
        self.assertEqual(run(["sweep"]).returncode, 2)
        self.assertEqual(run(["sweep", os.path.join(self.dir, "nope.yaml")]).returncode, 2)


class Check(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmusim-check-test-")
        src = os.path.join(ROOT, "tests/golden/x86_64-ls-small")
        self.case = os.path.join(self.dir, "case1")
        os.makedirs(self.case)
        with open(os.path.join(self.case, "case.yaml"), "w") as f:
            f.write(f"config: {ROOT}/configs/x86_64.yaml\ntraces: [{SMALL}]\n")
        shutil.copy(os.path.join(src, "expected.csv"), self.case)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self):  # runs kept inside the test's directory, removed with it
        return run(["check", self.case, "--keep", os.path.join(self.dir, "runs")])

    def edit(self, key, change, tolerance=None):
        p = os.path.join(self.case, "expected.csv")
        lines = open(p).read().splitlines()
        for i, line in enumerate(lines):
            k, v = line.rsplit(",", 1)
            if k == key:
                lines[i] = f"{k},{change(int(v))}"
        open(p, "w").write("\n".join(lines) + "\n")
        if tolerance is not None:
            with open(os.path.join(self.case, "case.yaml"), "a") as f:
                f.write(f"tolerance: {{{key}: {tolerance}}}\n")

    def test_unchanged_case_passes(self):
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("case1: ok", r.stdout)

    def test_a_changed_statistic_fails_with_a_readable_diff(self):
        with open(os.path.join(self.case, "expected.csv")) as f:
            v = next(int(l.split(",")[1]) for l in f if l.startswith("os.faults.minor,"))
        self.edit("os.faults.minor", lambda v: v + 1)
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("case1: FAILED: 1 of", r.stdout)
        self.assertIn(f"~ os.faults.minor: expected {v + 1}, got {v} (-1,", r.stdout)

    def test_a_missing_statistic_is_a_difference(self):
        with open(os.path.join(self.case, "expected.csv"), "a") as f:
            f.write("mmu.tlb.l0.misses,5\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("- mmu.tlb.l0.misses: expected 5, missing", r.stdout)

    def test_declared_tolerance_applies_to_that_statistic_only(self):
        self.edit("replay.cycles", lambda v: round(v * 1.005), tolerance=0.01)
        self.assertEqual(self.check().returncode, 0)
        self.edit("replay.cycles", lambda v: round(v * 1.03))
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("tolerance 1%", r.stdout)

    def test_malformed_case_is_a_usage_error(self):
        with open(os.path.join(self.case, "case.yaml"), "a") as f:
            f.write("tolerence: {}\n")
        r = self.check()
        self.assertEqual(r.returncode, 2)
        self.assertIn("case.yaml:3:1: unknown key 'tolerence'", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
