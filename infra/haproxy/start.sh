#!/bin/sh
# The load balancer's entry point in docker-compose.yml: TLS when the certificate
# is there, plain HTTP as before when it is not, then the image's own entry point.
#
# LB_TLS_CERT names the PEM haproxy.cfg would serve HTTPS with (compose points it
# into the mounted infra/tls/). If no such file exists, it is unset: haproxy.cfg
# then has no TLS frontend and does not redirect.
if [ -n "${LB_TLS_CERT:-}" ]; then
  if [ ! -e "$LB_TLS_CERT" ]; then
    echo "[start.sh] no certificate at $LB_TLS_CERT: plain HTTP only (npm run dev-cert makes one; see infra/tls/README.md)"
    unset LB_TLS_CERT
  elif [ ! -r "$LB_TLS_CERT" ]; then
    echo "[start.sh] $LB_TLS_CERT is there but user $(id -un) (uid $(id -u)) cannot read it: chown it to uid $(id -u), or chmod 644 a development one" >&2
    exit 1
  else
    echo "[start.sh] TLS with $LB_TLS_CERT: HTTPS and WSS on the TLS port; plain HTTP redirects there (but /healthz, /readyz)"
  fi
fi
# haproxy's upstream image adds -W -db there; images without one run the command as given.
if command -v docker-entrypoint.sh >/dev/null 2>&1; then exec docker-entrypoint.sh "$@"; fi
exec "$@"
