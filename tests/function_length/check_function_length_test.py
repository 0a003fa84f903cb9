#!/usr/bin/env python3
"""Tests tools/check_function_length.py against fixtures whose lengths are counted by
hand (see each fixture's first line), then runs it over runtime/ and plugin/.

Usage: check_function_length_test.py <repo root>
"""
import os
import subprocess
import sys
import unittest

ROOT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
CHECKER = os.path.join(ROOT, "tools", "check_function_length.py")
FIXTURES = os.path.join(ROOT, "tests", "function_length")


def run(*args):
    p = subprocess.run([sys.executable, CHECKER, *args], capture_output=True, text=True)
    return p.returncode, p.stdout


def fixture(name):
    return os.path.join(FIXTURES, name)


class Checker(unittest.TestCase):
    def test_a_70_line_function_is_flagged(self):  # the positive control
        code, out = run(fixture("long.cc"))
        self.assertEqual(code, 1)
        self.assertIn("long.cc:4: seventy_lines is 70 lines", out)

    def test_the_marker_with_a_reason_exempts_it(self):
        code, out = run(fixture("marked.cc"))
        self.assertEqual((code, out), (0, ""))

    def test_a_marker_without_a_reason_does_not(self):
        code, out = run(fixture("marker_without_reason.cc"))
        self.assertEqual(code, 1)
        self.assertIn("seventy_lines is 70 lines", out)

    def test_sixty_lines_pass_and_sixty_one_do_not(self):
        code, out = run(fixture("limit.cc"))
        self.assertEqual(code, 1)
        self.assertIn("sixty_one_lines is 61 lines", out)
        self.assertNotIn("sixty_lines is", out)
        code, _ = run("--max", "61", fixture("limit.cc"))
        self.assertEqual(code, 0)

    def test_braces_in_initializers_strings_and_comments(self):
        code, out = run("--list", fixture("tricky.h"))
        self.assertEqual(code, 0)
        rows = [line.split() for line in out.strip().splitlines()]
        self.assertEqual([(r[0], r[2]) for r in rows], [("67", "Holder"), ("1", "short_one")])
        code, out = run(fixture("tricky.h"))
        self.assertEqual(code, 1)
        self.assertIn("tricky.h:7: Holder is 67 lines", out)

    def test_runtime_and_plugin_keep_the_rule(self):
        code, out = run(os.path.join(ROOT, "runtime"), os.path.join(ROOT, "plugin"))
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
