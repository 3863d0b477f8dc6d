#!/usr/bin/env bash
# The HTTPS listener checked from outside by testssl.sh (Debian's `testssl.sh` package, command
# `testssl`): protocols and cipher categories, offline, against a reactor on loopback with a
# self-signed ECDSA P-256 certificate made here.
#
# Fails if any weak protocol (SSLv2, SSLv3, TLS 1.0, TLS 1.1) or weak cipher category (NULL,
# anonymous, export, LOW, 3DES/IDEA, obsolete CBC) is offered, if TLS 1.2 or TLS 1.3 is not,
# or if testssl.sh rates any finding MEDIUM or worse. About 10 s (`--protocols --std --fast`).
#
# Installs testssl.sh (and openssl, python3) when missing. Builds and uses the target/release
# binary, or the one in REACTOR_BIN_DIR. Always stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/lib/ensure-tools.sh testssl openssl python3

bin_dir=${REACTOR_BIN_DIR:-target/release}
if [ -z "${REACTOR_BIN_DIR:-}" ]; then
  cargo build --release -q -p reactor-server
fi

work=$(mktemp -d)
pids=()
# shellcheck source=scripts/lib/stop-pids.sh
. scripts/lib/stop-pids.sh
cleanup() {
  stop_pids "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "tls-check: FAIL: $*" >&2
  exit 1
}

# shellcheck source=scripts/lib/listening.sh
. scripts/lib/listening.sh

# The README's one-liner for a local self-signed pair.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

"$bin_dir/reactor-server" --https 127.0.0.1:0 --tls-cert "$work/cert.pem" \
  --tls-key "$work/key.pem" >"$work/server.out" 2>&1 &
pids+=($!)
addr=$(listening_addr "$work/server.out" https)

echo "tls-check: testssl.sh --protocols --std against $addr"
timeout 120 testssl --quiet --color 0 --warnings off --fast --protocols --std \
  --openssl-timeout 5 --jsonfile "$work/testssl.json" "$addr" >"$work/testssl.out" 2>&1 ||
  { cat "$work/testssl.out" >&2; fail "testssl.sh failed or ran longer than 120 s"; }

python3 - "$work/testssl.json" <<'PY' || { cat "$work/testssl.out" >&2; exit 1; }
import json, sys

findings = {f["id"]: f for f in json.load(open(sys.argv[1]))}
weak = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL",
        "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"]
required = ["TLS1_2", "TLS1_3", "cipherlist_STRONG"]
problems = []
for key in weak:
    finding = findings.get(key, {}).get("finding", "missing from the report")
    if not finding.startswith("not offered"):
        problems.append(f"{key}: {finding}")
for key in required:
    finding = findings.get(key, {}).get("finding", "missing from the report")
    if not finding.startswith("offered"):
        problems.append(f"{key} should be offered: {finding}")
for f in findings.values():
    # engine_problem: the local openssl's lack of GOST engines, not the server's.
    if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL") and f["id"] != "engine_problem":
        problems.append(f"{f['id']} rated {f['severity']}: {f['finding']}")
for p in problems:
    print(f"tls-check: FAIL: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
offered = [k for k in ("TLS1_2", "TLS1_3") if findings[k]["finding"].startswith("offered")]
print(f"tls-check: ok: only {', '.join(offered)} offered, only strong (AEAD) ciphers; "
      f"ALPN {findings.get('ALPN', {}).get('finding', '?')}")
PY
