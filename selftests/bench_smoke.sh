#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench_smoke.sh - `make bench` in miniature (BENCH_SMOKE=1: one run of each
# phase, tiny sizes), so the benchmark cannot rot.  TAP; fails when
# scripts/bench exits non-zero or when a figure it must produce is missing
# from results.csv (for both protocols).  It does not judge the ratios.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MT=${MTCP_PROTO:-253}
# run by make check with MTCP_PROTO=253; kernel TCP is measured inside anyway
[ "$MT" = 6 ] && { echo "1..0 # SKIP bench compares mini_tcp with TCP itself"; exit 4; }
OUT=$(mktemp -d /tmp/bench_smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

echo "TAP version 13"
# figure path protocols
FIGS=(
	"connrate lo tcp,mini_tcp" "connrate veth tcp,mini_tcp"
	"connect_p50 lo tcp,mini_tcp" "connect_p50 veth tcp,mini_tcp"
	"bulk lo tcp,mini_tcp" "bulk veth tcp,mini_tcp"
	"goodput_lossy veth tcp,tcp-reno,mini_tcp"
	"recovery_rtts veth tcp,tcp-reno,mini_tcp"
	"connrate_est10 lo tcp,mini_tcp" "connrate_est100 lo tcp,mini_tcp"
	"connrate_ratio_100_vs_10 lo tcp,mini_tcp"
	"mem_established lo tcp,mini_tcp" "mem_timewait lo tcp,mini_tcp"
	"flood_connrate_unloaded veth tcp,mini_tcp" "flood_connrate_flood veth tcp,mini_tcp"
)
echo "1..$((${#FIGS[@]} + 1))"

BENCH_SMOKE=1 BENCH_MANY=100 BENCH_OUT=$OUT timeout 900 bash "$ROOT/scripts/bench" >"$OUT/log" 2>&1
rc=$?
sed 's/^/# /' "$OUT/log"
n=1
if [ $rc = 0 ]; then echo "ok $n - scripts/bench BENCH_SMOKE=1 exits 0"; else
	echo "not ok $n - scripts/bench BENCH_SMOKE=1 exits 0 (rc=$rc)"; fi
fails=$((rc != 0))
for f in "${FIGS[@]}"; do
	read -r fig path protos <<<"$f"
	n=$((n + 1))
	miss=
	for p in ${protos//,/ }; do
		awk -F, -v f="$fig" -v w="$path" -v p="$p" '
			$1 == f && $2 == w && $3 == p && $6 >= 1 && $7 ~ /^[0-9.e+-]+$/ { ok = 1 }
			END { exit !ok }' "$OUT/results.csv" 2>/dev/null || miss="$miss $p"
	done
	if [ -z "$miss" ]; then
		echo "ok $n - $fig $path: a number for $protos"
	else
		echo "not ok $n - $fig $path: missing for$miss"
		fails=$((fails + 1))
	fi
done
[ $fails = 0 ]
