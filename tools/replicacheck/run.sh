#!/usr/bin/env bash
# Runs two Roster replicas on one PostgreSQL database behind HAProxy, with
# PgBouncer in transaction pooling between the replicas and the database
# (pass --direct to leave PgBouncer out), restarts one replica in the middle
# of the load, and checks with replicacheck that the pair behaved as one
# server. Needs psql, haproxy and pgbouncer (apt-get install haproxy
# pgbouncer) and a PostgreSQL at 127.0.0.1:5432 with trust auth. It creates
# (and drops first) the database roster_replicacheck; work files go to a
# temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
direct=false
[ "${1:-}" = --direct ] && direct=true
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null || true
	[ -f "$work/haproxy.pid" ] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

db=roster_replicacheck
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
go build -o "$work/roster" ./cmd/roster

url="postgres://postgres@127.0.0.1:5432/$db"
if ! $direct; then
	# PgBouncer 1.18 neither forwards startup parameters such as
	# statement_timeout nor keeps named prepared statements across
	# transactions: the timeout is set on the database instead, and pgx is
	# told to use unnamed statements (default_query_exec_mode=exec).
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "ALTER DATABASE $db SET statement_timeout = '60s'"
	cat >"$work/pgbouncer.ini" <<-INI
	[databases]
	$db = host=127.0.0.1 port=5432 dbname=$db user=postgres
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = 6432
	auth_type = trust
	auth_file = $work/users.txt
	pool_mode = transaction
	default_pool_size = 10
	ignore_startup_parameters = statement_timeout,extra_float_digits
	logfile = $work/pgbouncer.log
	pidfile = $work/pgbouncer.pid
	INI
	echo '"postgres" ""' >"$work/users.txt"
	chmod 644 "$work/pgbouncer.ini" "$work/users.txt"
	if [ "$(id -u)" = 0 ]; then # PgBouncer refuses to run as root
		chown postgres "$work"
		runuser -u postgres -- pgbouncer -d "$work/pgbouncer.ini"
	else
		pgbouncer -d "$work/pgbouncer.ini"
	fi
	for _ in $(seq 50); do psql -h 127.0.0.1 -p 6432 -U postgres -d "$db" -Atc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
	url="postgres://postgres@127.0.0.1:6432/$db?default_query_exec_mode=exec"
fi
export ROSTER_DATABASE_URL="$url"
"$work/roster" migrate
"$work/roster" init --json >"$work/init.json"

serve() { "$work/roster" serve --addr "127.0.0.1:$1" --no-migrate --shutdown-delay 2s >>"$work/replica-$1.log" 2>&1 & pids+=($!); }
serve 8081
serve 8082
cat >"$work/haproxy.cfg" <<-CFG
global
  maxconn 500
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
frontend scim
  bind 127.0.0.1:8080
  default_backend roster
backend roster
  balance roundrobin
  option httpchk GET /readyz
  server r1 127.0.0.1:8081 check inter 500ms fall 2 rise 2
  server r2 127.0.0.1:8082 check inter 500ms fall 2 rise 2
CFG
haproxy -D -f "$work/haproxy.cfg" -p "$work/haproxy.pid"
for _ in $(seq 50); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.2; done

# A rolling restart in the middle of the load: on SIGTERM replica 1 fails
# /readyz for 2 s (--shutdown-delay) while it still serves, HAProxy stops
# sending it requests, then it finishes those in flight, exits and comes back.
read -r idp token < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["idp_id"], d["token"])' "$work/init.json")
go build -o "$work/replicacheck" ./tools/replicacheck
"$work/replicacheck" -url "http://127.0.0.1:8080/v1/scim/$idp" -token "$token" &
check=$!
sleep 1.5
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
serve 8081
status=0
wait "$check" || status=$?
grep -h '"level":"ERROR"' "$work"/replica-*.log | head -5 || true
echo "errors logged by the replicas: $(cat "$work"/replica-*.log | grep -c '"level":"ERROR"' || true)"
exit "$status"
