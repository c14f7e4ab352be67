#!/usr/bin/env bash
# Runs examples/getting_started.ipynb headless twice in fresh Rust (evcxr) kernels, and the
# evcxr REPL test of fleche-evcxr. The first notebook run computes; the second must take
# every result from the cache file the first one left, so it must print no
# "Running calculation" line. Then redb's integrity check runs on that file.
#
# Installs what is missing: evcxr_jupyter and evcxr_repl 0.22.0 (cargo install --locked) and
# a Python virtual environment with jupyter and nbconvert. Registers the kernel in a private
# Jupyter directory: nothing under ~/.local/share/jupyter or ~/.config/evcxr is touched.
#
#   .ci/notebooks.sh            run the checks
#   .ci/notebooks.sh --update   also copy the first run's executed notebook over
#                              examples/getting_started.ipynb (to commit fresh outputs)
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

# The notebook says `:dep fleche = { path = "../core" }`: keep that layout in the copy.
mkdir -p "$work/nb/examples"
ln -s "$repo/core" "$work/nb/core"
cp examples/getting_started.ipynb "$work/nb/examples/"
run() {
    local name=$1 start
    start=$(date +%s)
    "$venv/bin/jupyter" nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=rust \
        --output "$name.ipynb" "$work/nb/examples/getting_started.ipynb" 2>"$work/$name.log" || {
        tail -n 60 "$work/$name.log" >&2
        exit 1
    }
    say "$name took $(($(date +%s) - start)) s"
}
say "notebook, first run (computes)"
run first
say "notebook, second run in a fresh kernel (all from the cache)"
run second

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

if [ "$update" = 1 ]; then
    cp "$work/nb/examples/first.ipynb" examples/getting_started.ipynb
    say "updated examples/getting_started.ipynb with the first run's outputs"
fi
say "notebooks done"
