#!/usr/bin/env bash
# End-to-end test of fleche-tui in a real terminal (tmux): builds a cache with the
# getting-started example (or smoke.rs until it exists), starts the real binary, types a
# filter, opens a call, expands its result and checks the screen; then checks that calls
# another process adds while the browser is open appear; then browses a stack of caches from
# fleche.toml (a local file over a read-only teammate's file and a missing layer): the union
# with a layer column, a value read from the lower layer, the missing layer's warning.
# Needs tmux (installed by .ci/run).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TMP="$(mktemp -d)"
SESSION="fleche-tui-e2e-$$"
CACHE="$TMP/cache.redb"

cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    tmux kill-session -t "$SESSION-live" 2>/dev/null || true
    tmux kill-session -t "$SESSION-stack" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "---- screen ----" >&2
    tmux capture-pane -p -t "${2:-$SESSION}" >&2 2>/dev/null || true
    exit 1
}

# Waits until the pane shows text matching a regex.
wait_for() {
    local session="$1" pattern="$2" what="$3"
    for _ in $(seq 1 100); do
        if tmux capture-pane -p -t "$session" | grep -Eq -- "$pattern"; then
            return 0
        fi
        sleep 0.1
    done
    fail "$what: the screen never showed /$pattern/" "$session"
}

# Filters to the one call of $FILTER, opens it and expands its result.
filter_open_expand() {
    local session="$1"
    tmux send-keys -t "$session" /
    tmux send-keys -t "$session" -l "$FILTER"
    wait_for "$session" "filter: $FILTER · 1 of [0-9]+ calls" "filter narrowed to one call"
    tmux send-keys -t "$session" Enter Enter
    wait_for "$session" "call: $FUNCTION\(" "call view"
    wait_for "$session" "not read \(l to open\)" "result not read before it is opened"
    tmux send-keys -t "$session" l
    wait_for "$session" "^ *(▾ )?result: $RESULT *$" "expanded result"
}

command -v tmux >/dev/null || { echo "tmux is not installed" >&2; exit 1; }

cargo build -q -p fleche-tui --bin fleche-tui --example add_calls
TUI="$TARGET/debug/fleche-tui"
ADD="$TARGET/debug/examples/add_calls"

if [ -f examples/getting_started.rs ]; then
    EXAMPLE=getting_started FUNCTION=long_running_calculation FILTER="fn:long arg:x=100" RESULT="10000"
else
    EXAMPLE=smoke FUNCTION=square FILTER="fn:square arg:x=10" RESULT="100"
fi
echo "building a cache with examples/$EXAMPLE.rs"
FLECHE_CACHE="$CACHE" FLECHE_EXAMPLE_FAST=1 cargo run -q --example "$EXAMPLE" >/dev/null
[ -f "$CACHE" ] || fail "the example wrote no cache at $CACHE"

# 1. Filter, open, expand.
tmux new-session -d -s "$SESSION" -x 120 -y 32 "'$TUI' '$CACHE'; echo TUI-EXIT=\$?; sleep 600"
# Long names are cut to the function column's width.
wait_for "$SESSION" "${FUNCTION:0:16}" "main view"
wait_for "$SESSION" "[0-9]+ calls" "count in the status line"
filter_open_expand "$SESSION"
tmux send-keys -t "$SESSION" q q
wait_for "$SESSION" "TUI-EXIT=0" "clean exit"
tmux capture-pane -p -t "$SESSION" | grep -q "call: $FUNCTION" && fail "the alternate screen was not left"
echo "ok: filter, open and expand"

# 2. Calls added by another process appear while the browser is open.
tmux new-session -d -s "$SESSION-live" -x 120 -y 32 "'$TUI' '$CACHE'; echo TUI-EXIT=\$?; sleep 600"
wait_for "$SESSION-live" "${FUNCTION:0:16}" "main view (live)"
tmux send-keys -t "$SESSION-live" /
tmux send-keys -t "$SESSION-live" -l "fn:added"
tmux send-keys -t "$SESSION-live" Enter
wait_for "$SESSION-live" "0 of [0-9]+ calls" "no added() calls yet"
"$ADD" "$CACHE" 3 100 >/dev/null
wait_for "$SESSION-live" "3 of [0-9]+ calls" "calls added by another process"
wait_for "$SESSION-live" "source=add_calls" "their tags"
tmux send-keys -t "$SESSION-live" q
wait_for "$SESSION-live" "TUI-EXIT=0" "clean exit (live)"
echo "ok: live refresh"

# 3. A stack from fleche.toml: the union of the layers, each row naming its layer.
STACK="$TMP/stack"
mkdir -p "$STACK"
cp "$CACHE" "$STACK/team.redb"
"$ADD" "$STACK/local.redb" 2 >/dev/null
cat >"$STACK/fleche.toml" <<'TOML'
[default]
cache = ["local", "team", "gone"]

[local]
path = "local.redb"

[team]
path = "team.redb"
read_only = true

[gone]
path = "gone.redb"
read_only = true
TOML
TEAM_SUM="$(sha256sum "$STACK/team.redb")"
tmux new-session -d -s "$SESSION-stack" -x 140 -y 32 -c "$STACK" \
    "env -u FLECHE_CACHE '$TUI'; echo TUI-EXIT=\$?; sleep 600"
wait_for "$SESSION-stack" "key +layer +function" "layer column"
wait_for "$SESSION-stack" " local +added" "a row from the local file"
wait_for "$SESSION-stack" " team +${FUNCTION:0:16}" "a row from the teammate's file"
wait_for "$SESSION-stack" "cache layer .gone. .*skipped" "the missing layer's warning"
filter_open_expand "$SESSION-stack"
# The call view names the layer (above, out of the way of the result).
tmux send-keys -t "$SESSION-stack" g
wait_for "$SESSION-stack" "layer: team" "the call view names the layer"
tmux send-keys -t "$SESSION-stack" q q
wait_for "$SESSION-stack" "TUI-EXIT=0" "clean exit (stack)"
[ "$(sha256sum "$STACK/team.redb")" = "$TEAM_SUM" ] || fail "the read-only layer was written" "$SESSION-stack"
echo "ok: a stack of caches"
echo "3 passed, 0 failed"
