#!/usr/bin/env bash
# Stage 7 (attack), issue 5 section 1: the real binary, started with seeded
# data and an API key, is attacked by wapiti and sqlmap (Debian packages,
# installed by `.ci/run install`). Zero findings of medium severity or
# above; the reports and the server logs stay in OUTDIR/attack/.
#
#   bash .ci/attack.sh OUTDIR          (.ci/run calls it with .ci/out)
#
# Two passes, each against its own server on a free loopback port, on the
# same temporary data directory:
#   waf-on   the system as shipped: WAF on (the default), so the OWASP Core
#            Rule Set is part of what is under test and refuses most of the
#            scanners' requests with 403;
#   waf-off  the application alone (--waf off), so that a hole in the
#            handlers or the SQL cannot hide behind the WAF.
# Rate limits stay on in both, raised with the serve flags: a scanner is one
# address sending hundreds of requests a second, and at the defaults
# (20/s per address) it would mostly measure 429s.
#
# There is no portal yet (issue 3 builds it): the public routes scanned are
# the health checks and the OpenAPI document; the rest is the /v1 API with
# the key. When the portal lands, add its pages (and a signed-in session)
# to the start URLs below.
#
# Nothing here reaches the internet: wapiti runs with --no-bugreport and
# without the modules that need an outside server or download a database
# (see WAPITI_MODULES); sqlmap only ever talks to its target.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:?usage: .ci/attack.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DIR=$OUT/attack
rm -rf "$DIR"
mkdir -p "$DIR"

for tool in wapiti sqlmap curl jq python3; do
  command -v "$tool" >/dev/null || { echo "attack: $tool is missing; run .ci/run install" >&2; exit 1; }
done
echo "wapiti $(wapiti --version 2>/dev/null | tail -n 1 | awk '{print $NF}'), sqlmap $(sqlmap --version 2>/dev/null | head -n 1)"

# wapiti modules, chosen for a JSON API:
#   sql, blindsql      SQL injection, error-based and time-based
#   exec               command and code injection
#   file               path traversal and file inclusion
#   xss, permanentxss  reflected and stored cross-site scripting
#   crlf               header injection through parameters
#   redirect           open redirects
#   shellshock         bash function definitions in headers
#   http_headers, csp, cookieflags
#                      response headers and cookies (low severity at most)
# Left out:
#   ssrf, xxe          they prove a hit by a callback to wapiti's own server
#                      on the internet (wapiti3.ovh), unreachable here; the
#                      API fetches no URL and parses no XML anyway
#   nikto, wapp        their databases are downloaded from GitHub; Debian
#                      ships neither (wapp is still constructed, see below)
#   buster, backup, brute_login_form, htaccess, methods
#                      brute-forcing paths and logins, and Apache files:
#                      nothing of that exists here (sign-in is throttled)
# The portal's forms are attacked by the same injection modules, signed in
# (see session), and checked for anti-CSRF tokens (csrf).
WAPITI_MODULES=sql,blindsql,exec,file,xss,permanentxss,crlf,redirect,shellshock,http_headers,csp,cookieflags,csrf
# A browser's User-Agent: the Core Rule Set refuses the scanners' own
# (rule 913100, "found User-Agent associated with security scanner"), which
# would stop every request at the first rule and test nothing else.
UA="Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
# The scanners' own time budgets, per pass.
WAPITI_SCAN_TIME=${BURSAR_ATTACK_WAPITI_TIME:-120}
WAPITI_MODULE_TIME=${BURSAR_ATTACK_WAPITI_MODULE_TIME:-30}
# sqlmap's depth per pass: level 3 adds the User-Agent and Referer headers
# to the parameters tested and risk 2 adds heavier time-based payloads.
# The application alone gets the deeper scan (about 2 minutes); through the
# WAF, where most payloads are refused, level 2 and risk 1 keep the stage
# within its budget (level 3 there took about 5 minutes more).
SQLMAP_DEPTH_WAF_ON=${BURSAR_ATTACK_SQLMAP_WAF_ON:-"2 1"}
SQLMAP_DEPTH_WAF_OFF=${BURSAR_ATTACK_SQLMAP_WAF_OFF:-"3 2"}

[ -x "$OUT/bursar" ] && echo "binary: $OUT/bursar (rebuilt if the source changed)"
# The same build as the sbom stage (make build); a no-op when it is current.
make -s build BIN="$OUT/bursar"
BURSAR=$OUT/bursar

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
# The scanners keep state and history under HOME; keep it out of the
# machine's home folder.
export HOME=$TMP/home TERM=dumb
mkdir -p "$HOME" "$TMP/data"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server LOG FLAGS... starts bursar serve on a free port; sets PORT.
start_server() {
  local log=$1
  shift
  PORT=$(free_port)
  "$BURSAR" serve --data-dir "$TMP/data" --addr "127.0.0.1:$PORT" \
    --rate-limit-api-address 1000/s:2000 --rate-limit-api-key 1000/s:2000 --rate-limit-api-org 2000/s:4000 \
    --rate-limit-signin-address 1000/s:2000 --rate-limit-signin-account 1000/s:2000 \
    "$@" 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 50); do
    "$BURSAR" healthcheck --url "http://127.0.0.1:$PORT/healthz" --timeout 1s 2>/dev/null && return 0
    sleep 0.2
  done
  echo "attack: the server did not come up; its log:" >&2
  cat "$log" >&2
  return 1
}
stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# --- seed: an organization, its key, and a few documents.
KEY=$("$BURSAR" admin init --data-dir "$TMP/data" --org "Attack GmbH" --email owner@example.com \
  --currency EUR --country DE 2>"$DIR/admin.log")
# The owner's password, so that the portal can be scanned signed in.
PASSWORD="attack-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$PASSWORD" | "$BURSAR" admin set-password --data-dir "$TMP/data" --email owner@example.com 2>>"$DIR/admin.log"
start_server "$DIR/seed-server.log"
# "localhost", not 127.0.0.1, as a client would name a server; the Core
# Rule Set scores a numeric Host outside /v1/ (920350).
BASE=http://localhost:$PORT
call() { curl -sS --fail-with-body -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" "$@"; }
CUS=$(call "$BASE/v1/customers" -d '{"name": "Globex SARL", "email": "billing@globex.example", "currency": "EUR",
  "address": {"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
  "tax_id": "FR40303265045"}' | jq -er .id)
TXR=$(call "$BASE/v1/tax-rates" -d '{"name": "VAT 19%", "percentage": "19", "category": "S"}' | jq -er .id)
PRD=$(call "$BASE/v1/products" -d '{"name": "Consulting", "unit_price": "125.00", "currency": "EUR"}' | jq -er .id)
INV=$(call "$BASE/v1/invoices" -d '{"customer_id": "'"$CUS"'", "currency": "EUR",
  "lines": [{"description": "Consulting", "quantity": "8", "unit": "HUR", "unit_price": "125.00",
             "tax_rate_ids": ["'"$TXR"'"]}]}' | jq -er .id)
call --data '' "$BASE/v1/invoices/$INV/finalize" | jq -ec '{number, status}'
PAY=$(call "$BASE/v1/invoices/$INV/payments" -d '{"amount": "100.00", "method": "bank_transfer"}' | jq -er .payment.id)
DRAFT=$(call "$BASE/v1/invoices" -d '{"customer_id": "'"$CUS"'", "currency": "EUR",
  "lines": [{"description": "Support", "quantity": "1", "unit_price": "50.00"}]}' | jq -er .id)
stop_server
echo "seeded: $CUS $TXR $PRD $INV (open) $PAY $DRAFT (draft)"
YEAR=$(date -u +%Y)

# Every GET of the API with its filters, and the public routes. The API
# has no links to crawl, so these are wapiti's start URLs.
start_urls() {
  local v=$BASE/v1
  printf '%s\n' \
    "$BASE/healthz" "$BASE/readyz" "$v/openapi.json" \
    "$v/organization" "$v/organization/rate-limits" \
    "$v/customers?email=billing%40globex.example&limit=10" "$v/customers/$CUS" \
    "$v/products?limit=10&starting_after=$PRD" "$v/products/$PRD" \
    "$v/tax-rates?limit=10" "$v/tax-rates/$TXR" \
    "$v/invoices?status=open&customer_id=$CUS&issue_date_from=$YEAR-01-01&issue_date_to=$YEAR-12-31&limit=10" \
    "$v/invoices/$INV" "$v/invoices/$INV/payments" "$v/invoices/$DRAFT" \
    "$v/credit-notes?issue_date_from=$YEAR-01-01&limit=10" \
    "$v/payments?date_from=$YEAR-01-01&date_to=$YEAR-12-31&limit=10" "$v/payments/$PAY" \
    "$v/api-keys?limit=10" "$v/audit-events?object_type=invoice&object_id=$INV&action=invoice.finalized&limit=10" \
    "$v/audit/checkpoint" "$v/ip-rules" \
    "$BASE/" "$BASE/signin?next=%2Fsessions" "$BASE/signin/passkey" "$BASE/sessions" "$BASE/passkeys" "$BASE/mfa/totp" \
    "$BASE/reset-password" "$BASE/accept-invitation?token=not-a-real-token"
}

# session: signs the owner in through the API and prints the Cookie
# header wapiti sends: the session, so that it crawls and attacks the
# portal's signed-in pages and forms too, and the pre-session cookie from
# which the token of the forms before sign-in is derived (wapiti's own
# cookie jar gives way to a Cookie header).
session() {
  local s p
  s=$(curl -sS -o /dev/null -D - -H "Content-Type: application/json" -H "Origin: $BASE" -H "Sec-Fetch-Site: same-origin" \
    -A "$UA" -d '{"email": "owner@example.com", "password": "'"$PASSWORD"'"}' "$BASE/v1/auth/login" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-bursar_session=[^;]*\).*/\1/p' | head -n 1)
  p=$(curl -sS -o /dev/null -D - -A "$UA" "$BASE/signin" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-bursar_presession=[^;]*\).*/\1/p' | head -n 1)
  [ -n "$s" ] && [ -n "$p" ] && echo "$s; $p"
}

# sqlmap targets: NAME METHOD URL [JSON BODY]. Query parameters and JSON
# members are each tested; a * marks a path segment to test.
sqlmap_targets() {
  local v=$BASE/v1
  cat <<EOF
invoices-list	GET	$v/invoices?status=open&customer_id=$CUS&issue_date_from=$YEAR-01-01&limit=10&starting_after=$DRAFT
customers-list	GET	$v/customers?email=billing%40globex.example&limit=10
audit-list	GET	$v/audit-events?object_type=invoice&object_id=$INV&actor=owner&action=invoice.finalized&limit=10
customer-id	GET	$v/customers/$CUS*
invoice-id	GET	$v/invoices/$INV*
customer-create	POST	$v/customers	{"name": "Initech", "email": "ap@initech.example", "currency": "EUR", "tax_id": "DE123456789", "notes": "net 30"}
customer-update	PATCH	$v/customers/$CUS	{"name": "Globex SARL", "email": "billing@globex.example"}
invoice-create	POST	$v/invoices	{"customer_id": "$CUS", "currency": "EUR", "purchase_order": "PO-17", "lines": [{"description": "Support", "quantity": "1", "unit_price": "50.00"}]}
portal-signin-next	GET	$BASE/signin?next=%2Fsessions
portal-invitation	GET	$BASE/accept-invitation?token=not-a-real-token
portal-reset-form	FORM	$BASE/reset-password	email=ap%40initech.example&csrf_token=none
EOF
}

# wapiti_pass NAME: wapiti over the start URLs; JSON and HTML reports.
wapiti_pass() {
  local name=$1 w=$DIR/$1 s=()
  mkdir -p "$w/config"
  # wapiti 3.0.4 constructs every module, even those not run, and the wapp
  # module then downloads its database when it finds none: an empty one
  # keeps it offline.
  echo '{"apps": {}, "categories": {}}' >"$w/config/apps.json"
  while IFS= read -r u; do s+=(-s "$u"); done < <(start_urls)
  local cookie
  cookie=$(session)
  if [ -z "$cookie" ]; then
    echo "attack: could not sign in to scan the portal" >&2
    return 1
  fi
  # The forms that end a session (sign out, sign out everywhere) carry only
  # their anti-CSRF token, which every attack on them changes, so the scan
  # keeps its session. (wapiti 3.0.4's --exclude cannot be used: it builds
  # a pattern that Python 3.11 refuses.)
  local args=(-u "$BASE/" --scope folder "${s[@]}" -H "Authorization: Bearer $KEY" -H "Cookie: $cookie" -A "$UA"
    -m "$WAPITI_MODULES" -d 2 -t 10 --max-scan-time "$WAPITI_SCAN_TIME" --max-attack-time "$WAPITI_MODULE_TIME"
    --store-session "$w/session" --store-config "$w/config" --no-bugreport -v 1)
  echo "-- $name: wapiti ($WAPITI_MODULES; $((${#s[@]} / 2)) start URLs)"
  wapiti "${args[@]}" --flush-session -f json -o "$DIR/wapiti-$name.json" >"$w/wapiti.log" 2>&1
  # The HTML report from the same session; the attacks are not run again.
  wapiti "${args[@]}" --skip-crawl -f html -o "$w/html" >>"$w/wapiti.log" 2>&1
  cp "$(ls "$w"/html/localhost_*.html | head -n 1)" "$DIR/wapiti-$name.html"
  if grep -q "Downloading from the web" "$w/wapiti.log"; then
    echo "attack: wapiti tried to download a database; it must run offline" >&2
    return 1
  fi
}

# sqlmap_pass NAME LEVEL RISK: sqlmap over every target.
sqlmap_pass() {
  local name=$1 level=$2 risk=$3 t m u body args code
  mkdir -p "$DIR/sqlmap-$name"
  while IFS=$'\t' read -r t m u body; do
    # The untouched request must succeed, or the scan would test an error page.
    if [ "$m" = FORM ]; then
      # A portal form: posted as a browser does, with the anti-CSRF token
      # that sqlmap reads afresh from the form's page before each request
      # (with the pre-session cookie that page sets).
      code=$(curl -sS -o /dev/null -w '%{http_code}' -A "$UA" "$u")
      case $code in 2??) ;; *) echo "attack: GET $u answers $code before any attack; fix the target" >&2; return 1 ;; esac
      # (No --method: sqlmap 1.7.2 would fetch the token's page with it too.)
      args=(-u "$u" --data "$body" --csrf-token csrf_token --csrf-url "$u"
        -H "Origin: $BASE" -H "Sec-Fetch-Site: same-origin" --user-agent "$UA" --batch
        --level "$level" --risk "$risk" --output-dir "$DIR/sqlmap-$name/$t" --disable-coloring)
    else
      args=(-X "$m")
      [ -n "$body" ] && args+=(--data "$body")
      code=$(curl -sS -o /dev/null -w '%{http_code}' -A "$UA" -H "Authorization: Bearer $KEY" \
        -H "Content-Type: application/json" "${args[@]}" "${u//\*/}")
      case $code in 2??) ;; *) echo "attack: $m ${u//\*/} answers $code before any attack; fix the target" >&2; return 1 ;; esac
      args=(-u "$u" --method "$m" -H "Authorization: Bearer $KEY" --user-agent "$UA" --batch
        --level "$level" --risk "$risk" --output-dir "$DIR/sqlmap-$name/$t" --disable-coloring)
      # Content-Type only with a body, so that sqlmap reads it as JSON.
      [ -n "$body" ] && args+=(--data "$body" -H "Content-Type: application/json")
    fi
    printf -- '-- %s: sqlmap --level %s --risk %s %s %s\n' "$name" "$level" "$risk" "$m" "${u#"$BASE"}"
    sqlmap "${args[@]}" >"$DIR/sqlmap-$name/$t.log" 2>&1
  done < <(sqlmap_targets)
}

# The threshold: zero findings of medium severity or above.
check_wapiti() {
  python3 - "$@" <<'EOF'
import json, sys
# wapiti's levels (wapitiCore/language/vulnerability.py): 4 critical,
# 3 high, 2 medium, 1 low, 0 info. Anomalies are an answer of 500 (high)
# or a request that timed out (medium) under attack: both fail too, since
# either means an input the server did not handle.
names = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}
bad = 0
for path in sys.argv[1:]:
    report = json.load(open(path))
    for kind in ("vulnerabilities", "anomalies"):
        for category, items in sorted(report[kind].items()):
            for item in items:
                level = int(item["level"])
                mark = "FAIL" if level >= 2 else "ok  "
                bad += level >= 2
                print(f"  {mark} {path.rsplit('/', 1)[-1]}: {category} ({names.get(level, level)}): "
                      f"{item['method']} {item['path']} {item['parameter']} {item['info']}")
print(f"  wapiti: {bad} finding(s) of medium severity or above")
sys.exit(1 if bad else 0)
EOF
}

check_sqlmap() {
  local bad=0 f
  for f in "$DIR"/sqlmap-*/*.log; do
    if grep -qE "identified the following injection point|is vulnerable" "$f"; then
      echo "  FAIL sqlmap: injectable, see ${f#"$OUT"/}:"
      grep -E "^Parameter:|Type:|Title:" "$f" | sed 's/^/    /'
      bad=$((bad + 1))
      continue
    fi
    # A 500 under attack is an input the server did not handle, as
    # wapiti's anomalies above: the API answers bad input with a 4xx.
    if grep -q "500 (Internal Server Error)" "$f"; then
      echo "  FAIL sqlmap got answers of 500 in ${f#"$OUT"/}:"
      grep -A1 "HTTP error codes detected" "$f" | tail -n 1 | sed 's/^/    /'
      bad=$((bad + 1))
    fi
    # A scan that could not run proves nothing: no connection, a crash,
    # refused credentials. The CRITICAL lines allowed are sqlmap's WAF
    # heuristic (the WAF, or the API's 400 to a malformed parameter) and its
    # note that the content is dynamic (every create answers a new id and
    # time), after which it retries and goes on; the check below still
    # requires that it tested the parameters to the end.
    if grep -E "\[CRITICAL\]|Traceback|unhandled exception" "$f" |
      grep -v "heuristics detected that the target is protected" |
      grep -vq "target URL content appears to be heavily dynamic"; then
      echo "  FAIL sqlmap could not complete ${f#"$OUT"/}:"
      grep -E "\[CRITICAL\]|Traceback|unhandled exception" "$f" | sed 's/^/    /'
      bad=$((bad + 1))
    fi
    # A throttled scan is a partial one: the limits above are too low.
    if grep -q "429 (Too Many Requests)" "$f"; then
      echo "  FAIL sqlmap was rate-limited in ${f#"$OUT"/}: raise the limits in start_server"
      bad=$((bad + 1))
    fi
    if ! grep -qE "does not seem to be injectable|do not appear to be injectable" "$f"; then
      echo "  FAIL sqlmap tested no parameter in ${f#"$OUT"/}"
      bad=$((bad + 1))
    fi
  done
  echo "  sqlmap: $(ls "$DIR"/sqlmap-*/*.log | wc -l) targets, $bad failure(s)"
  [ "$bad" -eq 0 ]
}

for pass in waf-on waf-off; do
  start=$SECONDS
  if [ "$pass" = waf-on ]; then start_server "$DIR/server-$pass.log"; else start_server "$DIR/server-$pass.log" --waf off; fi
  BASE=http://localhost:$PORT
  echo "== pass $pass: bursar serve on 127.0.0.1:$PORT"
  wapiti_pass "$pass"
  if [ "$pass" = waf-on ]; then sqlmap_pass "$pass" $SQLMAP_DEPTH_WAF_ON; else sqlmap_pass "$pass" $SQLMAP_DEPTH_WAF_OFF; fi
  stop_server
  echo "== pass $pass done in $((SECONDS - start))s; requests refused by the WAF: $(grep -c 'request blocked by the WAF' "$DIR/server-$pass.log" || true)"
done

echo "== findings"
rc=0
check_wapiti "$DIR"/wapiti-waf-*.json || rc=1
check_sqlmap || rc=1
echo "reports: ${DIR#"$PWD"/}/ (wapiti-*.json, wapiti-*.html, sqlmap-*/, server-*.log)"
exit "$rc"
