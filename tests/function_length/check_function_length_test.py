#!/usr/bin/env python3
"""Tests tools/check_function_length.py against fixtures whose lengths are known, then runs
it over runtime/ and plugin/.

The straight-line fixtures (a 70-line function with no marker, with a marker and a reason,
with a marker and no reason; a 60-line and a 61-line function) are written at run time into
a temporary directory from one template, function(); the test counts each function's lines
itself before handing the file to the checker. tricky.h stays a committed, hand-counted file.

Usage: check_function_length_test.py <repo root>
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
CHECKER = os.path.join(ROOT, "tools", "check_function_length.py")
FIXTURES = os.path.join(ROOT, "tests", "function_length")


def run(*args):
    p = subprocess.run([sys.executable, CHECKER, *args], capture_output=True, text=True)
    return p.returncode, p.stdout


def function(name, lines):
    """A function of exactly `lines` lines, from its signature to its closing brace."""
    body = [f"int {name}() {{", "  int total = 0;"]
    body += [f"  total += {i};" for i in range(lines - 4)]
    body += ["  return total;", "}"]
    assert len(body) == lines, (name, len(body))
    return body


def source(first_line, *functions):
    """A fixture file: a comment line, then the functions in one namespace, a blank line
    between each. Each function is a list of lines (comments above it included)."""
    out = [first_line, "namespace fixture {"]
    for f in functions:
        out += [""] + f
    out += ["", "}  // namespace fixture"]
    return "\n".join(out) + "\n"


# Generated fixtures, by file name. The function starts on line 4 of long.cc (comment line,
# namespace, blank line), which test_a_70_line_function_is_flagged asserts.
GENERATED = {
    "long.cc": source("// Fixture: one 70-line function, no marker.",
                      function("seventy_lines", 70)),
    "marked.cc": source("// Fixture: the same 70-line function, with the marker and a reason.",
                        ["// A table written out by hand.",
                         "// long-function: one statement per table row, read top to bottom"]
                        + function("seventy_lines", 70)),
    "marker_without_reason.cc": source("// Fixture: a marker that gives no reason does not count.",
                                       ["// long-function:"] + function("seventy_lines", 70)),
    "limit.cc": source("// Fixture: 60 lines pass, 61 do not.",
                       function("sixty_lines", 60), function("sixty_one_lines", 61)),
}

_generated_dir = None


def fixture(name):
    if name not in GENERATED:
        return os.path.join(FIXTURES, name)
    path = os.path.join(_generated_dir.name, name)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(GENERATED[name])
    return path


def setUpModule():
    global _generated_dir
    _generated_dir = tempfile.TemporaryDirectory(prefix="function_length_")


def tearDownModule():
    _generated_dir.cleanup()


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
