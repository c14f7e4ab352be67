"""Checks the two executed runs of evcxr-integration/notebooks/across_cells.ipynb.

    check_across_cells.py FIRST.ipynb SECOND.ipynb

Every cell ran without error; the first run computed and the second, in a fresh kernel,
computed nothing; each run printed the expected `CHECK` lines (tags across cells, helper
results, the version column, Result and Option results). Prints the first-hit times.
"""
import statistics
import sys

from notebook_outputs import read

EXPECTED = [
    "CHECK energy=-150",
    'CHECK tags_in_later_cell={"session": "s1"}',
    "CHECK tagged_s1=1",
    'CHECK tags_after_reassign={"session": "s2"}',
    "CHECK tagged_s2=1",
    "CHECK helpers known=true n=2 same_key=true",
    "CHECK block_without_types unseen=false",
    "CHECK version_column=true older_rows=2",
    "CHECK current_only=1",
    'CHECK result good=Ok(42) bad_is_err=true stored=1',
    "CHECK option_shown=true",
    "CHECK tags_after_drop={}",
    "CHECK untagged_has_no_tags=true",
]


def main():
    first, second = read(sys.argv[1])[0], read(sys.argv[2])[0]
    for run, text in (("first", first), ("second", second)):
        lines = text.splitlines()
        for expected in EXPECTED:
            if not any(line.strip() == expected for line in lines):
                found = [l for l in lines if l.startswith(expected.split("=")[0])]
                sys.exit(f"{run} run: expected `{expected}`, found {found}")
        # The cell whose last expression is a helper call shows its value without a `let`.
        if "true" not in [l.strip() for l in lines]:
            sys.exit(f"{run} run: the cell ending in relax::contains(..) showed no `true`")
    if "computing relax(" not in first or "computing relax v2(" not in first:
        sys.exit("the first run did not compute both definitions of relax")
    recomputed = [l for l in second.splitlines() if l.startswith("computing")]
    # parse_sample("x") returns Err, which is not stored, so it runs again by design.
    recomputed = [l for l in recomputed if l != 'computing parse_sample(x)']
    if recomputed:
        sys.exit("the second run recomputed:\n" + "\n".join(recomputed))
    for run, text in (("first", first), ("second", second)):
        hits = sorted(int(l.split("=")[1]) for l in text.splitlines() if l.startswith("CHECK first_hit_us="))
        if len(hits) != 4:
            sys.exit(f"{run} run: expected 4 first-hit timings, got {hits}")
        print(f"{run} run: first hit in a cell, cells run one after another: median {statistics.median(hits)} us, max {hits[-1]} us")
    print("across_cells: every check passed in both runs; the second run computed nothing")


main()
