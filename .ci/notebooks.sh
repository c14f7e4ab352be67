#!/usr/bin/env bash
# Runs examples/getting_started.ipynb headless twice in fresh Rust (evcxr) kernels, and the
# evcxr REPL test of fleche-evcxr. The first notebook run computes; the second must take
# every result from the cache file the first one left, so it must print no
# "Running calculation" line. Then redb's integrity check runs on that file.
# Then evcxr-integration/notebooks/across_cells.ipynb runs twice the same way and
# .ci/check_across_cells.py checks its CHECK lines (state across cells, helper results,
# version column); evcxr-integration/notebooks/polars_analysis.ipynb (a typed polars frame
# of stored calls, grouped by an argument) runs twice and .ci/check_polars_analysis.py checks
# the numbers in the frames polars printed; .ci/kernel_endings.py ends kernels every way
# Jupyter can (shutdown, restart, abort in a cell, SIGKILL) and checks the cache after each;
# and the kernel that `fleche-evcxr install --kernel` makes is started twice, timing the
# first fleche cell of the second kernel (which reuses the first one's kept build directory).
#
# Installs what is missing: evcxr_jupyter and evcxr_repl 0.22.0 (cargo install --locked) and
# a Python virtual environment with jupyter and nbconvert. Registers the kernel in a private
# Jupyter directory: nothing under ~/.local/share/jupyter or ~/.config/evcxr is touched.
#
#   .ci/notebooks.sh            run the checks
#   .ci/notebooks.sh --update   also copy the first runs' executed notebooks over
#                              examples/getting_started.ipynb and polars_analysis.ipynb
#                              (to commit fresh outputs)
#
# Environment: FLECHE_CI_CACHE (default ~/.cache/fleche-ci) keeps the cargo build directory
# of the evcxr install and the virtual environment between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
update=0
[ "${1:-}" = "--update" ] && update=1

EVCXR_VERSION=0.22.0
cache_dir=${FLECHE_CI_CACHE:-$HOME/.cache/fleche-ci}
venv=$cache_dir/venv-nb
mkdir -p "$cache_dir"
t0=$(date +%s)
say() { printf -- '--- %s (+%ss)\n' "$1" "$(($(date +%s) - t0))"; }

installed() { cargo install --list | grep -q "^$1 v$EVCXR_VERSION:"; }
for tool in evcxr_jupyter evcxr_repl; do
    if ! installed "$tool"; then
        say "installing $tool $EVCXR_VERSION (about 6 minutes on 2 cores the first time)"
        CARGO_TARGET_DIR="$cache_dir/evcxr-target" cargo install --locked "$tool@$EVCXR_VERSION"
    fi
done
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
export PATH="$cargo_bin:$PATH"

if [ ! -x "$venv/bin/jupyter-nbconvert" ]; then
    say "creating the Python environment $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        (apt-get update -qq && apt-get install -y -qq python3-venv) >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet jupyter nbconvert
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fleche-notebooks.XXXXXX")
trap 'rm -rf "$work"' EXIT
export JUPYTER_PATH=$work/jupyter
export JUPYTER_DATA_DIR=$work/jupyter-data
export JUPYTER_CONFIG_DIR=$work/jupyter-config
export JUPYTER_RUNTIME_DIR=$work/jupyter-runtime
export EVCXR_CONFIG_DIR=$work/evcxr-config
# Both kernels build in one directory, so the second reuses the first one's compiled crates.
export EVCXR_TMPDIR=$work/evcxr-build
mkdir -p "$EVCXR_CONFIG_DIR" "$EVCXR_TMPDIR"
unset FLECHE_CACHE
evcxr_jupyter --install >/dev/null
kernels=$("$venv/bin/jupyter" kernelspec list)
grep -q "rust.*$JUPYTER_PATH" <<<"$kernels" || {
    echo "the rust kernel was not registered in $JUPYTER_PATH" >&2
    exit 1
}

say "evcxr REPL test (redefinition, restart, twenty cells)"
FLECHE_REQUIRE_EVCXR=1 cargo test -p fleche-evcxr --test repl -- --ignored --nocapture

# Runs NOTEBOOK headless in a fresh rust kernel and saves it beside as NAME.ipynb:
#   execute NOTEBOOK NAME
execute() {
    local notebook=$1 name=$2 start
    start=$(date +%s)
    "$venv/bin/jupyter" nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=rust \
        --output "$name.ipynb" "$notebook" 2>"$work/$name.log" || {
        tail -n 200 "$work/$name.log" >&2
        exit 1
    }
    say "$name took $(($(date +%s) - start)) s"
}

# The notebook says `:dep fleche = { path = "../core" }`: keep that layout in the copy.
mkdir -p "$work/nb/examples"
ln -s "$repo/core" "$work/nb/core"
cp examples/getting_started.ipynb "$work/nb/examples/"
say "notebook, first run (computes)"
execute "$work/nb/examples/getting_started.ipynb" first
say "notebook, second run in a fresh kernel (all from the cache)"
execute "$work/nb/examples/getting_started.ipynb" second

"$venv/bin/python" - "$work/nb/examples/first.ipynb" "$work/nb/examples/second.ipynb" <<'EOF'
import sys, nbformat
def streams(path):
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                sys.exit(f"{path}: a cell failed: {o.get('ename')}: {o.get('evalue')}")
            out.append(o.get("text", ""))
    return "".join(out)
first, second = streams(sys.argv[1]), streams(sys.argv[2])
if "Running calculation" not in first:
    sys.exit("the first run printed no 'Running calculation' line: it did not compute")
lines = [l for l in second.splitlines() if "Running calculation" in l]
if lines:
    sys.exit("the second run recomputed:\n" + "\n".join(lines))
print("second run: no 'Running calculation' line; every result came from the cache")
EOF

say "integrity of the cache file after the kernels exited"
cargo run --quiet -p fleche-evcxr -- check "$work/nb/examples/.fleche/cache.redb"

say "across_cells notebook, first run (computes)"
mkdir -p "$work/nb2/evcxr-integration/notebooks"
ln -s "$repo/core" "$work/nb2/core"
cp evcxr-integration/notebooks/across_cells.ipynb "$work/nb2/evcxr-integration/notebooks/"
execute "$work/nb2/evcxr-integration/notebooks/across_cells.ipynb" across-first
say "across_cells notebook, second run in a fresh kernel (all from the cache)"
execute "$work/nb2/evcxr-integration/notebooks/across_cells.ipynb" across-second
"$venv/bin/python" .ci/check_across_cells.py \
    "$work/nb2/evcxr-integration/notebooks/across-first.ipynb" \
    "$work/nb2/evcxr-integration/notebooks/across-second.ipynb"
say "integrity of the across_cells cache after the kernels exited"
cargo run --quiet -p fleche-evcxr -- check "$work/nb2/evcxr-integration/notebooks/.fleche/cache.redb" |
    tee "$work/across-check.txt"
grep -q "integrity check passed" "$work/across-check.txt" || {
    echo "nbconvert's kernel shutdown left the cache needing repair" >&2
    exit 1
}

say "polars_analysis notebook, first run (computes; builds polars)"
# Its evcxr build directory (polars, built unoptimised) is this run's own, shared by its two
# kernels. Not kept between CI runs: a directory left by a run from another checkout made
# evcxr fail to load the first cell ("dlopen failed").
mkdir -p "$work/nb3/evcxr-integration/notebooks"
ln -s "$repo/core" "$work/nb3/core"
cp evcxr-integration/notebooks/polars_analysis.ipynb "$work/nb3/evcxr-integration/notebooks/"
polars_build=$work/evcxr-polars-build
mkdir -p "$polars_build"
EVCXR_TMPDIR=$polars_build execute "$work/nb3/evcxr-integration/notebooks/polars_analysis.ipynb" polars-first
say "polars_analysis notebook, second run in a fresh kernel (polars built, all from the cache)"
EVCXR_TMPDIR=$polars_build execute "$work/nb3/evcxr-integration/notebooks/polars_analysis.ipynb" polars-second
"$venv/bin/python" .ci/check_polars_analysis.py \
    "$work/nb3/evcxr-integration/notebooks/polars-first.ipynb" \
    "$work/nb3/evcxr-integration/notebooks/polars-second.ipynb"

say "each way a kernel ends"
cargo build --quiet -p fleche-evcxr -p fleche-cli
bin=$(cargo metadata --format-version 1 --no-deps |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug
"$venv/bin/python" .ci/kernel_endings.py "$work/endings" "$repo/core" \
    "$bin/fleche-evcxr" "$bin/fleche"

say "the kernel of fleche-evcxr install --kernel: first fleche cell of a second fresh kernel"
# The kernel keeps its build directory under the XDG cache directory, a private one here,
# so the second kernel reuses the first one's compiled crates.
(
    unset EVCXR_TMPDIR
    export XDG_CACHE_HOME=$work/xdg-cache
    "$bin/fleche-evcxr" install --kernel --path "$repo/core" \
        --jupyter-dir "$JUPYTER_DATA_DIR" >/dev/null
    mkdir -p "$work/quick"
    "$venv/bin/python" - "$work/quick/quick.ipynb" <<'PY'
import sys, nbformat
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(
    '#[fleche]\nfn sq(x: u64) -> u64 { x * x }\nprintln!("sq={}", sq(12));')]
nb.metadata["kernelspec"] = {"name": "rust-fleche", "language": "rust", "display_name": "Rust (fleche)"}
nbformat.write(nb, sys.argv[1])
PY
    for run in first second; do
        start=$(date +%s%3N)
        # init.evcxr builds fleche while the kernel starts: allow a cold build there.
        "$venv/bin/jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=900 \
            --ExecutePreprocessor.startup_timeout=900 \
            --output "quick-$run.ipynb" "$work/quick/quick.ipynb" 2>"$work/quick-$run.log" || {
            tail -n 200 "$work/quick-$run.log" >&2
            exit 1
        }
        say "$run kernel: start, fleche loaded and the first cell in $((($(date +%s%3N) - start) / 1000)) s (nbconvert, all told)"
    done
    "$venv/bin/python" - "$work/quick/quick-first.ipynb" "$work/quick/quick-second.ipynb" <<'PY'
import sys, nbformat
from datetime import datetime
for label, path in (("first kernel (cold)", sys.argv[1]), ("second kernel", sys.argv[2])):
    cell = nbformat.read(path, as_version=4).cells[0]
    text = "".join(o.get("text", "") for o in cell.outputs)
    if "sq=144" not in text:
        sys.exit(f"{label}: the fleche cell printed {text!r}")
    t = cell.metadata["execution"]
    took = (datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
            - datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
    print(f"{label}: first fleche cell took {took:.1f} s")
PY
)

if [ "$update" = 1 ]; then
    cp "$work/nb/examples/first.ipynb" examples/getting_started.ipynb
    cp "$work/nb3/evcxr-integration/notebooks/polars-first.ipynb" \
        evcxr-integration/notebooks/polars_analysis.ipynb
    say "updated examples/getting_started.ipynb and polars_analysis.ipynb with the first runs' outputs"
fi
say "notebooks done"
