#!/usr/bin/env bash
# Run the public W3C conformance suites against a locally served Credo (issue 3, item 5).
#
#   scripts/w3c-suites.sh DIR
#
# DIR holds checkouts (e.g. brought by `fetch`, none of it committed here) of
#   vc-data-model-2.0-test-suite, vc-di-eddsa-test-suite, vc-bitstring-status-list-test-suite
# and, because npm cannot reach GitHub offline, of the two packages they pull from GitHub:
#   vc-test-suite-implementations (w3c), data-integrity-test-suite-assertion (w3c-ccg).
# The script packs those two into tarballs and points the suites' package.json at them (in
# the scratch checkouts only), runs `npm install`, starts Credo over HTTPS on 127.0.0.1
# with a throwaway database, creates one organization per cryptosuite through the operator
# API, writes each suite's localConfig.cjs (only Credo's endpoints; the suites' own agent
# accepts the self-signed certificate), runs the suites and prints a summary.
#
# Environment: PORT (40443), CREDO (the credo executable; default the repo's .venv),
# SUITES (which to run: "vc2 eddsa status"), KEEP=1 keeps the server's work directory.
set -euo pipefail

DIR=$(cd "${1:?usage: $0 DIR-with-suite-checkouts}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-40443}
CREDO=${CREDO:-$ROOT/.venv/bin/credo}
SUITES=${SUITES:-"vc2 eddsa status"}
BASE=https://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/credo-w3c.XXXXXX)
TOKEN=w3c-suites-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
SERVER=""

cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

# 1. npm dependencies (GitHub ones from the local checkouts).
declare -A TARBALL=()
for dep in vc-test-suite-implementations data-integrity-test-suite-assertion; do
  if [ -d "$DIR/$dep" ]; then
    TARBALL[$dep]=$(cd "$DIR/$dep" && npm pack --silent --pack-destination "$WORK" | tail -n 1)
    TARBALL[$dep]=$WORK/${TARBALL[$dep]}
    mkdir -p "$DIR/.tarballs" && cp "${TARBALL[$dep]}" "$DIR/.tarballs/$dep.tgz"
  fi
done
for suite in vc-data-model-2.0-test-suite vc-di-eddsa-test-suite vc-bitstring-status-list-test-suite; do
  [ -d "$DIR/$suite" ] || { echo "missing $DIR/$suite" >&2; exit 2; }
  DIR="$DIR" SUITE="$suite" node -e '
    const fs = require("fs");
    const file = `${process.env.DIR}/${process.env.SUITE}/package.json`;
    const pkg = JSON.parse(fs.readFileSync(file));
    for (const [name, spec] of Object.entries(pkg.dependencies || {})) {
      const local = `${process.env.DIR}/.tarballs/${name}.tgz`;
      if (String(spec).startsWith("github:") && fs.existsSync(local)) {
        pkg.dependencies[name] = `file:${local}`;
      }
    }
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");'
  if [ ! -d "$DIR/$suite/node_modules" ]; then
    (cd "$DIR/$suite" && npm install --no-audit --no-fund --loglevel=error)
  fi
done

# 2. Credo over HTTPS, a throwaway database, one organization per cryptosuite.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MASTER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
(cd "$WORK" && CREDO_ENVIRONMENT=test CREDO_MASTER_KEY=$MASTER CREDO_ADMIN_TOKEN=$TOKEN \
  CREDO_BASE_URL=$BASE CREDO_DATABASE_URL="sqlite:///$WORK/credo.db" \
  exec "$CREDO" serve --port "$PORT" --ssl-certfile cert.pem --ssl-keyfile key.pem \
  >"$WORK/serve.log" 2>&1) &
SERVER=$!
for _ in $(seq 100); do curl -sk "$BASE/" -o /dev/null 2>/dev/null && break; sleep 0.2; done

org() {  # cryptosuite -> "api_key did"
  local key did
  key=$(curl -sk -X POST "$BASE/v1/admin/organizations" -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"name\":\"W3C suites $1\",\"plan\":\"connect\",\"credits\":100000,\"cryptosuite\":\"$1\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  # The organization's DID: the issuer of a credential it signs.
  did=$(curl -sk -X POST "$BASE/credentials/issue" -H "Authorization: Bearer $key" \
    -H 'content-type: application/json' \
    -d '{"credential":{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"credentialSubject":{"id":"did:example:probe"}}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["verifiableCredential"]["issuer"])')
  echo "$key $did"
}
read -r RDFC_KEY RDFC_DID < <(org eddsa-rdfc-2022)
read -r JCS_KEY JCS_DID < <(org eddsa-jcs-2022)

config() {  # suite-dir, then "tag:key:did" per issuer; verifiers get every tag
  local file=$DIR/$1/localConfig.cjs; shift
  BASE="$BASE" node -e '
    const base = process.env.BASE;
    const issuers = process.argv.slice(1).map(spec => {
      const [tag, key, ...did] = spec.split("|");
      return {id: did.join("|"), endpoint: `${base}/credentials/issue`, tags: [tag],
        headers: {authorization: `Bearer ${key}`}, supports: {vc: ["1.1", "2.0"]}};
    });
    const tags = issuers.map(i => i.tags[0]);
    const impl = {name: "Credo", implementation: "Credo (local)", issuers,
      verifiers: [{id: "urn:credo:verifier", endpoint: `${base}/credentials/verify`, tags,
        supports: {vc: ["1.1", "2.0"]}}],
      vpVerifiers: [{id: "urn:credo:verifier", endpoint: `${base}/presentations/verify`, tags}]};
    console.log("module.exports = " + JSON.stringify({settings: {enableInteropTests: true}, implementations: [impl]}, null, 2) + ";");
  ' "$@" >"$file"
}
config vc-data-model-2.0-test-suite "vc2.0|$RDFC_KEY|$RDFC_DID"
config vc-di-eddsa-test-suite "eddsa-rdfc-2022|$RDFC_KEY|$RDFC_DID" "eddsa-jcs-2022|$JCS_KEY|$JCS_DID"
config vc-bitstring-status-list-test-suite "BitstringStatusList|$RDFC_KEY|$RDFC_DID"

# 3. Run, and summarize from each suite's mocha output.
declare -A NAME=([vc2]=vc-data-model-2.0-test-suite [eddsa]=vc-di-eddsa-test-suite
  [status]=vc-bitstring-status-list-test-suite)
for s in $SUITES; do
  suite=${NAME[$s]}
  echo "== $suite"
  (cd "$DIR/$suite" && ISSUER_NAME_JCS=Credo npx mocha tests/ --reporter spec --timeout 15000 \
    --preserve-symlinks >"$DIR/$suite.out" 2>&1) || true
  grep -E '^ +[0-9]+ (passing|failing|pending)' "$DIR/$suite.out" || tail -n 5 "$DIR/$suite.out"
  if [ "$s" = eddsa ]; then
    # In one mocha run with the other files the interop matrices come out empty; run them
    # on their own (Credo's issuers against Credo's verifier).
    echo "== $suite (interop files alone)"
    (cd "$DIR/$suite" && npx mocha tests/30-rdfc-interop.js tests/60-jcs-interop.js \
      --reporter spec --timeout 15000 --preserve-symlinks >"$DIR/$suite.interop.out" 2>&1) || true
    grep -E '^ +[0-9]+ (passing|failing|pending)' "$DIR/$suite.interop.out" ||
      tail -n 5 "$DIR/$suite.interop.out"
  fi
done
echo "full output: $DIR/<suite>.out; server log: $WORK/serve.log (KEEP=1 keeps it)"
