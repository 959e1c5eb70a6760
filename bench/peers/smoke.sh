#!/usr/bin/env bash
# Smoke test for the benchmark peers: builds/installs both, starts each on a
# free port, sends a handful of requests in Microsoft Entra ID's shapes and
# prints each request's HTTP status per peer. Needs go, node/npm, curl, jq.
#
#   bench/peers/smoke.sh            # table only
#   VERBOSE=1 bench/peers/smoke.sh  # also print every response body
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
token=smoke-token
cleanup() {
	for f in "$work"/*.pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$here/elimity" && go build -o "$work/elimity" .)
(cd "$here/scimmy" && npm ci --silent --no-audit --no-fund >/dev/null)

# start NAME CMD... : starts a peer in the background, waits for its
# "listening on" line and prints the address.
start() {
	local name=$1
	shift
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	echo $! >"$work/$name.pid"
	for _ in $(seq 100); do
		if grep -q '^listening on ' "$work/$name.out" 2>/dev/null; then
			sed -n 's/^listening on //p' "$work/$name.out" | head -1
			return
		fi
		sleep 0.1
	done
	echo "$name did not start" >&2
	cat "$work/$name.err" >&2
	exit 1
}

elimity_addr=$(start elimity "$work/elimity" -addr 127.0.0.1:0 -token "$token" -base /scim/v2)
scimmy_addr=$(cd "$here/scimmy" && start scimmy env SCIM_TOKEN=$token PORT=0 node server.js)

declare -A result seen
steps=()

# req PEER STEP METHOD PATH [BODY] [JQ] : sends one request; the cell shows the
# status, plus the jq expression's output on the response body when given.
req() {
	local peer=$1 step=$2 method=$3 path=$4 body=${5:-} expr=${6:-}
	local base=$([ "$peer" = elimity ] && echo "$elimity_addr" || echo "$scimmy_addr")
	local args=(-s -o "$work/body" -w '%{http_code}' -X "$method")
	[ "$step" = no-token ] || args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/scim+json' --data-binary "$body")
	local code
	: >"$work/body"
	# 000 = no HTTP response (e.g. the connection was closed by a handler panic)
	code=$(curl "${args[@]}" "http://$base/scim/v2$path") || true
	local cell=$code
	if [ -n "$expr" ] && [ -s "$work/body" ]; then
		cell="$code $(jq -rc "$expr" "$work/body" 2>/dev/null || echo '?')"
	fi
	if [ "${VERBOSE:-}" = 1 ]; then
		echo "== $peer $step $method $path -> $code" >&2
		cat "$work/body" >&2
		echo >&2
	fi
	result[$peer/$step]=$cell
	[ -n "${seen[$step]:-}" ] || steps+=("$step")
	seen[$step]=1
}

core='urn:ietf:params:scim:schemas:core:2.0:User'
ent='urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
patchop='urn:ietf:params:scim:api:messages:2.0:PatchOp'

for peer in elimity scimmy; do
	guid=$(cat /proc/sys/kernel/random/uuid)
	uname="Smoke_User_$guid@contoso.com"
	ext="ext-$guid"
	req $peer no-token GET /Users
	req $peer test-connection GET "/Users?filter=userName+eq+%22$(cat /proc/sys/kernel/random/uuid)%22" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	user='{"schemas":["'$core'","'$ent'"],"externalId":"'$ext'","userName":"'$uname'","active":true,
	  "displayName":"Smoke User","emails":[{"primary":true,"type":"work","value":"'$uname'"}],
	  "meta":{"resourceType":"User"},"name":{"formatted":"Smoke User","familyName":"User","givenName":"Smoke"},
	  "roles":[],"'$ent'":{"department":"Bench","employeeNumber":"1"}}'
	req $peer create-user POST /Users "$user"
	uid=$(jq -r .id "$work/body")
	req $peer create-user-again POST /Users "$user"
	req $peer create-user-nulls POST /Users '{"schemas":["'$core'","'$ent'"],"externalId":"n-'$ext'","userName":"n-'$uname'","active":true,
	  "addresses":null,"emails":[{"primary":true,"type":"work","value":"n-'$uname'"}],"meta":{"resourceType":"User"},
	  "name":{"formatted":"N U","familyName":"U","givenName":"N"},"roles":[],"'$ent'":{"department":"Bench","manager":null}}'
	req $peer match-userName GET "/Users?filter=userName+eq+%22$uname%22" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	req $peer match-externalId GET "/Users?filter=externalId+eq+%22$ext%22" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	req $peer patch-default PATCH "/Users/$uid" '{"schemas":["'$patchop'"],"Operations":[
	  {"op":"Replace","path":"emails[type eq \"work\"].value","value":"renamed@contoso.com"},
	  {"op":"Replace","path":"name.familyName","value":"Renamed"}]}'
	req $peer ..read-back-1 GET "/Users/$uid" '' '"email=\(.emails[0].value|split("@")[0]|.[0:7]) family=\(.name.familyName)"'
	req $peer patch-flag PATCH "/Users/$uid" '{"schemas":["'$patchop'"],"Operations":[
	  {"op":"replace","value":{"displayName":"Flag User","name.givenName":"Flag","name.familyName":"Flagged","'$ent':employeeNumber":"2"}}]}'
	req $peer ..read-back-2 GET "/Users/$uid" '' '"given=\(.name.givenName) emp=\(.["'$ent'"].employeeNumber)"'
	req $peer disable-default PATCH "/Users/$uid" '{"schemas":["'$patchop'"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}'
	req $peer disable-flag PATCH "/Users/$uid" '{"schemas":["'$patchop'"],"Operations":[{"op":"replace","path":"active","value":false}]}'
	req $peer ..read-back-3 GET "/Users/$uid" '' '"active=\(.active)"'
	gname="Smoke Group $guid"
	req $peer create-group POST /Groups '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
	  "externalId":"gext-'$guid'","displayName":"'"$gname"'","meta":{"resourceType":"Group"}}'
	gid=$(jq -r .id "$work/body")
	req $peer match-group GET "/Groups?excludedAttributes=members&filter=displayName+eq+%22${gname// /+}%22" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	req $peer member-probe-empty GET "/Groups?filter=id+eq+%22$gid%22+and+members+eq+%22$uid%22&attributes=id" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	req $peer add-member PATCH "/Groups/$gid" '{"schemas":["'$patchop'"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"'$uid'"}]}]}'
	req $peer member-probe GET "/Groups?filter=id+eq+%22$gid%22+and+members+eq+%22$uid%22&attributes=id" '' 'if .totalResults then "n=\(.totalResults)" else "" end'
	req $peer get-group-no-members GET "/Groups/$gid?excludedAttributes=members" '' '"members=\(.members|length)"'
	req $peer remove-member-default PATCH "/Groups/$gid" '{"schemas":["'$patchop'"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"'$uid'"}]}]}'
	req $peer ..read-back-4 GET "/Groups/$gid" '' '"members=\(.members|length)"'
	req $peer add-member-again PATCH "/Groups/$gid" '{"schemas":["'$patchop'"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"'$uid'"}]}]}'
	req $peer remove-member-flag PATCH "/Groups/$gid" '{"schemas":["'$patchop'"],"Operations":[{"op":"remove","path":"members[value eq \"'$uid'\"]"}]}'
	req $peer ..read-back-5 GET "/Groups/$gid" '' '"members=\(.members|length)"'
	req $peer delete-group DELETE "/Groups/$gid"
	req $peer delete-user DELETE "/Users/$uid"
	req $peer get-deleted-user GET "/Users/$uid"
done

if [ "${VERBOSE:-}" = 1 ]; then
	for peer in elimity scimmy; do
		echo "== $peer stderr" >&2
		cat "$work/$peer.err" >&2
	done
fi
printf '%-22s | %-30s | %s\n' request elimity scimmy
for step in "${steps[@]}"; do
	printf '%-22s | %-30s | %s\n' "$step" "${result[elimity/$step]}" "${result[scimmy/$step]}"
done
