#!/usr/bin/env bash
# Runs the four-way benchmark (scripts/bench: direct MariaDB, HAProxy,
# ProxySQL, sqlgate), writes bench/results/<date>.json and regenerates
# README.md's Performance table from the newest results file. Arguments go
# to the driver, e.g. scripts/bench.sh -duration 2 -threads 1,4 -only sysbench
# (go run ./scripts/bench -h lists them). ProxySQL: $SQLGATE_PROXYSQL_BIN or
# ../shared/proxysql/proxysql; its column is skipped with a message when the
# binary is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./scripts/bench
"$tmp/bench" -update-readme "$@"
