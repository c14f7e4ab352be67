"""Checks the two executed runs of evcxr-integration/notebooks/polars_analysis.ipynb.

    check_polars_analysis.py FIRST.ipynb SECOND.ipynb

Every cell ran without error; the first run walked all 64 walks and the second, in a fresh
kernel, took all of them from the cache; and the frames the notebook shows, as polars printed
them, hold the right numbers: the walks are recomputed here (the same splitmix64 walk) and the
group-by's mean, maximum, count and theory column compared with what polars printed (in
full up to six decimals). Prints how long each run's cells took.
"""
import math
import sys

from notebook_outputs import read

LENGTHS = [100, 1_000, 10_000, 100_000]
SEEDS = range(16)
MASK = (1 << 64) - 1


def walk_distance(steps, seed):
    """The notebook's walk_distance, step for step."""
    state, position = seed, 0
    for _ in range(steps):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        position += 1 if z & 1 else -1
    return float(abs(position))


def frames(text):
    """Each polars frame printed in `text`: (column names, dtypes, rows of cell strings)."""
    found, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("shape: ("):
            continue
        rows = []
        for row in lines[i + 1:]:
            if row.startswith("└"):
                break
            if row.startswith("│"):
                rows.append([cell.strip() for cell in row.strip("│").split("┆")])
        # The header, the "---" line, the dtypes, then the data rows.
        found.append((rows[0], rows[2], rows[3:]))
    return found


def close(printed, expected, what):
    """`printed` (polars' text) is `expected`: polars prints a float in full up to six
    decimals, so the two agree within half the sixth decimal."""
    if abs(float(printed) - expected) > 5e-7:
        sys.exit(f"{what}: polars printed {printed}, expected {expected!r}")


def check_run(run, text, expected):
    computed = "64 walks computed, 0 taken from the cache"
    cached = "0 walks computed, 64 taken from the cache"
    want = computed if run == "first" else cached
    if want not in text.splitlines():
        sys.exit(f"{run} run: expected `{want}`, got {[l for l in text.splitlines() if 'walks computed' in l]}")
    shown = frames(text)
    by_name = {tuple(names): (dtypes, rows) for names, dtypes, rows in shown}
    heads = [k for k in by_name if "seed" in k]
    if not heads:
        sys.exit(f"{run} run: the stored calls were not shown as a frame; frames: {list(by_name)}")
    names = heads[0]
    dtypes, rows = by_name[names]
    typed = dict(zip(names, dtypes))
    for column, dtype in (("steps", "i64"), ("seed", "i64"), ("result", "f64")):
        if typed.get(column) != dtype:
            sys.exit(f"{run} run: column {column} shown as {typed.get(column)}, expected {dtype}")
    for row in rows:
        cell = dict(zip(names, row))
        close(cell["result"], walk_distance(int(cell["steps"]), int(cell["seed"])),
              f"{run} run, stored call steps={cell['steps']} seed={cell['seed']}")

    group = by_name.get(("steps", "mean distance", "farthest", "walks", "√(2·steps/π)"))
    if group is None:
        sys.exit(f"{run} run: no group-by frame with the expected columns; frames: {list(by_name)}")
    dtypes, rows = group
    if dtypes != ["i64", "f64", "f64", "u32", "f64"]:
        sys.exit(f"{run} run: group-by dtypes {dtypes}")
    if [int(r[0]) for r in rows] != LENGTHS:
        sys.exit(f"{run} run: group-by rows {[r[0] for r in rows]}, expected {LENGTHS}")
    for (steps, mean, farthest, walks, theory), length in zip(rows, LENGTHS):
        distances = expected[length]
        close(mean, sum(distances) / len(distances), f"{run} run, mean distance for {length} steps")
        close(farthest, max(distances), f"{run} run, farthest for {length} steps")
        if int(walks) != len(distances):
            sys.exit(f"{run} run: {walks} walks of {length} steps, expected {len(distances)}")
        close(theory, math.sqrt(2 * length / math.pi), f"{run} run, theory for {length} steps")

    timing = by_name.get(("steps", "mean walltime", "walks"))
    if timing is None or timing[0][1] != "duration[ns]" or [r[2] for r in timing[1]] != ["16"] * 4:
        sys.exit(f"{run} run: the walltime group-by is missing or wrong: {timing}")


def main():
    expected = {n: [walk_distance(n, s) for s in SEEDS] for n in LENGTHS}
    for run, path in (("first", sys.argv[1]), ("second", sys.argv[2])):
        text, seconds = read(path)
        check_run(run, text, expected)
        print(f"{run} run: checks passed; its cells took {seconds:.0f} s together")
    print("polars_analysis: the frames hold the walks' numbers in both runs; the second run walked nothing")


main()
