#!/usr/bin/env bash
# ab.sh: a go-test benchmark of one package, side by side at two commits.
#
#   bench/ab.sh BASE_REV PKG BENCH [ROUNDS] [BENCHTIME]
#   bench/ab.sh 6e1cfa5 ./runtime/ray SimLocalTasks 5 200000x
#
# BENCH should match one benchmark. Builds the package's test binary at BASE_REV (in a temporary worktree) and
# from the working tree, runs them alternately ROUNDS times (default 5) and
# prints the min and median of the first metric (ns/op or the benchmark's
# own first column). Alternating runs see the same machine load, so their
# ratio means something on a shared, noisy machine where two separate runs
# do not.
set -euo pipefail
base=$1 pkg=$2 bench=$3 rounds=${4:-5} benchtime=${5:-1x}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$root" worktree add -q --detach "$tmp/base" "$base"
(cd "$tmp/base" && go test -c -o "$tmp/base.test" "$pkg")
(cd "$root" && go test -c -o "$tmp/cur.test" "$pkg")
dir=$root/${pkg#./}
for ((i = 0; i < rounds; i++)); do
	for v in base cur; do
		(cd "$dir" && "$tmp/$v.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem) |
			awk -v v=$v '/^Benchmark/ {print v, $3}'
	done
done >"$tmp/runs"
for v in base cur; do
	grep "^$v " "$tmp/runs" | awk '{print $2}' | sort -g |
		awk -v v=$v '{a[NR] = $1} END {printf "%-4s min %s  median %s  (%d runs)\n", v, a[1], a[int((NR + 1) / 2)], NR}'
done
