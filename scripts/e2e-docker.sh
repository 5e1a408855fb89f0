#!/usr/bin/env bash
# npm run e2e:docker: the e2e suite against the Docker deployment.
#
# Starts dockerd if no engine answers (root only), builds the images (the base
# images locally from Debian's repositories when no image registry is reachable),
# makes a throwaway certificate (npm run dev-cert), runs `docker-compose up -d
# --scale gateway=3` with the load balancer's plain and TLS listeners published on
# free ports of 127.0.0.1, runs the e2e suite through the TLS one (https://, wss://;
# SIGKILLing a gateway with `docker kill`, scaling to 4 gateways while clients stay
# connected; the plain listener's redirects), checks the balancer was never
# restarted, then that it starts and serves plain HTTP with no certificate, and
# tears everything down. Then the same on a 3-master Redis Cluster
# (docker-compose.cluster.yml on top): e2e/dist/cluster.test.js only, and every
# shard must be used by the gateways. Then the same with Redis Sentinel
# (docker-compose.ha.yml on top): e2e/dist/redis-master-loss.test.js, which
# `docker kill`s the Redis master while v2 clients chat through the balancer and
# checks every acknowledged line reached every member; then the killed master is
# started again and must rejoin as the new master's replica.
#
# When no Docker engine can be started or run a container here, it prints
# "e2e:docker NOT RUN: <why>" and exits 0 (E2E_DOCKER_REQUIRED=1: exits 1).
#
#   E2E_DOCKER_IMAGES   auto (default): upstream images if present or pullable, else local ones;
#                       local: always build local stand-ins; upstream: never
#   E2E_DOCKER_KEEP=1   leave the cluster running (and a dockerd this script started)
#   E2E_DOCKER_VARIANTS "single cluster ha" (default): which deployments to test, in that order:
#                       single (docker-compose.yml, one Redis), cluster (+ docker-compose.cluster.yml),
#                       ha (+ docker-compose.ha.yml: a master, a replica, 3 Sentinels)
set -euo pipefail
cd "$(dirname "$0")/.."
variants="${E2E_DOCKER_VARIANTS:-single cluster ha}"
want() { case " $variants " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

say() { printf '[e2e:docker] %s\n' "$*"; }
not_run() {
  printf '\n[e2e:docker] NOT RUN: %s\n\n' "$*"
  [ "${E2E_DOCKER_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
}

work="$(mktemp -d /tmp/switchboard-e2e-docker.XXXXXX)"
dockerd_pid=""
compose=()
cleanup() {
  local status=$?
  if [ ${#compose[@]} -gt 0 ] && [ "${E2E_DOCKER_KEEP:-0}" != 1 ]; then
    say "tearing down"
    "${compose[@]}" down -v --remove-orphans --timeout 20 >"$work/down.log" 2>&1 || cat "$work/down.log"
  fi
  if [ -n "$dockerd_pid" ] && [ "${E2E_DOCKER_KEEP:-0}" != 1 ]; then
    say "stopping the dockerd this script started (pid $dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a Docker engine -------------------------------------------------------
command -v docker >/dev/null || not_run "the docker CLI is not installed (apt-get install docker.io)"
if docker compose version >/dev/null 2>&1; then compose_bin=(docker compose)
elif command -v docker-compose >/dev/null; then compose_bin=(docker-compose)
else not_run "neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)"
fi

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || not_run "no Docker engine answers and dockerd is not installed"
  [ "$(id -u)" = 0 ] || not_run "no Docker engine answers, and starting dockerd needs root"
  say "starting dockerd (log: $work/dockerd.log)"
  dockerd >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    tail -15 "$work/dockerd.log" | sed 's/^/  dockerd: /'
    dockerd_pid=""
    not_run "dockerd did not start here (see its last lines above)"
  fi
fi
say "Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), compose: ${compose_bin[*]}"

# --- images ------------------------------------------------------------------
upstream=(node:20-bookworm-slim redis:7-alpine haproxy:2.8-alpine)
mode="${E2E_DOCKER_IMAGES:-auto}"
if [ "$mode" = auto ]; then
  mode=upstream
  for image in "${upstream[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    if ! timeout 120 docker pull -q "$image" >"$work/pull.log" 2>&1; then
      say "cannot pull $image ($(tail -1 "$work/pull.log")): building local stand-ins"
      mode=local
      break
    fi
  done
fi
if [ "$mode" = local ]; then
  command -v debootstrap >/dev/null || not_run "no image registry is reachable and debootstrap is not installed (apt-get install debootstrap)"
  exports="$(infra/docker/build-local-images.sh 2>"$work/images.log")" || { cat "$work/images.log"; exit 1; }
  grep '^\[local-images\]' "$work/images.log" || true
  eval "$exports"
  say "images: $NODE_IMAGE $REDIS_IMAGE $HAPROXY_IMAGE"
fi
# Can this engine run a container at all (cgroups, networking)?
probe_image="${REDIS_IMAGE:-redis:7-alpine}"
if ! docker run --rm --entrypoint redis-server "$probe_image" --version >"$work/probe.log" 2>&1; then
  sed 's/^/  docker run: /' "$work/probe.log" | tail -10
  not_run "the Docker engine started but cannot run a container here (see above)"
fi

# --- the cluster -------------------------------------------------------------
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
tls_port="$(free_port)"
while [ "$tls_port" = "$port" ]; do tls_port="$(free_port)"; done
export COMPOSE_PROJECT_NAME="${E2E_DOCKER_PROJECT:-switchboard-e2e-$$}"
export LB_PUBLISH="127.0.0.1:$port"
# TLS at the balancer: a throwaway authority and certificate, mounted instead of infra/tls.
bash scripts/dev-cert.sh --out "$work/tls" --quiet >/dev/null
export LB_TLS_DIR="$work/tls" LB_TLS_PUBLISH="127.0.0.1:$tls_port" LB_HTTPS_PORT="$tls_port"
# The balancer's admin listener (HAProxy's metrics, the dashboard), on a free port too.
export ADMIN_PUBLISH="127.0.0.1:$(free_port)"
export GATEWAY_IMAGE="${GATEWAY_IMAGE:-switchboard/gateway:e2e}"
compose=("${compose_bin[@]}" -f docker-compose.yml)

say "building the gateway image $GATEWAY_IMAGE"
"${compose[@]}" build gateway >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }

# Every gateway container healthy (its HEALTHCHECK on /healthz), at most 120 s.
wait_healthy() {
  local want=$1 healthy=0
  for _ in $(seq 1 120); do
    healthy=0
    for id in $("${compose[@]}" ps -q gateway); do
      [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && healthy=$((healthy + 1))
    done
    [ "$healthy" -ge "$want" ] && return 0
    sleep 1
  done
  say "only $healthy of $want gateways became healthy"
  "${compose[@]}" ps
  return 1
}
# The suite's way to find a node's container: a node id is <NODE_NAME>-<random letters and digits>, and a
# gateway's NODE_NAME is its container's name (from Docker's DNS), or its hostname, the container id's start.
export E2E_CONTAINER='c="${E2E_NODE%-*}"; docker inspect "$c" >/dev/null 2>&1 || c="${E2E_NODE%%-*}"'
export E2E_KILL_CMD="$E2E_CONTAINER"'; docker kill --signal KILL "$c" >/dev/null'
export E2E_URL="https://$LB_TLS_PUBLISH" E2E_CA="$work/tls/ca.crt" E2E_PLAIN_URL="http://$LB_PUBLISH" E2E_GATEWAYS=3 E2E_ADMIN_URL="http://$ADMIN_PUBLISH"

if want single; then
say "docker-compose up -d --scale gateway=3 (project $COMPOSE_PROJECT_NAME, balancer on $LB_PUBLISH, TLS on $LB_TLS_PUBLISH)"
"${compose[@]}" up -d --scale gateway=3 >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
wait_healthy 3
lb_id="$("${compose[@]}" ps -q lb)"
lb_started="$(docker inspect -f '{{.State.StartedAt}}' "$lb_id")"
"${compose[@]}" ps

# --- the suite ---------------------------------------------------------------
# The chaos scenario's hooks: drain (SIGTERM, wait for the exit), start again and
# wait for /readyz inside the container, restart Redis (AOF on its volume) and
# wait for PONG. The waits poll outside state, bounded to 30 s each.
export E2E_DRAIN_CMD="$E2E_CONTAINER"'; docker stop --time 30 "$c" >/dev/null'
export E2E_RESTART_CMD="$E2E_CONTAINER"'; docker start "$c" >/dev/null || exit 1
for i in $(seq 1 150); do
  docker exec "$c" node -e "fetch(\"http://127.0.0.1:8080/readyz\").then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null && exit 0
  sleep 0.2
done
echo "gateway container $c did not become ready" >&2; exit 1'
export E2E_REDIS_RESTART_CMD="${compose[*]} restart redis >/dev/null 2>&1 || exit 1
for i in \$(seq 1 150); do
  docker exec \$(${compose[*]} ps -q redis) redis-cli ping 2>/dev/null | grep -q PONG && exit 0
  sleep 0.2
done
echo 'redis did not come back' >&2; exit 1"
export E2E_SCALE_CMD="${compose[*]} up -d --no-recreate --scale gateway=4 >$work/scale.log 2>&1 || { cat $work/scale.log; exit 1; }"
say "running the e2e suite against $E2E_URL"
suite=0
npm run e2e --silent || suite=$?

if [ "$suite" != 0 ]; then
  say "the suite failed; the balancer's last lines:"
  "${compose[@]}" logs --no-color --tail 40 lb || true
  exit "$suite"
fi

# --- after -------------------------------------------------------------------
gateways="$("${compose[@]}" ps -q gateway | wc -l)"
[ "$gateways" = 4 ] || { say "expected 4 gateway containers after scaling, found $gateways"; exit 1; }
[ "$("${compose[@]}" ps -q lb)" = "$lb_id" ] && [ "$(docker inspect -f '{{.State.StartedAt}}' "$lb_id")" = "$lb_started" ] \
  || { say "the load balancer was restarted or replaced"; exit 1; }
say "scaled to 4 gateways with the same load balancer container (${lb_id:0:12}, up since $lb_started)"
# SIGTERM reaches node (PID 1, exec form): it drains and exits 0, not 143 or a SIGKILL's 137.
for id in $("${compose[@]}" ps -q gateway); do
  [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || continue
  docker stop --time 20 "$id" >/dev/null
  code="$(docker inspect -f '{{.State.ExitCode}}' "$id")"
  [ "$code" = 0 ] || { say "docker stop: gateway ${id:0:12} exited $code, not 0"; docker logs --tail 20 "$id"; exit 1; }
  say "docker stop: gateway ${id:0:12} got SIGTERM, drained and exited 0"
  break
done
# With no certificate, the same compose file starts the balancer as before: plain HTTP, no redirect.
say "recreating the balancer with no certificate (LB_TLS_DIR empty)"
mkdir -p "$work/no-tls"
LB_TLS_DIR="$work/no-tls" "${compose[@]}" up -d --no-deps --force-recreate lb >"$work/lb-plain.log" 2>&1 || { cat "$work/lb-plain.log"; exit 1; }
plain_check='(async () => {
  for (let i = 0; i < 150; i++) {
    try {
      const page = await fetch(process.argv[1] + "/", { redirect: "manual" });
      if (page.status === 200 && (await page.text()).includes("<html")) { console.log("GET / answers 200 in plain HTTP"); return; }
      if (page.status !== 503) throw new Error("GET / answered " + page.status + ", not the page");
    } catch (err) { if (!/fetch failed|ECONNRE/.test(String(err.cause ?? err))) throw err; }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the balancer did not serve the page in 30 s");
})().catch((err) => { console.error(err.message); process.exit(1); })'
node -e "$plain_check" "http://$LB_PUBLISH" | sed 's/^/  /' || { "${compose[@]}" logs --no-color --tail 20 lb; exit 1; }
# The log goes to a file first: `logs | grep -q` fails at random under pipefail (grep stops
# reading at the first match, and docker-compose then dies of SIGPIPE).
"${compose[@]}" logs --no-color lb >"$work/lb-plain-logs.txt" 2>/dev/null || true
grep -q 'plain HTTP only' "$work/lb-plain-logs.txt" || { say "the balancer did not say it runs without TLS"; tail -20 "$work/lb-plain-logs.txt"; exit 1; }
say "with no certificate the balancer starts and serves plain HTTP, as before"

say "balancer's view of the servers:"
"${compose[@]}" logs --no-color lb 2>/dev/null | grep -v '\[WARNING\]' | grep -E "Server gateways/gw[0-9]+ .*is (UP|DOWN)" | sed 's/^/  /' | tail -12 || true
say "PASSED (single Redis)"
fi

# --- the Redis Cluster variant -------------------------------------------------
if want cluster; then
cluster_nodes=(redis redis-2 redis-3)
if want single; then
  say "tearing down the single-Redis deployment"
  "${compose[@]}" down -v --remove-orphans --timeout 20 >"$work/down-single.log" 2>&1 || { cat "$work/down-single.log"; exit 1; }
fi
compose=("${compose_bin[@]}" -f docker-compose.yml -f docker-compose.cluster.yml)
say "docker-compose -f docker-compose.yml -f docker-compose.cluster.yml up -d --scale gateway=3 (a 3-master Redis Cluster)"
"${compose[@]}" up -d --scale gateway=3 >"$work/up-cluster.log" 2>&1 || {
  cat "$work/up-cluster.log"
  "${compose[@]}" logs --no-color redis-cluster redis || true
  exit 1
}
"${compose[@]}" logs --no-color redis-cluster 2>/dev/null | grep 'redis-cluster:' | sed 's/^/  /' || true
wait_healthy 3
"${compose[@]}" ps

# The cluster test only: the chaos scenario restarts one Redis, and scaling is the same as above.
unset E2E_SCALE_CMD
say "running e2e/dist/cluster.test.js against $E2E_URL (gateways on the Redis Cluster)"
[ -f e2e/dist/cluster.test.js ] || npm run build --silent
suite=0
node --test --test-concurrency=1 --test-reporter=spec e2e/dist/cluster.test.js || suite=$?
if [ "$suite" != 0 ]; then
  say "the suite failed on the Redis Cluster; the gateways' last lines:"
  "${compose[@]}" logs --no-color --tail 20 gateway || true
  exit "$suite"
fi

# Every shard is used: each node has connections from the gateways (named <node>:<role>), and keys.
for node in "${cluster_nodes[@]}"; do
  id="$("${compose[@]}" ps -q "$node")"
  state="$(docker exec "$id" redis-cli cluster info | tr -d '\r' | grep '^cluster_state:')"
  gateway_connections="$(docker exec "$id" redis-cli client list | grep -cE ' name=[^ ]+:(pub|sub|sessions|link|link-sub|stats) ' || true)"
  keys="$(docker exec "$id" redis-cli dbsize | tr -d '\r')"
  say "$node: $state, $gateway_connections connections from gateways, $keys keys"
  [ "$state" = cluster_state:ok ] || { say "$node does not say cluster_state:ok"; exit 1; }
  [ "$gateway_connections" -gt 0 ] || { say "no gateway is connected to $node: the shard is unused"; exit 1; }
done
say "PASSED (Redis Cluster)"
fi

# --- the Redis Sentinel variant (HA) -------------------------------------------
if want ha; then
if want single || want cluster; then
  say "tearing down the previous deployment"
  "${compose[@]}" down -v --remove-orphans --timeout 20 >"$work/down-previous.log" 2>&1 || { cat "$work/down-previous.log"; exit 1; }
fi
compose=("${compose_bin[@]}" -f docker-compose.yml -f docker-compose.ha.yml)
say "docker-compose -f docker-compose.yml -f docker-compose.ha.yml up -d --scale gateway=3 (a master, a replica, 3 Sentinels)"
"${compose[@]}" up -d --scale gateway=3 >"$work/up-ha.log" 2>&1 || {
  cat "$work/up-ha.log"
  "${compose[@]}" logs --no-color redis redis-replica sentinel-1 || true
  exit 1
}
wait_healthy 3
"${compose[@]}" ps
# The master as the Sentinels name it (a service name: they announce hostnames).
master_of() { docker exec "$("${compose[@]}" ps -q sentinel-1)" redis-cli -p 26379 sentinel get-master-addr-by-name switchboard | head -1 | tr -d '\r'; }
first_master="$(master_of)"
[ "$first_master" = redis ] || { say "the Sentinels name $first_master as master, not redis"; exit 1; }
# The suite's hook: SIGKILL the master container the Sentinels name now.
export E2E_REDIS_MASTER_KILL_CMD="m=\$(docker exec \$(${compose[*]} ps -q sentinel-1) redis-cli -p 26379 sentinel get-master-addr-by-name switchboard | head -1 | tr -d '\\r')
echo \"[e2e:docker] docker kill --signal KILL \$m (the Redis master)\" >&2
docker kill --signal KILL \$(${compose[*]} ps -q \$m) >/dev/null"
say "running e2e/dist/redis-master-loss.test.js against $E2E_URL (the Redis master killed while clients chat)"
[ -f e2e/dist/redis-master-loss.test.js ] || npm run build --silent
suite=0
node --test --test-concurrency=1 --test-reporter=spec e2e/dist/redis-master-loss.test.js || suite=$?
if [ "$suite" != 0 ]; then
  say "the suite failed on the Sentinel deployment; the last lines of the gateways and a Sentinel:"
  "${compose[@]}" logs --no-color --tail 20 gateway sentinel-1 || true
  exit "$suite"
fi
promoted="$(master_of)"
[ "$promoted" = redis-replica ] || { say "after the kill the Sentinels name $promoted as master, not redis-replica"; exit 1; }
# The killed master comes back (docker kill counts as stopped by hand: no restart by policy) and the Sentinels make it a replica of the new one.
say "starting the killed master again: the Sentinels make it a replica of redis-replica"
docker start "$("${compose[@]}" ps -q redis)" >/dev/null
rejoined=""
for _ in $(seq 1 60); do
  docker exec "$("${compose[@]}" ps -q redis)" redis-cli info replication 2>/dev/null | tr -d '\r' | grep -q '^master_link_status:up' && { rejoined=yes; break; }
  sleep 1
done
[ -n "$rejoined" ] || { say "the old master did not become a replica of the new one in 60 s"; "${compose[@]}" logs --no-color --tail 20 sentinel-1 redis; exit 1; }
say "redis is a replica of redis-replica, in sync"
say "PASSED (Redis Sentinel)"
fi
say "PASSED: ${variants}"
