#!/usr/bin/env python3
"""Checks the regular shape of include/swifttrain.h against itself and the built library:

  - every function declaration carries SWIFTTRAIN_API and has a doc comment of its own
    (a /** ... */ block ending on the line just before the declaration);
  - no function returns a plain `int` except those listed in NON_STATUS_INT (a status is
    returned as st_status);
  - every struct with a `struct_size` member has it first;
  - with --library: the library exports every function the header declares, and every st_*
    symbol it exports is declared in the header (nm -D --defined-only).

    header_api.py --header include/swifttrain.h [--library build/libswifttrain.so.0]

Exit status 0 when everything holds; 1 with one line per problem otherwise.
"""
import argparse
import re
import shutil
import subprocess
import sys

# Functions that return an int that is not a status.
NON_STATUS_INT = {"st_version_number", "st_cli_main", "st_get_num_threads"}  # numbers; an exit code

# A declaration: optional SWIFTTRAIN_API (on its own line or the same one), a return type, an
# st_ name and an opening parenthesis, starting in column 0. typedefs and #defines are not.
DECLARATION = re.compile(
    r"^(?P<api>SWIFTTRAIN_API[ \t]*\n?[ \t]*)?"
    r"(?P<ret>(?!typedef\b|#)(?:static\s+inline\s+)?[A-Za-z_][A-Za-z0-9_ ]*?[ *]+)"
    r"(?P<name>st_[a-z0-9_]+)\s*\(",
    re.MULTILINE,
)


def strip_line_comments_keep_layout(text):
    """The header with the text of /* */ comments blanked (newlines kept), so a
    declaration-like line inside a comment is not taken for a declaration."""
    def blank(match):
        return re.sub(r"[^\n]", " ", match.group(0))
    return re.sub(r"/\*.*?\*/", blank, text, flags=re.DOTALL)


def declarations(text):
    """(name, return type, has SWIFTTRAIN_API, line index of the first line) of every function
    declared in the header, in order."""
    code = strip_line_comments_keep_layout(text)
    found = []
    for match in DECLARATION.finditer(code):
        ret = " ".join(match.group("ret").split())
        if ret.startswith(("return", "else", "if ")):
            continue
        first_line = code.count("\n", 0, match.start())
        found.append((match.group("name"), ret, match.group("api") is not None, first_line))
    return found


def check_header(text):
    problems = []
    lines = text.split("\n")
    found = declarations(text)
    if len(found) < 10:
        problems.append(f"found only {len(found)} function declarations: the pattern of "
                        "this script no longer matches the header")
    seen = set()
    for name, ret, has_api, first in found:
        if name in seen:
            problems.append(f"{name}: declared twice")
        seen.add(name)
        if not has_api:
            problems.append(f"{name} (line {first + 1}): no SWIFTTRAIN_API")
        before = first - 1
        if before < 0 or not lines[before].rstrip().endswith("*/"):
            problems.append(f"{name} (line {first + 1}): no doc comment (/** ... */) just before it")
        else:
            start = before
            while start >= 0 and "/*" not in lines[start]:
                start -= 1
            if start < 0 or not lines[start].lstrip().startswith("/**"):
                problems.append(f"{name} (line {first + 1}): the comment before it is not a "
                                "doc comment (/** ... */)")
        if ret == "int" and name not in NON_STATUS_INT:
            problems.append(f"{name} (line {first + 1}): returns int; a status is st_status "
                            "(or add it to NON_STATUS_INT in this script)")
    # struct_size, where present, is the first member.
    for match in re.finditer(r"typedef struct (st_[a-z0-9_]+) \{(.*?)\} \1;",
                             strip_line_comments_keep_layout(text), re.DOTALL):
        members = [m.strip() for m in match.group(2).split(";") if m.strip()]
        if any(re.search(r"\bstruct_size\b", m) for m in members) and \
                not re.fullmatch(r"uint32_t\s+struct_size", members[0]):
            problems.append(f"{match.group(1)}: struct_size is not its first member "
                            "(uint32_t struct_size)")
    return [name for name, _, _, _ in found], problems


def exported_symbols(library):
    nm = shutil.which("nm")
    if nm is None:
        raise SystemExit("header_api.py: this check needs 'nm' (binutils)")
    out = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1].split("@")[0]
        if kind == "A":  # version nodes
            continue
        symbols.append(name)
    return symbols


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", required=True)
    parser.add_argument("--library")
    args = parser.parse_args()
    with open(args.header, encoding="utf-8") as f:
        text = f.read()
    declared, problems = check_header(text)
    if args.library:
        exported = exported_symbols(args.library)
        declared_set = set(declared)
        for name in exported:
            if not name.startswith("st_"):
                problems.append(f"the library exports {name}: only st_* symbols may be exported")
            elif name not in declared_set:
                problems.append(f"the library exports {name}, which the header does not declare")
        exported_set = set(exported)
        for name in declared:
            if name not in exported_set:
                problems.append(f"the header declares {name}, which the library does not export")
    for problem in problems:
        print(problem)
    summary = f"{len(declared)} functions declared"
    if args.library:
        summary += f", {len(exported)} symbols exported by {args.library}"
    print(("FAILED: " if problems else "ok: ") + summary +
          (f", {len(problems)} problem(s)" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
