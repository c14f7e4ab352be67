#!/usr/bin/env bash
# Runs fleche's memoization benchmarks and Python fleche 0.22 on the same workloads in one go,
# and prints the ratios. Installs Python fleche into a virtual environment (.peer-venv) once.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PEER_VENV:-.peer-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q fleche==0.22.0
fi
rust=$(cargo bench -q -p fleche --bench memoize 2>/dev/null)
python=$("$venv/bin/python" benches/peer/python_fleche.py)
RUST="$rust" PYTHON="$python" python3 - <<'PY'
import os, re
units = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
rust = {}
for line in os.environ["RUST"].splitlines():
    m = re.match(r"[├╰]─ (\S+)\s+(\S+) (\S+)\s+│\s+(\S+) (\S+)\s+│\s+(\S+) (\S+)", line)
    if m:
        rust[m.group(1)] = float(m.group(6)) * units[m.group(7)]
python = dict((k, float(v)) for k, v in (l.split() for l in os.environ["PYTHON"].splitlines()))
pairs = [
    ("hit, memory cache", "hit_memory_cache", "memory_hit"),
    ("hit, file cache (Python: pickle files)", "hit_file_cache", "pickle_hit"),
    ("miss, memory cache", "miss_memory_cache", "memory_miss"),
    ("miss, file cache (Python: pickle files, no fsync)", "miss_file_cache", "pickle_miss"),
]
print(f"{'workload':55} {'fleche-rs':>12} {'fleche-py':>12} {'ratio':>8}")
for label, r, p in pairs:
    if r in rust and p in python:
        print(f"{label:55} {rust[r]*1e6:10.2f}us {python[p]*1e6:10.2f}us {python[p]/rust[r]:7.1f}x")
if "raw_redb_durable_commit" in rust:
    print(f"{'floor: one raw durable redb commit':55} {rust['raw_redb_durable_commit']*1e6:10.2f}us")
PY
