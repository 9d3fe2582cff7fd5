#!/usr/bin/env python3
"""`mmusim run --curves`: one pass against separate runs (ctest: curves_e2e).

The simulator is $MMUSIM. For each scenario one run with --curves writes
curves.csv; then, for at least 64 geometries of each of l1d, l1i and l2,
an ordinary run with that geometry set by --set gives the TLB's misses, and
every point must be equal. The expected values are thus the separate runs'
own statistics, never the curves. l1d and l1i change together in one
separate run: they serve different access kinds, so neither's input depends
on the other's geometry; l2 changes alone (its input is what the level-1
TLBs miss).

Scenarios: every bundled trace on the default config (a prefix of each, to
keep the test short); two processes with PCIDs, transparent huge pages and
short time slices (many CR3 writes, per-PCID flushes, 2 MiB entries); two
processes without PCIDs (every switch flushes the non-global entries) whose
fault handler's memory work goes through the MMU as kernel accesses.
"""
import csv
import glob
import os
import subprocess
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

MMUSIM = os.environ.get("MMUSIM", "build/mmusim")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACES = sorted(glob.glob(os.path.join(ROOT, "traces", "*.zst")))
JOBS = 2
# Under ASan/UBSan (scripts/run-tests --sanitize: build-sanitize/) runs are
# several times slower: fewer geometries, shorter prefixes, three traces.
SANITIZED = "sanitize" in os.path.abspath(MMUSIM)
POINTS = 16 if SANITIZED else 64
PREFIX = "60000" if SANITIZED else "300000"
if SANITIZED:
    TRACES = [t for t in TRACES if os.path.basename(t).split(".")[0] in ("ls-small", "sqlite-memdb", "gzip-compress-i386")]


def run(args):
    return subprocess.run([MMUSIM, "run", "-q"] + args, capture_output=True, text=True)


def stats(outdir):
    with open(os.path.join(outdir, "stats.csv")) as f:
        return {row["path"]: row["value"] for row in csv.DictReader(f)}


def curves(outdir):
    with open(os.path.join(outdir, "curves.csv")) as f:
        rows = list(csv.DictReader(f))
    out = {}
    for r in rows:
        out.setdefault(r["tlb"], []).append(r)
    return out


def pick(rows, n):
    """n geometries spread over the curve, denser among the small ones (where
    the misses differ most): rows ordered by entries, taken at quadratically
    spaced positions, both fully and set-associative; deterministic."""
    if len(rows) <= n:
        return rows
    ordered = sorted(rows, key=lambda r: (int(r["entries"]), int(r["sets"])))
    chosen, last = [], -1
    for k in range(n):
        i = max(int(len(ordered) * (k / n) ** 2), last + 1)
        chosen.append(ordered[i])
        last = i
    assert len({(r["sets"], r["ways"]) for r in chosen}) == n
    return chosen


def geometry_sets(tlb, row):
    return ["--set", f"mmu.tlbs.{tlb}.entries={row['entries']}", "--set", f"mmu.tlbs.{tlb}.ways={row['ways']}"]


class Scenario:
    def __init__(self, name, base_args):
        self.name = name
        self.base = base_args


SCENARIOS = [Scenario(os.path.basename(t), ["-t", t, "--max-accesses", PREFIX]) for t in TRACES] + [
    Scenario(
        "two processes, pcid, thp",
        [
            "-t", os.path.join(ROOT, "traces/xz-compress.bin.zst"),
            "-t", os.path.join(ROOT, "traces/sqlite-memdb.bin.zst"),
            "--max-accesses", PREFIX,
            "--set", "paging.pcid=true",
            "--set", "os.thp=always",
            "--set", "replay.switch_interval=3000",
        ],
    ),
    Scenario(
        "two processes, no pcid, kernel accesses",
        [
            "-t", os.path.join(ROOT, "traces/bzip2-compress.bin.zst"),
            "-t", os.path.join(ROOT, "traces/sort-words.bin.zst"),
            "--max-accesses", PREFIX,
            "--set", "os.fault_model=accesses",
            "--set", "replay.switch_interval=2000",
        ],
    ),
]


class CurvesAgainstSeparateRuns(unittest.TestCase):
    def check_scenario(self, sc):
        with tempfile.TemporaryDirectory() as tmp:
            one = os.path.join(tmp, "one")
            r = run(sc.base + ["--curves", "l1d,l1i,l2", "-o", one])
            self.assertEqual(r.returncode, 0, r.stderr)
            cv = curves(one)
            self.assertEqual(sorted(cv), ["l1d", "l1i", "l2"])
            base_stats = stats(one)
            # Each of the three TLBs gets POINTS geometries; l1d and l1i share runs.
            picks = {t: pick(cv[t], POINTS) for t in cv}
            for t in cv:
                self.assertGreaterEqual(len(picks[t]), POINTS, t)
            jobs = []
            for i in range(POINTS):
                jobs.append(("l1d+l1i", [("l1d", picks["l1d"][i]), ("l1i", picks["l1i"][i])]))
                jobs.append(("l2", [("l2", picks["l2"][i])]))

            def separate(job):
                idx, (label, points) = job
                out = os.path.join(tmp, f"sep{idx}")
                args = list(sc.base)
                for tlb, row in points:
                    args += geometry_sets(tlb, row)
                res = run(args + ["-o", out])
                return points, res, (stats(out) if res.returncode == 0 else None)

            with ThreadPoolExecutor(JOBS) as ex:
                results = list(ex.map(separate, enumerate(jobs)))
            compared = 0
            for points, res, st in results:
                self.assertEqual(res.returncode, 0, res.stderr)
                for tlb, row in points:
                    where = f"{sc.name}: {tlb} {row['sets']} sets x {row['ways']} ways"
                    self.assertEqual(st[f"mmu.tlb.{tlb}.accesses"], row["accesses"], where)
                    self.assertEqual(st[f"mmu.tlb.{tlb}.misses"], row["misses"], where)
                    # l2 is the last level: every walk follows one of its lookups
                    if tlb == "l2":
                        self.assertEqual(st["mmu.walker.walks"], row["walks"], where + ": walks")
                    else:
                        self.assertEqual(row["walks"], "", where)
                    compared += 1
            self.assertEqual(compared, 3 * POINTS)
            # The default geometry's point equals the one-pass run's own counters.
            for tlb, (s, w) in {"l1d": (16, 4), "l1i": (16, 8), "l2": (128, 12)}.items():
                row = next(r for r in cv[tlb] if r["sets"] == str(s) and r["ways"] == str(w))
                self.assertEqual(row["misses"], base_stats[f"mmu.tlb.{tlb}.misses"], tlb)
            # Curves that are never flat: some geometries really differ.
            self.assertGreater(len({r["misses"] for r in picks["l1d"]}), 2 if SANITIZED else 5, sc.name)


def make_test(sc):
    def test(self):
        self.check_scenario(sc)

    return test


for i, sc in enumerate(SCENARIOS):
    setattr(CurvesAgainstSeparateRuns, f"test_{i:02d}_{sc.name.replace('.', '_').replace(' ', '_').replace(',', '')}",
            make_test(sc))


class CurvesOutput(unittest.TestCase):
    SMALL = os.path.join(ROOT, "traces/ls-small.lackey.zst")

    def test_byte_identical_across_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            outs = []
            for k in range(2):
                o = os.path.join(tmp, str(k))
                r = run(["-t", self.SMALL, "--curves", "l2", "--curves", "l1d", "-o", o])
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(os.path.join(o, "curves.csv"), "rb") as f:
                    outs.append(f.read())
            self.assertEqual(outs[0], outs[1])
            lines = outs[0].decode().splitlines()
            self.assertEqual(lines[0], "tlb,sets,ways,entries,accesses,hits,misses,walks")
            # l1d: bound 4 x 64 = 256; sets 1..256, ways 1..256/sets.
            self.assertEqual(sum(1 for l in lines if l.startswith("l1d,")), sum(256 // s for s in [1, 2, 4, 8, 16, 32, 64, 128, 256]))
            # l2: bound 4 x 1536 = 6144; sets 1..4096.
            self.assertEqual(sum(1 for l in lines if l.startswith("l2,")), sum(6144 // (1 << i) for i in range(13)))

    def test_config_key_and_bound(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(["-t", self.SMALL, "--set", "mmu.tlbs.l1d.curves=24", "-o", tmp])
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = curves(tmp)["l1d"]
            # sets 1, 2, 4, 8, 16 with ways up to 24, 12, 6, 3, 1
            self.assertEqual([(int(r["sets"]), int(r["ways"])) for r in rows],
                             [(s, w) for s in [1, 2, 4, 8, 16] for w in range(1, 24 // s + 1)])
            for r in rows:
                self.assertEqual(int(r["hits"]) + int(r["misses"]), int(r["accesses"]))
            # fully associative misses never grow with entries (LRU inclusion)
            fa = [int(r["misses"]) for r in rows if r["sets"] == "1"]
            self.assertEqual(fa, sorted(fa, reverse=True))

    def test_bad_input(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(["-t", self.SMALL, "--curves", "l1d,nope", "-o", tmp])
            self.assertEqual(r.returncode, 2)
            self.assertIn("--curves", r.stderr)
            self.assertIn("'nope'", r.stderr)
            r = run(["-t", self.SMALL, "--curves", "l1d"])
            self.assertEqual(r.returncode, 2)
            self.assertIn("-o OUTDIR", r.stderr)
            r = run(["-t", self.SMALL, "--set", "mmu.tlbs.l1d.curves=70000", "-o", tmp])
            self.assertEqual(r.returncode, 2)
            self.assertIn("mmu.tlbs.l1d.curves", r.stderr)
            # --curves keeps a bound the config gives
            r = run(["-t", self.SMALL, "--set", "mmu.tlbs.l1d.curves=8", "--curves", "l1d", "-o", tmp])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(curves(tmp)["l1d"]), 8 + 4 + 2 + 1)

    def test_nothing_written_for_a_failed_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "o")
            r = run(["-t", self.SMALL, "--curves", "l1d", "-o", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(out, "curves.csv")))
            bad = os.path.join(tmp, "bad.txt")
            with open(bad, "w") as f:
                f.write("R 0x1000\nthis is not a record\n")
            r = run(["-t", bad, "--format", "text", "--curves", "l1d", "-o", out])
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(out, "curves.csv")))


def sweep(args):
    return subprocess.run([MMUSIM, "sweep"] + args, capture_output=True, text=True)


class OnePassSweep(unittest.TestCase):
    def both(self, exp_text, tmp, name="exp"):
        exp = os.path.join(tmp, name + ".yaml")
        with open(exp, "w") as f:
            f.write(exp_text)
        one = sweep([exp, "-j", str(JOBS), "-o", os.path.join(tmp, "one")])
        self.assertEqual(one.returncode, 0, one.stderr)
        exact = sweep([exp, "-j", str(JOBS), "--method", "exact", "-o", os.path.join(tmp, "exact")])
        self.assertEqual(exact.returncode, 0, exact.stderr)
        with open(os.path.join(tmp, "one", "results.csv"), "rb") as f:
            a = f.read()
        with open(os.path.join(tmp, "exact", "results.csv"), "rb") as f:
            b = f.read()
        return one, exact, a, b

    @unittest.skipIf(SANITIZED, "105 runs of 2 M accesses: too slow under sanitizers (the l2 test below still runs)")
    def test_l1d_reach_runs_in_one_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            exp = os.path.join(ROOT, "configs/experiments/l1d-reach.yaml")
            one = sweep([exp, "-j", str(JOBS), "-o", os.path.join(tmp, "one")])
            self.assertEqual(one.returncode, 0, one.stderr)
            self.assertIn("one pass: 21 points x 5 traces", one.stderr)
            self.assertIn("5 runs instead of 105", one.stderr)
            exact = sweep([exp, "-j", str(JOBS), "--method", "exact", "-o", os.path.join(tmp, "exact")])
            self.assertEqual(exact.returncode, 0, exact.stderr)
            self.assertNotIn("one pass", exact.stderr)
            with open(os.path.join(tmp, "one", "results.csv"), "rb") as f:
                a = f.read()
            with open(os.path.join(tmp, "exact", "results.csv"), "rb") as f:
                b = f.read()
            self.assertEqual(a, b)
            self.assertEqual(len(a.decode().splitlines()), 1 + 21 * 5)

    def test_l2_with_walks_pcids_and_a_grouping_key(self):
        small = os.path.join(ROOT, "traces/ls-small.lackey.zst")
        xz = os.path.join(ROOT, "traces/xz-compress.bin.zst")
        sq = os.path.join(ROOT, "traces/sqlite-memdb.bin.zst")
        text = f"""name: l2
traces: [{small}, [{xz}, {sq}]]
max_accesses: 400000
set: {{paging.pcid: true, replay.switch_interval: 4000}}
sweep:
  os.thp: [never, always]
  mmu.tlbs.l2.entries: [32, 256, 2048]
  mmu.tlbs.l2.ways: [1, 8, 32]
metrics: [mmu.tlb.l2.misses, mmu.walker.walks, mmu.tlb.l2.accesses]
"""
        with tempfile.TemporaryDirectory() as tmp:
            one, _, a, b = self.both(text, tmp)
            self.assertIn("one pass: 18 points x 2 traces", one.stderr)
            self.assertIn("4 runs instead of 36", one.stderr)
            self.assertEqual(a, b)

    def test_falls_back_with_a_reason(self):
        small = os.path.join(ROOT, "traces/ls-small.lackey.zst")
        cases = [
            ("sweep: {mmu.tlbs.l1d.entries: [32, 64]}\nmetrics: [mmu.tlb.l1d.misses, replay.cycles]\n",
             "metric replay.cycles is not determined by the input of TLB l1d"),
            ("sweep: {mmu.tlbs.l1d.entries: [32, 64]}\nmetrics: [mmu.walker.walks]\n",
             "metric mmu.walker.walks is not determined by TLB l1d"),
            ("sweep: {mmu.tlbs.l1d.entries: [32, 64], mmu.tlbs.l2.ways: [6, 12]}\nmetrics: [mmu.tlb.l1d.misses]\n",
             "the sweep changes two TLBs"),
            ("set: {mmu.tlbs.l1d.replacement: plru}\nsweep: {mmu.tlbs.l1d.entries: [32, 64]}\nmetrics: [mmu.tlb.l1d.misses]\n",
             "mmu.tlbs.l1d.replacement is plru"),
            ("sweep: {os.thp: [never, always]}\nmetrics: [mmu.tlb.l1d.misses]\n",
             "no swept key is the entries or ways of a TLB"),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for i, (body, reason) in enumerate(cases):
                exp = os.path.join(tmp, f"e{i}.yaml")
                with open(exp, "w") as f:
                    f.write(f"name: e{i}\ntraces: [{small}]\nmax_accesses: 20000\n" + body)
                r = sweep([exp, "-o", os.path.join(tmp, f"o{i}")])
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = [l for l in r.stderr.splitlines() if l.startswith("sweep: separate runs: ")]
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(reason, lines[0])
                r = sweep([exp, "--method", "one-pass", "-o", os.path.join(tmp, f"p{i}")])
                self.assertEqual(r.returncode, 2)
                self.assertIn("--method one-pass", r.stderr)
                self.assertIn(reason, r.stderr)
            r = sweep([os.path.join(tmp, "e0.yaml"), "--method", "fast", "-o", os.path.join(tmp, "x")])
            self.assertEqual(r.returncode, 2)
            self.assertIn("--method", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
