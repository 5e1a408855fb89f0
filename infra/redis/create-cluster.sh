#!/bin/sh
# The redis-cluster job of docker-compose.cluster.yml: join the nodes named in
# the arguments (service names, port 6379) into one Redis Cluster of masters,
# when every one of them is alone (a first start); with volumes kept from an
# earlier run, introduce them again at their current addresses instead. Then wait
# until every node reports cluster_state:ok: exit 0 once they do, 1 after
# CLUSTER_WAIT_SECONDS (default 120). Safe to run again at any time (`up -d`
# runs it again after a `down` without `-v`).
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

# A node's address, as CLUSTER MEET wants it; the name if it cannot be resolved here.
address_of() {
  ip="$(getent hosts "$1" 2>/dev/null | awk '{ print $1; exit }')" || true
  echo "${ip:-$1}"
}

all_alone=yes
for node in "$@"; do alone "$node" || all_alone=no; done
if [ "$all_alone" = yes ]; then
  addresses=""
  for node in "$@"; do addresses="$addresses $(address_of "$node"):6379"; done
  echo "redis-cluster: creating a cluster of$addresses"
  # redis-cli waits for the nodes to meet without end if they cannot: bounded by the deadline.
  left=$((deadline - $(date +%s)))
  [ "$left" -gt 0 ] || left=1
  # shellcheck disable=SC2086 # one word per address
  timeout "$left" redis-cli --cluster create $addresses --cluster-replicas 0 --cluster-yes \
    || { echo "redis-cluster: redis-cli --cluster create failed or timed out" >&2; exit 1; }
else
  # Volumes kept from an earlier run: the nodes know each other, but by the addresses
  # their containers had then (nodes.conf), and recreated containers get new ones.
  # A MEET at the current address makes a node update a peer it already knows (and
  # tells the peer its own new address): harmless when nothing changed.
  echo "redis-cluster: the nodes already form a cluster: introducing them at their current addresses"
  for node in "$@"; do
    for peer in "$@"; do
      [ "$peer" = "$node" ] || redis-cli -h "$node" cluster meet "$(address_of "$peer")" 6379 >/dev/null || true
    done
  done
fi

for node in "$@"; do wait_for "$node to report cluster_state:ok" ok "$node"; done
echo "redis-cluster: cluster_state:ok on $*"
