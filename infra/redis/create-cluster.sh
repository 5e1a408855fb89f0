#!/bin/sh
# The redis-cluster job of docker-compose.cluster.yml: join the nodes named in
# the arguments (service names, port 6379) into one Redis Cluster of masters,
# when every one of them is alone (on a first start; with volumes kept from an
# earlier run they already know each other and nothing is created), then wait
# until every node reports cluster_state:ok. Exits 0 once it does; 1 after
# CLUSTER_WAIT_SECONDS (default 120).
set -eu
[ $# -ge 3 ] || { echo "usage: create-cluster.sh NODE NODE NODE..." >&2; exit 2; }
deadline=$(($(date +%s) + ${CLUSTER_WAIT_SECONDS:-120}))

info() { redis-cli -h "$1" cluster info 2>/dev/null | tr -d '\r'; }
wait_for() { # what command...
  what=$1
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "redis-cluster: gave up waiting for $what" >&2; exit 1; }
    sleep 0.5
  done
}
answers() { redis-cli -h "$1" ping 2>/dev/null | grep -q PONG; }
alone() { info "$1" | grep -qx 'cluster_known_nodes:1'; }
ok() { info "$1" | grep -qx 'cluster_state:ok'; }

for node in "$@"; do wait_for "$node to answer" answers "$node"; done

all_alone=yes
for node in "$@"; do alone "$node" || all_alone=no; done
if [ "$all_alone" = yes ]; then
  addresses=""
  for node in "$@"; do
    # An address, as CLUSTER MEET wants; the name if it cannot be resolved here.
    ip="$(getent hosts "$node" 2>/dev/null | awk '{ print $1; exit }')" || true
    addresses="$addresses ${ip:-$node}:6379"
  done
  echo "redis-cluster: creating a cluster of$addresses"
  # redis-cli waits for the nodes to meet without end if they cannot: bounded by the deadline.
  left=$((deadline - $(date +%s)))
  [ "$left" -gt 0 ] || left=1
  # shellcheck disable=SC2086 # one word per address
  timeout "$left" redis-cli --cluster create $addresses --cluster-replicas 0 --cluster-yes \
    || { echo "redis-cluster: redis-cli --cluster create failed or timed out" >&2; exit 1; }
else
  echo "redis-cluster: the nodes already know each other: the cluster exists"
fi

for node in "$@"; do wait_for "$node to report cluster_state:ok" ok "$node"; done
echo "redis-cluster: cluster_state:ok on $*"
