"""Python fleche 0.22 on the workloads of core/benches/memoize.rs, for comparison.

Run with benches/peer/compare.sh, which installs fleche==0.22.0 in a virtual environment.
Prints one line per measurement: `name median_seconds`.
"""
import statistics
import sys
import tempfile
import time

from fleche import cache, fleche
from fleche.caches import BaseCache


@fleche
def small(x):
    return x * 3


def median_time(fn, samples=200):
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(label, cache_obj):
    with cache(cache_obj):
        small(7)
        hit = median_time(lambda: small(7))
        counter = iter(range(10**6, 10**7))
        miss = median_time(lambda: small(next(counter)))
    print(f"{label}_hit {hit:.9f}")
    print(f"{label}_miss {miss:.9f}")


def main():
    measure("memory", BaseCache.from_config({"template": "memory"}))
    with tempfile.TemporaryDirectory() as root:
        measure("pickle", BaseCache.from_config({"template": "pickle", "root": root}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
