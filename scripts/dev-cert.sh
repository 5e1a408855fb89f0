#!/usr/bin/env bash
# npm run dev-cert: a development certificate for this machine, made with openssl.
#
# A tiny certificate authority (kept between runs, so a browser or a client that
# trusts it keeps trusting it) and a server certificate it signs for localhost,
# 127.0.0.1 and ::1, plus any names given. Never for production; never committed
# (infra/tls/ ignores everything but its README).
#
#   npm run dev-cert                          into infra/tls/
#   npm run dev-cert -- myhost.lan 10.0.0.5   the same, also valid for these names and addresses
#   npm run dev-cert -- --out DIR --quiet     into DIR, printing only the paths (the tests use this)
#
# Writes, in the folder:
#   ca.crt            the authority: trust this one (browser, NODE_EXTRA_CA_CERTS, --ca, E2E_CA)
#   ca.key            its key (mode 600); kept so the next run signs with the same authority
#   switchboard.crt   the server certificate      (a lone gateway: TLS_CERT)
#   switchboard.key   its key, mode 600           (a lone gateway: TLS_KEY)
#   switchboard.pem   certificate and key in one  (HAProxy: docker-compose.yml, LB_TLS_CERT)
set -euo pipefail
cd "$(dirname "$0")/.."

out=infra/tls
quiet=0
names=(localhost 127.0.0.1 ::1)
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "dev-cert: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
command -v openssl >/dev/null || { echo "dev-cert: openssl is not installed (apt-get install openssl)" >&2; exit 1; }

# Server certificates: 365 days (macOS refuses longer ones, even from a private authority).
leaf_days=365
ca_days=3650
say() { [ "$quiet" = 1 ] || printf '%s\n' "$*"; }

mkdir -p "$out"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

san=""
for name in "${names[@]}"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then entry="IP:$name"; else entry="DNS:$name"; fi
  case ",$san," in *",$entry,"*) continue ;; esac
  san="${san:+$san,}$entry"
done

if [ -s "$out/ca.crt" ] && [ -s "$out/ca.key" ]; then
  say "keeping the authority in $out/ca.crt (delete ca.crt and ca.key for a new one)"
else
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days "$ca_days" \
    -subj "/CN=Switchboard development CA $(hostname) $(date -u +%Y-%m-%d)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$work/openssl.log" \
    || { cat "$work/openssl.log" >&2; exit 1; }
fi

cat >"$work/leaf.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
{
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$work/switchboard.key" -out "$work/leaf.csr" -subj "/CN=${names[0]}" &&
  openssl x509 -req -in "$work/leaf.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$leaf_days" -extfile "$work/leaf.ext" -out "$work/switchboard.crt"
} 2>"$work/openssl.log" || { cat "$work/openssl.log" >&2; exit 1; }

mv "$work/switchboard.key" "$out/switchboard.key"
chmod 644 "$work/switchboard.crt"
mv "$work/switchboard.crt" "$out/switchboard.crt"
chmod 644 "$out/ca.crt"
# HAProxy in its container runs as user haproxy, not as you: the combined file must
# be readable by it. A development key for this machine's names only; give a real
# key to the container's user instead (chown), never to everyone.
cat "$out/switchboard.crt" "$out/switchboard.key" >"$out/switchboard.pem"
chmod 644 "$out/switchboard.pem"

abs="$(cd "$out" && pwd)"
valid_for="${san//DNS:/}"; valid_for="${valid_for//IP:/}"; valid_for="${valid_for//,/, }"
# docker-compose.yml mounts infra/tls unless LB_TLS_DIR names another folder.
tls_dir=""
[ "$abs" = "$(pwd)/infra/tls" ] || tls_dir="LB_TLS_DIR=$abs "
if [ "$quiet" = 1 ]; then
  printf '%s\n' "$abs/ca.crt" "$abs/switchboard.crt" "$abs/switchboard.key" "$abs/switchboard.pem"
  exit 0
fi
cat <<EOF
Wrote a development certificate for $valid_for (valid $leaf_days days):
  $abs/ca.crt            the authority to trust
  $abs/switchboard.crt   the server certificate
  $abs/switchboard.key   its key
  $abs/switchboard.pem   both, for HAProxy

A lone gateway:
  TLS_CERT=$abs/switchboard.crt TLS_KEY=$abs/switchboard.key npm start
  open https://localhost:8080

docker compose (TLS on 8443; http://localhost:8080 redirects there):
  ${tls_dir}docker compose up --build --scale gateway=3

Both send Strict-Transport-Security: a browser then uses https:// for localhost, on every
port, for a year. To keep plain http://localhost for other work, add HSTS_MAX_AGE_SECONDS=0
(lone gateway) or LB_HSTS_MAX_AGE_SECONDS=0 (compose, cluster).

npm run cluster:
  LB_TLS_CERT=$abs/switchboard.pem npm run cluster

Clients:
  browser: import $abs/ca.crt as an authority
           (Chromium: Settings > Privacy and security > Security > Manage certificates > Authorities;
            Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities)
  terminal: npx switchboard client ada --url wss://localhost:8443/ws --ca $abs/ca.crt
  any Node: NODE_EXTRA_CA_CERTS=$abs/ca.crt node ...
  e2e:      E2E_URL=https://localhost:8443 E2E_CA=$abs/ca.crt npm run e2e
EOF
