#!/usr/bin/env bash
# Regenerates screenshots/*.svg from fleche-tui's real drawing code (TestBackend buffers
# rendered to SVG with their colours). With rsvg-convert installed, also writes PNGs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
cargo run -q -p fleche-tui --example screenshots -- screenshots
if command -v rsvg-convert >/dev/null && [ "${PNG:-0}" = 1 ]; then
    for f in screenshots/*.svg; do rsvg-convert -z 1.5 "$f" -o "${f%.svg}.png"; done
fi
