#!/usr/bin/env bash
# npm run e2e:swarm: the e2e suite against infra/swarm/stack.yml on a one-node Docker Swarm.
#
# Starts dockerd if no engine answers (root only), makes the engine a one-node
# swarm if it is not in one (`docker swarm init`, left again at the end), builds
# the gateway image twice under two new tags (the base images locally from
# Debian's repositories when no image registry is reachable, as e2e:docker does),
# makes a throwaway certificate (a Swarm secret), runs `docker stack deploy` with
# the balancer's plain and TLS ports published on free ports, and runs the e2e
# suite through the TLS one. Besides the cluster and TLS tests, e2e/src/swarm.test.ts
# rolls the gateway service to the second image while v2 clients chat in several
# rooms, then scales it to 5 and back to 2; its figures are printed at the end.
# Then `docker stack rm`, and a check that nothing of the stack is left (its Redis
# volume, which `docker stack rm` keeps by design, is removed and checked too).
#
# When no Docker engine can be started, made a swarm manager or run a container
# here, it prints "e2e:swarm NOT RUN: <why>" and exits 0 (E2E_SWARM_REQUIRED=1: exits 1).
#
#   E2E_SWARM_IMAGES   auto (default): upstream images if present or pullable, else local ones;
#                      local: always build local stand-ins; upstream: never
#   E2E_SWARM_KEEP=1   leave the stack (and a swarm or dockerd this script started) running
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[e2e:swarm] %s\n' "$*"; }
not_run() {
  printf '\n[e2e:swarm] NOT RUN: %s\n\n' "$*"
  [ "${E2E_SWARM_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
}

work="$(mktemp -d /tmp/switchboard-e2e-swarm.XXXXXX)"
stack="switchboard-e2e-$$"
deployed=0
dockerd_pid=""
swarm_started=0
gwbridge_before=1
built_images=()

# Waits until nothing labelled with the stack's name is left among `docker $1 ls`
# (services, networks, configs, secrets) and the containers; at most 120 s.
stack_leftovers() {
  local kind
  for kind in service network config secret; do
    docker "$kind" ls -q --filter "label=com.docker.stack.namespace=$stack" | sed "s/^/$kind /"
  done
  docker ps -aq --filter "label=com.docker.stack.namespace=$stack" | sed 's/^/container /'
}
remove_stack() {
  say "docker stack rm $stack"
  docker stack rm "$stack" >"$work/rm.log" 2>&1 || { cat "$work/rm.log"; return 1; }
  local left=""
  for _ in $(seq 1 120); do
    left="$(stack_leftovers)"
    [ -z "$left" ] && break
    sleep 1
  done
  deployed=0
  if [ -n "$left" ]; then
    say "docker stack rm left these behind after 120 s:"
    printf '  %s\n' $left
    return 1
  fi
  # `docker stack rm` keeps named volumes (Redis's data) on purpose; the README says how to remove them.
  local volumes
  volumes="$(docker volume ls -q --filter "label=com.docker.stack.namespace=$stack")"
  [ -z "$volumes" ] || docker volume rm $volumes >/dev/null
  [ -z "$(docker volume ls -q --filter "label=com.docker.stack.namespace=$stack")" ] || { say "volumes of $stack are left"; return 1; }
  say "docker stack rm left no service, container, network, config or secret behind; its volume ($(echo $volumes)) removed as well"
}

cleanup() {
  local status=$?
  if [ "${E2E_SWARM_KEEP:-0}" = 1 ]; then
    say "E2E_SWARM_KEEP=1: leaving stack $stack running"
  else
    if [ "$deployed" = 1 ]; then remove_stack || status=1; fi
    if [ "$swarm_started" = 1 ]; then
      say "leaving the swarm this script made"
      for _ in 1 2 3; do docker swarm leave --force >/dev/null 2>&1 && break; sleep 2; done
      [ "$gwbridge_before" = 1 ] || docker network rm docker_gwbridge >/dev/null 2>&1 || true
    fi
    [ ${#built_images[@]} -eq 0 ] || docker image rm "${built_images[@]}" >/dev/null 2>&1 || true
    if [ -n "$dockerd_pid" ]; then
      say "stopping the dockerd this script started (pid $dockerd_pid)"
      kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a Docker engine -------------------------------------------------------
command -v docker >/dev/null || not_run "the docker CLI is not installed (apt-get install docker.io)"
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
say "Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), CLI $(docker version --format '{{.Client.Version}}' 2>/dev/null)"

# --- a swarm -----------------------------------------------------------------
swarm_state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
case "$swarm_state" in
  active)
    [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] \
      || not_run "this engine is a worker of a swarm: a stack is deployed from a manager"
    say "the engine is a swarm manager already: deploying there (and leaving the swarm as it is)"
    ;;
  inactive)
    docker network inspect docker_gwbridge >/dev/null 2>&1 || gwbridge_before=0
    # A swarm of this one node, reached on the loopback address only.
    if ! docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >"$work/swarm.log" 2>&1; then
      sed 's/^/  docker swarm init: /' "$work/swarm.log" | tail -5
      not_run "docker swarm init failed here (see above)"
    fi
    swarm_started=1
    say "docker swarm init: a one-node swarm, left again at the end"
    ;;
  *) not_run "the engine's swarm state is '$swarm_state' (not active, not inactive)" ;;
esac

# --- images ------------------------------------------------------------------
upstream=(node:20-bookworm-slim redis:7-alpine haproxy:2.8-alpine)
mode="${E2E_SWARM_IMAGES:-auto}"
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
  export NODE_IMAGE REDIS_IMAGE HAPROXY_IMAGE
  say "images: $NODE_IMAGE $REDIS_IMAGE $HAPROXY_IMAGE"
fi
probe_image="${REDIS_IMAGE:-redis:7-alpine}"
if ! docker run --rm --entrypoint redis-server "$probe_image" --version >"$work/probe.log" 2>&1; then
  sed 's/^/  docker run: /' "$work/probe.log" | tail -10
  not_run "the Docker engine started but cannot run a container here (see above)"
fi

# Two builds of the gateway, each under a tag of its own: Swarm updates a service
# only when its image reference changes. The second is the first with a new label:
# another image (its own id), as a new release is.
build_id="$(date +%Y%m%d%H%M%S)-$$"
first="switchboard/gateway:swarm-$build_id-1"
second="switchboard/gateway:swarm-$build_id-2"
say "building the gateway image $first"
docker build --build-arg "NODE_IMAGE=${NODE_IMAGE:-node:20-bookworm-slim}" -f services/gateway/Dockerfile -t "$first" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; exit 1; }
built_images+=("$first")
printf 'FROM %s\nLABEL org.opencontainers.image.revision="%s-2"\n' "$first" "$build_id" \
  | docker build -t "$second" - >"$work/build-2.log" 2>&1 || { tail -20 "$work/build-2.log"; exit 1; }
built_images+=("$second")
say "and $second, the release to roll to ($(docker image inspect -f '{{.Id}}' "$second" | cut -c8-19), not $(docker image inspect -f '{{.Id}}' "$first" | cut -c8-19))"

# --- the stack ---------------------------------------------------------------
# Published ports in Swarm listen on every address of the host (mode: host); the
# suite only ever connects to them on 127.0.0.1.
free_port() { node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})'; }
lb_port="$(free_port)"
lb_tls_port="$(free_port)"
while [ "$lb_tls_port" = "$lb_port" ]; do lb_tls_port="$(free_port)"; done
bash scripts/dev-cert.sh --out "$work/tls" --quiet >/dev/null
export GATEWAY_IMAGE="$first" LB_PORT="$lb_port" LB_TLS_PORT="$lb_tls_port" TLS_PEM_FILE="$work/tls/switchboard.pem"
say "docker stack deploy -c infra/swarm/stack.yml $stack (balancer on :$lb_port, TLS on :$lb_tls_port)"
deployed=1
# --resolve-image never: the images are this engine's own, in no registry.
docker stack deploy --resolve-image never -c infra/swarm/stack.yml "$stack" >"$work/deploy.log" 2>&1 || { cat "$work/deploy.log"; exit 1; }

# Every service at its replicas, and a gateway answering /readyz through the TLS listener: at most 180 s.
converged() {
  local line
  [ -n "$(docker stack services -q "$stack")" ] || return 1
  while read -r line; do
    [ "${line%%/*}" = "${line##*/}" ] || return 1
  done < <(docker stack services --format '{{.Replicas}}' "$stack")
  node -e 'fetch(process.argv[1]).then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
    "https://127.0.0.1:$lb_tls_port/readyz" 2>/dev/null
}
export NODE_EXTRA_CA_CERTS="$work/tls/ca.crt"
ready=0
for _ in $(seq 1 180); do
  if converged; then ready=1; break; fi
  sleep 1
done
docker stack services "$stack"
if [ "$ready" != 1 ]; then
  say "the stack did not converge in 180 s:"
  docker stack ps --no-trunc "$stack" | head -20
  docker service logs --tail 20 "${stack}_lb" 2>&1 | tail -20
  exit 1
fi
unset NODE_EXTRA_CA_CERTS

# --- the suite ---------------------------------------------------------------
# A node id is <NODE_NAME>-<random letters and digits>; the stack sets NODE_NAME to the task's container name.
export E2E_KILL_CMD='c="${E2E_NODE%-*}"; docker inspect "$c" >/dev/null 2>&1 || c="${E2E_NODE%%-*}"; docker kill --signal KILL "$c" >/dev/null'
export E2E_URL="https://127.0.0.1:$lb_tls_port" E2E_CA="$work/tls/ca.crt" E2E_PLAIN_URL="http://127.0.0.1:$lb_port" E2E_GATEWAYS=3
export E2E_SWARM_SERVICE="${stack}_gateway" E2E_SWARM_NETWORK="${stack}_admin"
export E2E_SWARM_WATCH_IMAGE="$first" E2E_SWARM_NEXT_IMAGE="$second"
# The suite's tests of the balancer and the cluster behind it, then the Swarm
# scenarios (which leave 2 gateways). Not the chaos scenario (it restarts a given
# gateway and Redis, which a Swarm service does not offer; e2e:docker runs it),
# nor the checks of the deployment files (e2e:docker and npm run e2e run them).
# One run each, in this order (node's runner would order them by name): the TLS
# test wants every gateway up, and the cluster test SIGKILLs one (Swarm starts
# another in its place).
say "running e2e/dist/tls.test.js, cluster.test.js, then swarm.test.js, against $E2E_URL"
rm -f test-output/e2e-swarm-rolling-update.txt test-output/e2e-swarm-scale.txt
npm run build --silent
suite=0
for file in tls cluster swarm; do
  node --test --test-concurrency=1 --test-reporter=spec "e2e/dist/$file.test.js" || { suite=$?; break; }
done
if [ "$suite" != 0 ]; then
  say "the suite failed; the gateways' and the balancer's last lines:"
  docker service logs --tail 20 "${stack}_gateway" 2>&1 | tail -20 || true
  docker service logs --tail 20 "${stack}_lb" 2>&1 | grep -v '\[WARNING\]' | tail -20 || true
  exit "$suite"
fi
for report in test-output/e2e-swarm-rolling-update.txt test-output/e2e-swarm-scale.txt; do
  [ -f "$report" ] || { say "$report is missing: the Swarm scenarios did not run"; exit 1; }
done

# --- after -------------------------------------------------------------------
remove_stack
say "$(grep '^rolling update:' test-output/e2e-swarm-rolling-update.txt)"
say "$(grep '^scale to' test-output/e2e-swarm-scale.txt)"
say "PASSED"
