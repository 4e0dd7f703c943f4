#!/usr/bin/env python3
"""Where the instructions go in the instruction-count firmware.

Usage: instr_profile.py ELF NAME... < trace

Reads QEMU's `-singlestep -d exec,nochain` trace of the `instr-count`
firmware of boards/link-check (one `Trace` line per executed
instruction) on stdin, and splits it at every entry into
`link_check::instr::hw::counter`: the instructions between the 1st and
2nd call are the first measurement, between the 3rd and 4th the second,
and so on, in the order src/instr.rs runs them (NAME... names them).
Prints, per measurement, its instruction count (which must equal what
`minstret` said) and the functions that executed the most of them (from
the ELF's symbol table, `nm -C -S`; inlined code counts for the function
it was inlined into).

Standard library only (and binutils' nm).
"""

import bisect
import re
import subprocess
import sys
from collections import Counter

TOP = 12
COUNTER = "link_check::instr::hw::counter"


def symbols(elf):
    out = subprocess.run(["nm", "-C", "-S", "--defined-only", elf],
                         check=True, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            syms.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    syms.sort()
    return syms


def short(name):
    """Drops generic arguments and hashes, keeps the path."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            depth += 1
            if depth == 1:
                out.append("<..>")
            continue
        if ch == ">":
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: instr_profile.py ELF NAME... < trace")
    elf, names = sys.argv[1], sys.argv[2:]
    syms = symbols(elf)
    starts = [s[0] for s in syms]
    counter = [s[0] for s in syms if s[2] == COUNTER]
    if not counter:
        sys.exit("instr_profile.py: no %s in %s" % (COUNTER, elf))
    counter = counter[0]
    cache = {}

    def lookup(pc):
        name = cache.get(pc)
        if name is None:
            i = bisect.bisect_right(starts, pc) - 1
            if i >= 0 and syms[i][0] <= pc < syms[i][0] + max(syms[i][1], 1):
                name = short(syms[i][2])
            else:
                name = "?"
            cache[pc] = name
        return name

    calls = 0
    inside = False
    regions = []  # one Counter per measurement
    pat = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    for line in sys.stdin:
        m = pat.match(line)
        if not m:
            continue
        pc = int(m.group(1), 16)
        if pc == counter:
            calls += 1
            inside = calls % 2 == 1
            if inside:
                regions.append(Counter())
            continue
        if inside:
            regions[-1][pc] += 1

    for i, region in enumerate(regions):
        name = names[i] if i < len(names) else "measurement %d" % (i + 1)
        by_fn = Counter()
        for pc, n in region.items():
            by_fn[lookup(pc)] += n
        total = sum(by_fn.values())
        print("%s: %d instructions (counter function excluded)" % (name, total))
        for fn, n in by_fn.most_common(TOP):
            print("  %9d %5.1f%%  %s" % (n, 100.0 * n / max(total, 1), fn))
        print()


if __name__ == "__main__":
    main()
