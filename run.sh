#!/usr/bin/env bash
# Sets up and runs termcall's main job: builds termcall and opens the
# softphone.
#
#   ./run.sh              in a terminal: the demo (an embedded server, bots
#                         and the full-screen softphone); without a terminal
#                         (a pipe, CI): the call server, saying so
#   ./run.sh serve ARGS   the call server (e.g. ./run.sh serve --listen 0.0.0.0:7480)
#   ./run.sh --listen ... the call server too (arguments that start with -)
#   ./run.sh cluster      a local 3-node cluster on NATS and PostgreSQL (scripts/cluster.sh)
#   ./run.sh COMMAND ...  any termcall command (./run.sh call bob, ./run.sh bench)
#
# Environment: TERMCALL_SECRET (default: the development secret
# termcall-dev-secret, the one config.yaml.example has), TERMCALL_LISTEN,
# TERMCALL_DATA, ...
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
ensure_packages "${RUN_PACKAGES[@]}"
ensure_go
mkdir -p bin
go build -o bin/termcall .
export TERMCALL_SECRET="${TERMCALL_SECRET:-termcall-dev-secret}"
case "${1:-}" in
"")
	if [ -t 0 ] && [ -t 1 ]; then
		echo "built bin/termcall; opening the demo (an embedded server, bots and the softphone; q quits)" >&2
		exec bin/termcall demo
	fi
	echo "built bin/termcall; no terminal, so starting the call server instead of the softphone" >&2
	echo "(in a terminal, ./run.sh opens the demo; ./run.sh serve starts the server; Ctrl-C stops it)" >&2
	exec bin/termcall serve
	;;
-*)
	echo "built bin/termcall; starting the server (Ctrl-C stops it)" >&2
	exec bin/termcall serve "$@"
	;;
cluster)
	# ./run.sh cluster: a local 3-node cluster on NATS and PostgreSQL
	# (scripts/cluster.sh; docs/cluster.md, "Running a local cluster").
	ensure_packages "${CLUSTER_PACKAGES[@]}"
	exec scripts/cluster.sh bin/termcall
	;;
*)
	# ./run.sh serve ..., ./run.sh demo, ./run.sh bench ...: any termcall command.
	exec bin/termcall "$@"
	;;
esac
