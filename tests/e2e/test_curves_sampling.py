#!/usr/bin/env python3
"""Sampled miss curves (SHARDS, --curves-sample) against the exact curves
(ctest: curves_sampling_e2e).

The simulator is $MMUSIM. The expected values are the exact one-pass curves
of the same run (themselves checked against separate runs by
test_curves.py), never the sampled output:
- every point of the sampled curves.csv is within its misses_bound of the
  exact misses (the bound README "Sampled miss curves" states), on three
  bundled traces at two rates, for l1d and l2; accesses are exact;
- the points of the exact head (ways <= ceil(4 / R)) equal the exact ones;
- on xz-compress the bound is not the trivial one (enough sampled pages), so
  the check has teeth; its estimated points are also within 1% of the
  lookups there;
- sampling off (no option, rate 1, rate 0) gives byte-identical curves.csv
  with the unchanged header, and a sampled run is deterministic;
- a rate outside (0, 1] is refused with exit 2, naming the option or key;
- OPT (--curves-opt): its column is a lower bound on separate runs of the
  TLB with LRU, PLRU, FIFO and random replacement (fully and
  set-associative geometries of the same entry count) on two traces; the
  other columns are those of the run without it; not with sampling.
"""
import csv
import math
import os
import subprocess
import tempfile
import unittest

MMUSIM = os.environ.get("MMUSIM", "build/mmusim")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "60000" if "sanitize" in os.path.abspath(MMUSIM) else "2000000"
TRACES = ["xz-compress.bin.zst", "gzip-compress-i386.bin.zst", "sort-words.bin.zst"]
RATES = ["0.1", "0.05"]


def run(args):
    return subprocess.run([MMUSIM, "run", "-q"] + args, capture_output=True, text=True)


def curves(outdir):
    with open(os.path.join(outdir, "curves.csv")) as f:
        return {(r["tlb"], int(r["sets"]), int(r["ways"])): r for r in csv.DictReader(f)}


class SampledAgainstExact(unittest.TestCase):
    def check(self, trace, rate):
        base = ["-t", os.path.join(ROOT, "traces", trace), "--max-accesses", PREFIX, "--curves", "l1d,l2"]
        with tempfile.TemporaryDirectory() as tmp:
            r = run(base + ["-o", tmp + "/exact"])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run(base + ["--curves-sample", rate, "-o", tmp + "/sampled"])
            self.assertEqual(r.returncode, 0, r.stderr)
            ex, sa = curves(tmp + "/exact"), curves(tmp + "/sampled")
        self.assertEqual(sorted(ex), sorted(sa))
        head = math.ceil(4 / float(rate))
        estimated = nontrivial = 0
        worst = 0.0
        for k, e in ex.items():
            s = sa[k]
            where = f"{trace} R={rate} {k}"
            self.assertEqual(s["accesses"], e["accesses"], where)
            self.assertEqual(int(s["hits"]) + int(s["misses"]), int(s["accesses"]), where)
            err = abs(int(s["misses"]) - int(e["misses"]))
            if k[2] <= head:
                self.assertEqual(s["misses"], e["misses"], where + " (exact head)")
                self.assertEqual(s["misses_bound"], "0", where)
                continue
            self.assertLessEqual(err, int(s["misses_bound"]), where + f": exact {e['misses']}, estimate {s['misses']}")
            if k[0] == "l1d":
                estimated += 1
                if int(s["misses_bound"]) < int(s["accesses"]):
                    nontrivial += 1
                    worst = max(worst, err / int(s["accesses"]))
        return estimated, nontrivial, worst

    def test_within_bound(self):
        for trace in TRACES:
            for rate in RATES:
                with self.subTest(trace=trace, rate=rate):
                    estimated, nontrivial, worst = self.check(trace, rate)
                    # l1d (bound 256): the ways above the head, for 1, 2, 4 sets
                    head = math.ceil(4 / float(rate))
                    self.assertEqual(estimated, sum(max(0, 256 // s - head) for s in (1, 2, 4, 8)))
                    if trace.startswith("xz-") and PREFIX == "2000000":
                        self.assertEqual(nontrivial, estimated, "a trivial bound: the check has no teeth")
                        self.assertLess(worst, 0.01)


class SamplingOff(unittest.TestCase):
    SMALL = os.path.join(ROOT, "traces/sqlite-memdb.bin.zst")

    def read(self, args, out):
        r = run(["-t", self.SMALL, "--max-accesses", "200000", "--curves", "l1d,l2", "-o", out] + args)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "curves.csv"), "rb") as f:
            return f.read()

    def test_byte_identical(self):
        with tempfile.TemporaryDirectory() as tmp:
            plain = self.read([], tmp + "/a")
            self.assertEqual(plain.decode().splitlines()[0], "tlb,sets,ways,entries,accesses,hits,misses,walks")
            self.assertEqual(self.read(["--curves-sample", "1"], tmp + "/b"), plain)
            self.assertEqual(self.read(["--set", "mmu.tlbs.l1d.curves_sample_rate=0",
                                        "--set", "mmu.tlbs.l2.curves_sample_rate=1"], tmp + "/c"), plain)
            s1 = self.read(["--curves-sample", "0.1"], tmp + "/d")
            s2 = self.read(["--curves-sample", "0.1"], tmp + "/e")
            self.assertEqual(s1, s2)
            self.assertNotEqual(s1, plain)
            self.assertEqual(s1.decode().splitlines()[0],
                             "tlb,sets,ways,entries,accesses,hits,misses,walks,sample_rate,sampled_accesses,misses_bound")

    def test_bad_rates(self):
        with tempfile.TemporaryDirectory() as tmp:
            for bad in ["0", "1.5", "-0.1", "x", "nan"]:
                r = run(["-t", self.SMALL, "--max-accesses", "1000", "--curves", "l1d", "--curves-sample", bad, "-o", tmp])
                self.assertEqual(r.returncode, 2, bad)
                self.assertIn("--curves-sample", r.stderr, bad)
            for bad in ["1.5", "-1", "abc"]:
                r = run(["-t", self.SMALL, "--max-accesses", "1000", "--curves", "l1d",
                         "--set", f"mmu.tlbs.l1d.curves_sample_rate={bad}", "-o", tmp])
                self.assertEqual(r.returncode, 2, bad)
                self.assertIn("mmu.tlbs.l1d.curves_sample_rate", r.stderr, bad)
            r = run(["-t", self.SMALL, "--max-accesses", "1000", "--curves-sample", "0.5", "-o", tmp])
            self.assertEqual(r.returncode, 2)
            self.assertIn("--curves-sample needs --curves", r.stderr)


class OptLowerBound(unittest.TestCase):
    GEOMS = [(1, 8), (8, 1), (16, 4), (8, 8), (1, 32), (64, 2)]

    def test_lower_bound_of_separate_runs(self):
        for trace in ["sqlite-memdb.bin.zst", "xz-compress.bin.zst"]:
            base = ["-t", os.path.join(ROOT, "traces", trace), "--max-accesses", "300000"]
            with tempfile.TemporaryDirectory() as tmp:
                r = run(base + ["--curves", "l1d", "--curves-opt", "-o", tmp + "/opt"])
                self.assertEqual(r.returncode, 0, r.stderr)
                r = run(base + ["--curves", "l1d", "-o", tmp + "/plain"])
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(tmp + "/opt/curves.csv") as f:
                    opt_lines = f.read().splitlines()
                with open(tmp + "/plain/curves.csv") as f:
                    plain_lines = f.read().splitlines()
                self.assertEqual(opt_lines[0], plain_lines[0] + ",opt_misses")
                self.assertEqual([l.rsplit(",", 1)[0] for l in opt_lines], plain_lines)
                rows = curves(tmp + "/opt")
                for (tlb, sets, ways), row in rows.items():
                    self.assertEqual(row["opt_misses"] != "", sets == 1, (tlb, sets, ways))
                fa = [int(rows[("l1d", 1, w)]["opt_misses"]) for w in range(1, 257)]
                self.assertEqual(fa, sorted(fa, reverse=True), "OPT misses must not grow with the size")
                beaten = 0
                for sets, ways in self.GEOMS:
                    opt = int(rows[("l1d", 1, sets * ways)]["opt_misses"])
                    for policy in ["lru", "plru", "random", "fifo"]:
                        out = f"{tmp}/{sets}x{ways}-{policy}"
                        r = run(base + ["--set", f"mmu.tlbs.l1d.entries={sets * ways}", "--set", f"mmu.tlbs.l1d.ways={ways}",
                                        "--set", f"mmu.tlbs.l1d.replacement={policy}", "-o", out])
                        self.assertEqual(r.returncode, 0, r.stderr)
                        with open(os.path.join(out, "stats.csv")) as f:
                            st = {row["path"]: row["value"] for row in csv.DictReader(f)}
                        misses = int(st["mmu.tlb.l1d.misses"])
                        self.assertLessEqual(opt, misses, f"{trace} {sets}x{ways} {policy}")
                        beaten += opt < misses
                self.assertGreater(beaten, len(self.GEOMS) * 2, "OPT equals the policies: the check has no teeth")

    def test_not_with_sampling(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(["-t", os.path.join(ROOT, "traces/ls-small.lackey.zst"), "--curves", "l1d", "--curves-opt",
                     "--curves-sample", "0.5", "-o", tmp])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("curves_opt", r.stderr)


if __name__ == "__main__":
    unittest.main()
