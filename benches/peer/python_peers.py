"""Python fleche 0.22 (memory and pickle caches) and joblib.Memory on the peer workloads.

Run by benches/peer/run, which installs them into a private virtual environment. Prints one
line per measurement: `tool<TAB>workload<TAB>seconds` (bytes for "bytes per call").
"""
import os
import statistics
import sys
import tempfile
import time

import joblib
import numpy as np
from fleche import cache, fleche
from fleche.caches import BaseCache


# Table sizes, as the Rust side reads them (benches/peer/run documents PEER_SIZES).
SIZES = [int(s) for s in os.environ.get("PEER_SIZES", "1000,100000,1000000").split(",") if s.strip()]


def disk_bytes(root):
    """Bytes of the files under `root` (their sizes, as the Rust side counts a cache file)."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)


def median(samples, batch, run_batch):
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        run_batch()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / batch


def median_with(samples, setup, run):
    times = []
    for _ in range(samples):
        arg = setup()
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(tool, workload, value):
    print(f"{tool}\t{workload}\t{value:.9f}", flush=True)


counter = iter(range(10**6, 10**9))


def small(x):
    return x * 3


def byte_length(data):
    return len(data)


def floats(megabytes):
    return np.arange(megabytes * 1_000_000 // 8, dtype=np.float64)


TEN_MB = bytes(i % 251 for i in range(10_000_000))


def python_fleche(tool, make_cache, file_like, dirs):
    f_small, f_bytes, f_floats = fleche(small), fleche(byte_length), fleche(floats)
    place = "file" if file_like else "memory"
    with cache(make_cache()):
        f_small(7)
        report(tool, f"hit, {place}", median(51, 100, lambda: [f_small(7) for _ in range(100)]))
        report(tool, f"miss, {place}",
               median(21, 20, lambda: [f_small(next(counter)) for _ in range(20)]))
        f_bytes(TEN_MB)
        report(tool, "hit, 10 MB byte argument", median(11, 1, lambda: f_bytes(TEN_MB)))
        if file_like:
            f_floats(100)
            report(tool, "hit, 100 MB f64 result, file", median(5, 1, lambda: f_floats(100)))

    @fleche
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def cold(c):
        with cache(c):
            fib(20)

    report(tool, f"fib(20) cold, {place}", median_with(11, make_cache, cold))
    if file_like:
        # Bytes per call: 10,000 calls of `small` in a new cache, as the Rust side stores them.
        where = make_cache()
        f_sized = fleche(small)
        with cache(where):
            for i in range(10_000):
                f_sized(i)
        # The pickle cache keeps calls and values in two folders under its root.
        report(tool, "bytes per call (file)", disk_bytes(os.path.dirname(where.values.root)) / 10_000)
    else:
        for calls in SIZES:
            table_and_query(tool, make_cache(), calls)


def table_and_query(tool, c, calls):
    fns = {}
    with cache(c):
        for i in range(calls):
            name = f"function_{i % 100}"
            if name not in fns:
                def body(x):
                    return x * 3
                body.__name__ = body.__qualname__ = name
                fns[name] = fleche(body)
            fns[name](i)
    samples = 3 if calls >= 100_000 else 11

    def query():
        found = list(fns["function_42"].query())
        assert len(found) == calls // 100, f"the query found {len(found)} calls"

    # Both inside the cache's scope: outside it, a query asks the (empty) default cache.
    with cache(c):
        try:
            report(tool, f"table of {calls} calls, memory",
                   median(samples, 1, lambda: c.table()))
        except Exception as e:  # an API this version lacks: leave the row out
            print(f"# {tool} table: {e}", file=sys.stderr)
        try:
            report(tool, f"query by name ({calls // 100} of {calls}), memory",
                   median(samples, 1, query))
        except Exception as e:
            print(f"# {tool} query: {e}", file=sys.stderr)


def joblib_memory(root):
    memory = joblib.Memory(location=os.path.join(root, "joblib"), verbose=0)
    j_small, j_bytes, j_floats = memory.cache(small), memory.cache(byte_length), memory.cache(floats)
    j_small(7)
    report("joblib", "hit, file", median(51, 100, lambda: [j_small(7) for _ in range(100)]))
    report("joblib", "miss, file",
           median(21, 20, lambda: [j_small(next(counter)) for _ in range(20)]))
    j_bytes(TEN_MB)
    report("joblib", "hit, 10 MB byte argument", median(11, 1, lambda: j_bytes(TEN_MB)))
    j_floats(100)
    report("joblib", "hit, 100 MB f64 result, file", median(5, 1, lambda: j_floats(100)))
    runs = [0]

    def cold_memory():
        runs[0] += 1
        m = joblib.Memory(location=os.path.join(root, f"fib{runs[0]}"), verbose=0)

        def fib(n):
            return n if n < 2 else cached_fib(n - 1) + cached_fib(n - 2)
        cached_fib = m.cache(fib)
        return cached_fib

    report("joblib", "fib(20) cold, file", median_with(5, cold_memory, lambda f: f(20)))
    sized_root = os.path.join(root, "joblib-sized")
    sized = joblib.Memory(location=sized_root, verbose=0).cache(small)
    for i in range(10_000):
        sized(i)
    report("joblib", "bytes per call (file)", disk_bytes(sized_root) / 10_000)


def main():
    with tempfile.TemporaryDirectory() as root:
        python_fleche("fleche-py memory", lambda: BaseCache.from_config({"template": "memory"}),
                      False, root)
        n = [0]

        def pickle_cache():
            n[0] += 1
            return BaseCache.from_config({"template": "pickle", "root": os.path.join(root, f"p{n[0]}")})
        python_fleche("fleche-py pickle", pickle_cache, True, root)
        joblib_memory(root)


if __name__ == "__main__":
    main()
