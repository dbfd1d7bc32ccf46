#!/usr/bin/env bash
# ab.sh: a go-test benchmark of one package, side by side at two commits.
#
#   bench/ab.sh BASE_REV PKG BENCH [ROUNDS] [BENCHTIME]
#   bench/ab.sh 6e1cfa5 ./runtime/ray SimLocalTasks 5 200000x
#
# BENCH should match one benchmark. Builds the package's test binary at BASE_REV (in a temporary worktree) and
# from the working tree, runs them alternately ROUNDS times (default 5) and
# prints the min and median of the first metric (ns/op or the benchmark's
# own first column) and of the CPU seconds (user + system) each run took,
# setup included. Alternating runs see the same machine load, so their
# ratio means something on a shared, noisy machine where two separate runs
# do not; CPU time is steadier still where other jobs steal wall time.
set -euo pipefail
base=$1 pkg=$2 bench=$3 rounds=${4:-5} benchtime=${5:-1x}
source "$(dirname "${BASH_SOURCE[0]}")/abbuild.sh"
TIMEFORMAT='%U %S'
for ((i = 0; i < rounds; i++)); do
	for v in base cur; do
		{ time (cd "$dir" && "$tmp/$v.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem >"$tmp/out"); } 2>"$tmp/cpu"
		metric=$(awk '/^Benchmark/ {print $3; exit}' "$tmp/out")
		echo "$v $metric $(awk '{print $1 + $2}' "$tmp/cpu")"
	done
done >"$tmp/runs"
for v in base cur; do
	grep "^$v " "$tmp/runs" | awk '{print $2}' | sort -g |
		awk -v v=$v '{a[NR] = $1} END {printf "%-4s min %s  median %s  (%d runs)", v, a[1], a[int((NR + 1) / 2)], NR}'
	grep "^$v " "$tmp/runs" | awk '{print $3}' | sort -g |
		awk '{a[NR] = $1} END {printf "   cpu s: min %s  median %s\n", a[1], a[int((NR + 1) / 2)]}'
done
