#!/usr/bin/env bash
# Runs the same `roster bench` workload against Roster on SQLite, Roster on
# PostgreSQL, the two peers of bench/peers (elimity, scimmy) and the ceiling
# of bench/ceiling, in alternation, at each size, and prints one table
# (bench/compare). See docs/benchmarks.md, "Roster against other SCIM
# servers". Needs go, node/npm, curl; PostgreSQL at $PGHOST:$PGPORT (default
# 127.0.0.1:5432, user postgres, trust auth) for roster-postgres.
#
#   bench/compare.sh                                  # the full run: 10,000 and 100,000 users
#   bench/compare.sh --sizes 1000 --duration 5        # a quick one
#
# Flags:
#   --sizes N,N,...     users to preload, one run per server and size (default 10000,100000)
#   --duration S        seconds of Entra's mix per run (default 25)
#   --rounds R          runs per server and size, alternating servers; the table shows medians (default 1)
#   --concurrency C     requests in flight (default 16)
#   --groups G, --members-per-group M   (default 10 and 100, roster bench's defaults)
#   --servers LIST      subset/order of roster-sqlite,roster-postgres,elimity,scimmy,ceiling
#   --match-duration S  seconds of match queries alone (bench/matchonly) after each mix, on
#                       the users it preloaded; 0 skips them (default 10)
#   --timeout S         limit of one run, preload included (default 300); a run cut
#                       short during its preload shows as "preload cut at N users"
#   --results DIR       keep the JSON reports (DIR/SIZE/SERVER.rN.json) and logs
#   --profile DIR       build Roster with -tags pprof and write a CPU profile of each
#                       Roster server's mix and match-only run to DIR/cpu-SERVER-SIZE.rN[.match].pprof
#
# Every server gets a fresh state for every run: a new SQLite data
# directory, a new PostgreSQL database (dropped afterwards), a new peer
# process. Runs use --keep: the servers are thrown away, so the cleanup's
# deletes are not timed.
set -euo pipefail

sizes=10000,100000 duration=25 rounds=1 concurrency=16 groups=10 members=100
servers=roster-sqlite,roster-postgres,elimity,scimmy,ceiling
timeout_s=300 match_duration=10 results="" profile=""
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2 ;;
	--duration) duration=${2%s} ;;
	--rounds) rounds=$2 ;;
	--concurrency) concurrency=$2 ;;
	--groups) groups=$2 ;;
	--members-per-group) members=$2 ;;
	--servers) servers=$2 ;;
	--timeout) timeout_s=${2%s} ;;
	--match-duration) match_duration=${2%s} ;;
	--results) results=$2 ;;
	--profile) profile=$2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "compare.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
	esac
	shift 2
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/roster-compare.XXXXXX")
[ -n "$results" ] || results=$work/results
mkdir -p "$results"
[ -z "$profile" ] || mkdir -p "$profile"
pghost=${PGHOST:-127.0.0.1} pgport=${PGPORT:-5432} pguser=${PGUSER:-postgres}
token=compare-$RANDOM$RANDOM$RANDOM
pid="" db=""

log() { echo "[$(date +%T)] $*" >&2; }

stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=""
	fi
	if [ -n "$db" ]; then
		dropdb -h "$pghost" -p "$pgport" -U "$pguser" --if-exists "$db" || true
		db=""
	fi
	rm -rf "$work/data"
}
cleanup() {
	stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building into $work"
tags=()
[ -z "$profile" ] || tags=(-tags pprof)
(cd "$root" && go build "${tags[@]}" -o "$work/roster" ./cmd/roster && go build -o "$work/ceiling" ./bench/ceiling &&
	go build -o "$work/compare" ./bench/compare && go build -o "$work/matchonly" ./bench/matchonly)
(cd "$root/bench/peers/elimity" && go build -o "$work/elimity" .)
case ,$servers, in *,scimmy,*) (cd "$root/bench/peers/scimmy" && npm ci --silent --no-audit --no-fund >/dev/null) ;; esac
log "node $(node --version 2>/dev/null || echo missing), $(go version)"

# wait_line FILE SED-EXPR: prints the first match of SED-EXPR (-n, with p)
# in FILE once it appears, within 30 s.
wait_line() {
	local v
	for _ in $(seq 300); do
		v=$(sed -n "$2" "$1" 2>/dev/null | head -1)
		if [ -n "$v" ]; then
			echo "$v"
			return
		fi
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "compare.sh: no \"$2\" in $1; its stderr:" >&2
	cat "${1%.out}.err" >&2
	return 1
}

# start SERVER: starts a fresh SERVER, sets pid, url and tok.
start() {
	local out=$work/server.out err=$work/server.err
	: >"$out"
	: >"$err"
	tok=$token
	case $1 in
	roster-sqlite | roster-postgres)
		local args=(--addr 127.0.0.1:0 --log-format json)
		if [ "$1" = roster-sqlite ]; then
			mkdir -p "$work/data"
			args+=(--data "$work/data")
		else
			db=roster_compare_$$_$RANDOM
			createdb -h "$pghost" -p "$pgport" -U "$pguser" "$db"
			args+=(--database "postgres://$pguser@$pghost:$pgport/$db?sslmode=disable")
		fi
		ROSTER_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') ROSTER_PPROF_ADDR=${pprof_addr:-} \
			"$work/roster" serve "${args[@]}" >"$out" 2>"$err" &
		pid=$!
		url=$(wait_line "$out" 's/^ *Tenant URL: *//p')
		tok=$(wait_line "$out" 's/^ *Secret token[^:]*: *//p')
		;;
	elimity)
		"$work/elimity" -addr 127.0.0.1:0 -token "$token" >"$out" 2>"$err" &
		pid=$!
		url=http://$(wait_line "$out" 's/^listening on //p')/scim/v2
		;;
	scimmy)
		(cd "$root/bench/peers/scimmy" && SCIM_TOKEN=$token HOST=127.0.0.1 PORT=0 exec node server.js) >"$out" 2>"$err" &
		pid=$!
		url=http://$(wait_line "$out" 's/^listening on //p')/scim/v2
		;;
	ceiling)
		"$work/ceiling" -addr 127.0.0.1:0 -token "$token" >"$out" 2>"$err" &
		pid=$!
		url=http://$(wait_line "$out" 's/^listening on //p')/scim/v2
		;;
	*) echo "compare.sh: unknown server $1" >&2; exit 2 ;;
	esac
}

# profile_mix FILE ERR: once ERR (roster bench's progress) says the mix has
# started, fetches a CPU profile of the mix into FILE.
profile_mix() {
	for _ in $(seq $((timeout_s * 10))); do
		grep -q 'mix:' "$2" 2>/dev/null && break
		sleep 0.1
	done
	curl -sf -o "$1" "http://$pprof_addr/debug/pprof/profile?seconds=$((duration > 3 ? duration - 2 : 1))" ||
		echo "compare.sh: no profile from $pprof_addr" >&2
}

IFS=, read -ra size_list <<<"$sizes"
IFS=, read -ra server_list <<<"$servers"
start_all=$(date +%s)
for size in "${size_list[@]}"; do
	mkdir -p "$results/$size"
	for round in $(seq "$rounds"); do
		for s in "${server_list[@]}"; do
			pprof_addr=""
			if [ -n "$profile" ] && [[ $s == roster-* ]]; then pprof_addr=127.0.0.1:$((20000 + RANDOM % 20000)); fi
			start "$s"
			log "$size users, round $round: $s at $url"
			json=$results/$size/$s.r$round.json berr=$results/$size/$s.r$round.err
			: >"$berr"
			ppid=""
			if [ -n "$pprof_addr" ]; then
				profile_mix "$profile/cpu-$s-$size.r$round.pprof" "$berr" &
				ppid=$!
			fi
			rc=0
			ROSTER_BENCH_TOKEN=$tok timeout -s INT -k 30 "$timeout_s" "$work/roster" bench --url "$url" --users "$size" \
				--groups "$groups" --members-per-group "$members" --concurrency "$concurrency" --duration "${duration}s" \
				--seed $((size + round)) --keep --json >"$json" 2>"$berr" || rc=$?
			if [ -n "$ppid" ]; then
				# the profile covers the mix and ends before it; a run cut in its
				# preload never had one
				[ $rc -eq 0 ] || kill "$ppid" 2>/dev/null || true
				wait "$ppid" 2>/dev/null || true
			fi
			[ $rc -eq 0 ] || log "$s: roster bench exited $rc (cut by --timeout ${timeout_s}s if 1 after a signal): $(tail -1 "$berr")"
			prefix=$(sed -n 's/^ *"prefix": "\(.*\)".*/\1/p' "$json" | head -1)
			if [ "$match_duration" != 0 ] && [ $rc -eq 0 ] && [ -n "$prefix" ]; then
				mppid=""
				if [ -n "$pprof_addr" ]; then
					curl -sf -o "$profile/cpu-$s-$size.r$round.match.pprof" \
						"http://$pprof_addr/debug/pprof/profile?seconds=$((match_duration > 3 ? match_duration - 2 : 1))" &
					mppid=$!
				fi
				ROSTER_BENCH_TOKEN=$tok "$work/matchonly" -url "$url" -prefix "$prefix" -users "$size" \
					-concurrency "$concurrency" -duration "${match_duration}s" >"${json%.json}.match.json" 2>>"$berr" ||
					log "$s: matchonly failed: $(tail -1 "$berr")"
				[ -z "$mppid" ] || wait "$mppid" || true
			fi
			cp "$work/server.err" "$results/$size/$s.r$round.server.err"
			stop
		done
	done
done
log "all runs done in $(($(date +%s) - start_all))s"

echo "roster bench --users SIZE --groups $groups --members-per-group $members --concurrency $concurrency --duration ${duration}s --keep, then matchonly ${match_duration}s; rounds $rounds; $(nproc) CPUs"
"$work/compare" -servers "$servers" "$results"
