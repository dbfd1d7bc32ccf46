#!/usr/bin/env bash
# cg.sh: a go-test benchmark of one package at two commits, counted by
# valgrind's cachegrind instead of timed.
#
#   bench/cg.sh BASE_REV PKG BENCH [BENCHTIME]
#   bench/cg.sh 0c1a5aa ./runtime/gcs ShardTasks 50000x
#
# On a shared machine wall time and even CPU time vary by ±10% from run to
# run, and this VM exposes no hardware counters (perf stat: not supported).
# Cachegrind executes the binary on a simulated CPU: with GOMAXPROCS=1 its
# instruction count repeats to ~0.1%, and its simulated cache misses
# (first-level data, D1, and last-level, LL) show what a change does to
# memory traffic. Both sides run the whole test binary (setup included)
# with the same BENCHTIME (default 20000x: keep it small, cachegrind runs
# some 50x slower). Prints instructions, D1 and LL data misses, and the
# ratios cur/base. Needs valgrind (apt-get install valgrind).
set -euo pipefail
base=$1 pkg=$2 bench=$3 benchtime=${4:-20000x}
command -v valgrind >/dev/null || { echo "cg.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/abbuild.sh"
for v in base cur; do
	(cd "$dir" && GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
		"$tmp/$v.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime") >"$tmp/$v.out" 2>&1
	awk -v v=$v '
		/ I +refs:/ {gsub(",", "", $4); ir = $4}
		/ D1 +misses:/ {gsub(",", "", $4); d1 = $4}
		/ LLd misses:/ {gsub(",", "", $4); ll = $4}
		END {printf "%s %s %s %s\n", v, ir, d1, ll}' "$tmp/$v.out"
done >"$tmp/counts"
awk '{ir[$1] = $2; d1[$1] = $3; ll[$1] = $4}
	END {
		printf "%-4s %16s %14s %14s\n", "", "instructions", "D1 misses", "LL misses"
		for (v in ir) if (v == "base") printf "%-4s %16.0f %14.0f %14.0f\n", v, ir[v], d1[v], ll[v]
		for (v in ir) if (v == "cur") printf "%-4s %16.0f %14.0f %14.0f\n", v, ir[v], d1[v], ll[v]
		printf "%-4s %16.3f %14.3f %14.3f\n", "cur/base", ir["cur"] / ir["base"], d1["cur"] / d1["base"], ll["cur"] / ll["base"]
	}' "$tmp/counts"
