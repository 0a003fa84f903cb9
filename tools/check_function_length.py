#!/usr/bin/env python3
"""Flags C++ functions longer than a limit (STYLE.md 12: about 60 lines).

Usage: check_function_length.py [--max N] [--list] PATH...

PATH is a file or a folder (searched for *.cc and *.h). A function is measured from the
first line of its signature to its closing brace. A function may run longer when the
comment block directly above its signature holds a marker with a reason:

    // long-function: one switch over every message type, each case one line

A marker without a reason does not count. Exit status: 0 when nothing is flagged, 1
when something is, 2 on a usage error. --list prints every function with its length
(longest first) instead of checking, for the size tables in reports.

The parser is a heuristic, not a compiler: comments, strings and preprocessor lines are
blanked, then braces are matched. A `{` opens a function body when the text before it
(since the last `;`, `{` or `}`) ends like a signature: `)` and optional qualifiers
(const, noexcept, override, final, a trailing return type), or a constructor's
initializer list. Namespaces, classes, structs and enums are descended into; anything
else at namespace or class scope (aggregate initializers) is skipped whole. Lambdas and
local classes count toward the function that holds them.
"""
import argparse
import os
import re
import signal
import sys

MARKER = re.compile(r"long-function:\s*\S")
CONTAINER = re.compile(r"^\s*(?:template\s*<.*>\s*)?(?:namespace|class|struct|union|enum|extern)\b", re.S)
ACCESS = re.compile(r"^\s*(?:public|private|protected)\s*:(?!:)")
SIGNATURE_END = re.compile(
    r"\)\s*(?:const\b|noexcept\b(?:\s*\([^()]*\))?|override\b|final\b|mutable\b|&&|&|\s)*"
    r"(?:->\s*[\w:<>,\s*&]+?)?\s*$"
)
CTOR_INIT = re.compile(r"\)\s*(?:noexcept\b(?:\s*\([^()]*\))?\s*)?:(?!:)")
CONTROL = re.compile(r"^\s*(?:if|for|while|switch|catch|else|do|try)\b")
NAME = re.compile(r"([~\w:]+(?:operator\s*[^\s(]+)?)\s*\($")


def blank(text):
    """Comments, string and char literals and preprocessor lines become spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    out.append(" \n")
                    j += 2
                    continue
                out.append(" ")
                j += 1
            i = j
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and (text[i - 1].isalnum()):  # a digit separator: 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else " " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(name, first line, last line) for every function body found, lines from 1."""
    code = blank(text)
    found = []
    # Frames: ("scope", None) for namespace/class bodies, ("skip", None) for other blocks
    # at scope level, ("func", (name, start_line)), ("init", None) for a braced member
    # initializer inside a constructor's initializer list.
    stack = []
    header_start = 0  # index where the current header began
    depth_in_func = 0
    line = 1
    i = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c == "\n":
            line += 1
        if depth_in_func:
            if c == "{":
                depth_in_func += 1
            elif c == "}":
                depth_in_func -= 1
                if depth_in_func == 0:
                    name, start = stack.pop()[1]
                    found.append((name, start, line))
                    header_start = i + 1
            i += 1
            continue
        if c == ";":
            header_start = i + 1
        elif c == "{":
            header = code[header_start:i]
            access = ACCESS.match(header)
            if access:
                header_start += access.end()
                header = code[header_start:i]
            stripped = header.strip()
            lead = len(header) - len(header.lstrip())
            start_line = line - code[header_start + lead:i].count("\n")
            if CTOR_INIT.search(header) and re.search(r"[\w>]\s*$", header) and not SIGNATURE_END.search(header):
                stack.append(("init", None))  # name{...} in an initializer list: still the header
            elif CONTAINER.match(stripped) and "(" not in stripped.split("{")[0].split(":")[0]:
                stack.append(("scope", None))
                header_start = i + 1
            elif (SIGNATURE_END.search(header) or CTOR_INIT.search(header)) and not CONTROL.match(stripped) \
                    and "=" not in re.sub(r"operator\s*[=!<>+\-*/%^&|]+|\([^()]*\)|<[^<>]*>", "", stripped.split("(")[0]):
                m = NAME.search(stripped.split("(")[0] + "(")
                stack.append(("func", (m.group(1) if m else stripped[:40], start_line)))
                depth_in_func = 1
            else:
                stack.append(("skip", None))
                # Skip the whole block.
                depth = 1
                j = i + 1
                while j < n and depth:
                    if code[j] == "{":
                        depth += 1
                    elif code[j] == "}":
                        depth -= 1
                    elif code[j] == "\n":
                        line += 1
                    j += 1
                stack.pop()
                i = j
                header_start = j
                continue
        elif c == "}":
            if stack:
                kind, _ = stack.pop()
                if kind != "init":
                    header_start = i + 1
            else:
                header_start = i + 1
        i += 1
    return found


def marked(lines, start_line):
    """True when the comment block directly above line `start_line` holds a marker."""
    k = start_line - 2
    while k >= 0 and lines[k].strip().startswith("//"):
        if MARKER.search(lines[k]):
            return True
        k -= 1
    return False


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith((".cc", ".h")):
                        yield os.path.join(root, f)
        else:
            yield p


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max", type=int, default=60, help="longest allowed function, in lines (default 60)")
    ap.add_argument("--list", action="store_true", help="print every function's length, longest first")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args(argv)
    flagged = []
    table = []
    for path in sources(args.paths):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lines = text.split("\n")
        for name, start, end in functions(text):
            length = end - start + 1
            table.append((length, path, start, name))
            if length > args.max and not marked(lines, start):
                flagged.append((path, start, name, length))
    if args.list:
        for length, path, start, name in sorted(table, key=lambda r: (-r[0], r[1], r[2])):
            print(f"{length:5d}  {path}:{start}  {name}")
        return 0
    for path, start, name, length in flagged:
        print(f"{path}:{start}: {name} is {length} lines (limit {args.max}); split it, or say why above it "
              f"with '// long-function: <reason>'")
    if flagged:
        print(f"{len(flagged)} function(s) over {args.max} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # --list | head
    sys.exit(main(sys.argv[1:]))
