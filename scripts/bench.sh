#!/usr/bin/env bash
# Runs the side-by-side benchmark (see scripts/bench/main.go).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/bench "$@"
