#!/usr/bin/env bash
# Sets up and runs termcall's main job: builds termcall and starts the call
# server with a development secret. Extra arguments go to `termcall serve`
# (e.g. ./run.sh --listen 0.0.0.0:7480); a termcall command as the first
# argument runs that command instead (e.g. ./run.sh demo). Environment: TERMCALL_SECRET
# (default: a development secret), TERMCALL_LISTEN, TERMCALL_DATA, ...
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
ensure_packages "${RUN_PACKAGES[@]}"
ensure_go
scripts/web-deps.sh || echo "run.sh: building without the browser effects' files" >&2
mkdir -p bin
go build -o bin/termcall .
export TERMCALL_SECRET="${TERMCALL_SECRET:-termcall-dev-secret}"
case "${1:-}" in
demo | tui | call | groupcall | join | bot | history | group | user | devices | selftest | bench | usersig | version)
	# ./run.sh demo, ./run.sh bench ...: any termcall command.
	exec bin/termcall "$@"
	;;
esac
echo "built bin/termcall; starting the server (Ctrl-C stops it)" >&2
exec bin/termcall serve "$@"
