#!/usr/bin/env bash
# Runs the lab's commands twice in a row (make lab, lab-status,
# lab-failover, lab-promote, lab-down), as root, and records what they
# printed in docs/lab-transcript.txt. The README's quick start shows the
# first round's lab, lab-failover and lab-promote output, copied here
# between its "lab-output" markers, so the figures there are from a run,
# never typed. Usage: sudo scripts/lab-transcript.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the lab needs network namespaces and keepalived" >&2; exit 1; }
out=docs/lab-transcript.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory lab-down >/dev/null 2>&1 || true
{
	echo "# sqlgate lab transcript, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), commit $(git describe --always --dirty)"
	echo "# written by scripts/lab-transcript.sh"
} >"$out"
for round in 1 2; do
	for target in lab lab-status lab-failover lab-promote lab-down; do
		log="$tmp/$round-$target"
		# make echoes its recipe lines (go build ...): leave them out.
		make --no-print-directory "$target" 2>&1 | grep -v -e '^go build' -e '^bin/sqlgate-lab ' >"$log"
		{ echo; echo "\$ make $target    # round $round"; cat "$log"; } >>"$out"
	done
done
python3 - "$tmp" <<'PY'
import re, sys
tmp = sys.argv[1]
parts = []
for target in ["lab", "lab-failover", "lab-promote"]:
    text = open(f"{tmp}/1-{target}").read().rstrip("\n")
    parts.append(f"$ make {target}\n{text}")
block = "<!-- lab-output: written by scripts/lab-transcript.sh -->\n```\n" + "\n\n".join(parts) + "\n```\n<!-- /lab-output -->"
readme = open("README.md").read()
new, n = re.subn(r"<!-- lab-output[^>]*-->.*?<!-- /lab-output -->", lambda m: block, readme, flags=re.S)
if n != 1:
    sys.exit("README.md: no lab-output markers")
open("README.md", "w").write(new)
PY
echo "wrote $out and the README's lab output"
