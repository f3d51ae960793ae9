#!/usr/bin/env bash
# scripts/cluster.sh BIN: runs a local 3-node termcall cluster with a real
# NATS server (Debian's nats-server, JetStream on) and a real PostgreSQL,
# each in a directory of its own under $TERMCALL_CLUSTER_DIR (default
# ./termcall-cluster), then the nodes: `BIN serve` on 127.0.0.1:7481-7483,
# media on UDP 7481-7483, node IDs node-1..node-3. Ctrl-C (or SIGTERM)
# stops the nodes, NATS and PostgreSQL. `./run.sh cluster` builds termcall
# and runs this. docs/cluster.md, "Running a local cluster".
#
# Environment: TERMCALL_CLUSTER_DIR, TERMCALL_CLUSTER_PORT (7481: the first
# node's port), TERMCALL_CLUSTER_NATS_PORT (4222),
# TERMCALL_CLUSTER_PG_PORT (54329), TERMCALL_CLUSTER_FRESH=1 (start from
# empty NATS and PostgreSQL data), TERMCALL_SECRET (set by run.sh).
set -euo pipefail

bin=${1:?usage: scripts/cluster.sh path/to/termcall}
bin=$(realpath "$bin")
dir=${TERMCALL_CLUSTER_DIR:-termcall-cluster}
nats_port=${TERMCALL_CLUSTER_NATS_PORT:-4222}
pg_port=${TERMCALL_CLUSTER_PG_PORT:-54329}
base=${TERMCALL_CLUSTER_PORT:-7481} # node i listens on base+i-1 (TCP and UDP)
nodes=(1 2 3)

if [ "${TERMCALL_CLUSTER_FRESH:-}" = 1 ]; then
	rm -rf "$dir"
fi
mkdir -p "$dir"
dir=$(realpath "$dir")
log="$dir/logs"
mkdir -p "$log"

say() { echo "cluster: $*" >&2 || true; }

# PostgreSQL tools: Debian's /usr/lib/postgresql/N/bin (newest), else PATH.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] && command -v initdb >/dev/null 2>&1; then
	pgbin=$(dirname "$(command -v initdb)")
fi
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ] || [ ! -x "$pgbin/psql" ]; then
	say "PostgreSQL's initdb, pg_ctl and psql not found (install the postgresql package)"
	exit 1
fi
if ! command -v nats-server >/dev/null 2>&1; then
	say "nats-server not found (install the nats-server package)"
	exit 1
fi

# PostgreSQL refuses to run as root: as root, run it as postgres, owning
# its directory.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	as_pg=(runuser -u postgres --)
fi
pgdir="$dir/postgres"
pg() { "${as_pg[@]}" "$pgbin/$1" "${@:2}"; }

pids=()
stopping=0
stop_all() {
	[ "$stopping" = 1 ] && return
	stopping=1
	trap '' PIPE INT # a closed terminal or a second Ctrl-C must not cut the clean-up short
	set +e
	say "stopping"
	# The nodes first (they end their calls, write their records and leave
	# the registry), then NATS, then PostgreSQL.
	local nodes_pids=("${pids[@]:1}")
	for p in "${nodes_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${nodes_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ ${#pids[@]} -gt 0 ]; then
		kill -TERM "${pids[0]}" 2>/dev/null || true
		wait "${pids[0]}" 2>/dev/null || true
	fi
	pg pg_ctl -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
	say "stopped (data kept in $dir; TERMCALL_CLUSTER_FRESH=1 starts empty)"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL ---
if [ ! -f "$pgdir/data/PG_VERSION" ]; then
	mkdir -p "$pgdir/data"
	chmod 700 "$pgdir/data"
	if [ ${#as_pg[@]} -gt 0 ]; then
		chown -R postgres: "$pgdir"
		chmod 755 "$dir"
	fi
	say "initdb $pgdir/data"
	pg initdb -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-instructions >"$log/initdb.log" 2>&1
fi
say "PostgreSQL on 127.0.0.1:$pg_port"
pg pg_ctl -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pgdir" start >/dev/null
if ! pg psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'termcall'" | grep -q 1; then
	pg psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qc "CREATE DATABASE termcall" >/dev/null
fi
database="postgres://postgres@127.0.0.1:$pg_port/termcall?sslmode=disable"

# --- NATS (JetStream on, file storage in the cluster directory) ---
say "NATS on 127.0.0.1:$nats_port ($(nats-server --version))"
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$dir/nats" -n termcall-dev >"$log/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null; then
		break
	fi
	sleep 0.1
done
nats="nats://127.0.0.1:$nats_port"

# --- the nodes ---
for i in "${nodes[@]}"; do
	port=$((base + i - 1))
	say "node-$i on http://127.0.0.1:$port (media UDP $port; log $log/node-$i.log)"
	"$bin" serve --listen "127.0.0.1:$port" --udp-port "$port" --node-id "node-$i" \
		--data "$dir/node-$i" --nats "$nats" --database "$database" >"$log/node-$i.log" 2>&1 &
	pids+=($!)
done
for i in "${nodes[@]}"; do
	port=$((base + i - 1))
	ok=0
	for _ in $(seq 150); do
		if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.1
	done
	if [ "$ok" = 0 ]; then
		say "node-$i is not ready after 15 s; its log:"
		tail -n 20 "$log/node-$i.log" >&2
		exit 1
	fi
done

u() { echo "http://127.0.0.1:$((base + $1 - 1))"; }
all="$(u 1),$(u 2),$(u 3)"
cat >&2 <<EOF

cluster: ready: 3 nodes, NATS $nats, PostgreSQL $database
  logs: $log/   data: $dir/

Call between users, each in a terminal of its own (--secret signs userSigs,
development only). With --server listing the nodes, a client logs in to the
first that answers and fails over to the next when its node dies:

  $bin bot  --server $all --secret "\$TERMCALL_SECRET" --user echo --echo
  $bin call --server $all --secret "\$TERMCALL_SECRET" --user carol --play tone:440 echo
  $bin tui  --server $all --secret "\$TERMCALL_SECRET" --user alice

or pin a user to one node: --server $(u 2). TERMCALL_SECRET is
"$TERMCALL_SECRET" here. Users on different nodes call each other: pin the
bot to node 2 and the caller to node 1 to see a call cross nodes (the call
and its media live on the caller's node; docs/cluster.md, "Calls across
nodes"). kill -9 a node's PID to watch the others reap it (its calls
end, its live records are closed, its clients move to the next node) and run
the same serve command again to see it rejoin. Ctrl-C stops everything.
EOF
say "PIDs: nats ${pids[0]}, nodes ${pids[*]:1}"

# Wait until Ctrl-C, reporting a process that exits (a killed node: the
# others reap it; the rest keep running).
declare -A gone=()
while :; do
	for p in "${pids[@]}"; do
		if [ -z "${gone[$p]:-}" ] && ! kill -0 "$p" 2>/dev/null; then
			gone[$p]=1
			wait "$p" 2>/dev/null || true
			say "process $p exited; see $log/"
		fi
	done
	sleep 1
done
