#!/usr/bin/env bash
# scripts/arm64call.sh HOST_BINARY ARM64_BINARY: the release check that the
# linux/arm64 binary makes a real call (scripts/release.sh runs it). On
# 127.0.0.1: HOST_BINARY (linux/amd64) serves; ARM64_BINARY, under
# qemu-user-static, is a bot that answers and sends a 440 Hz tone;
# HOST_BINARY calls it sending 880 Hz, for 4 s. Passes when the call
# connected and each side recorded the other's tone (sox's rough frequency
# within 10%). Needs qemu-user-static, the arm64 libraries (multiarch), sox
# and curl (RELEASE_PACKAGES).
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: scripts/arm64call.sh HOST_BINARY ARM64_BINARY" >&2
	exit 2
fi
host=$(realpath "$1")
arm=$(realpath "$2")
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "arm64 call check: $*" >&2
	for f in "$tmp"/*.log; do
		[ -f "$f" ] && { echo "--- $(basename "$f")" >&2 && tail -20 "$f" >&2; }
	done
	exit 1
}

# A free port: one nothing answers on.
while :; do
	port=$((30000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
export TERMCALL_SECRET=release-check-secret
server=127.0.0.1:$port
url=http://$server
unset TERMCALL_CONFIG TERMCALL_SERVER TERMCALL_USER TERMCALL_USERSIG

"$host" serve --listen "$server" --data "$tmp/data" >"$tmp/server.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 60))
until curl -fsS "http://$server/readyz" >/dev/null 2>&1; do
	[ $SECONDS -lt $deadline ] || fail "the server on $server did not get ready in 60 s"
	sleep 0.5
done

mkdir -p "$tmp/rec"
qemu-aarch64-static "$arm" bot \
	--server "$url" --user armbot --mode answer --play tone:440 --record-dir "$tmp/rec" >"$tmp/bot.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 180))
until grep -q "bot armbot ready" "$tmp/bot.log"; do
	[ $SECONDS -lt $deadline ] || fail "the arm64 bot did not log in within 180 s"
	kill -0 "${pids[1]}" 2>/dev/null || fail "the arm64 bot exited"
	sleep 0.5
done

if ! "$host" call armbot --server "$url" --user alice --duration 4s --play tone:880 \
	--no-audio-device --record "$tmp/alice.wav" --json >"$tmp/call.ndjson" 2>"$tmp/call.log"; then
	fail "the call from the amd64 binary failed (exit $?)"
fi
grep -q '"event":"summary".*"result":"connected"' "$tmp/call.ndjson" || fail "the call did not connect: $(tail -1 "$tmp/call.ndjson")"

# freq FILE: sox's rough frequency of a recording; amp FILE: its RMS amplitude.
freq() { sox "$1" -n stat 2>&1 | awk '/^Rough[ ]+frequency:/ {print $3}'; }
amp() { sox "$1" -n stat 2>&1 | awk '/^RMS[ ]+amplitude:/ {print $3}'; }
near() { awk -v f="$1" -v want="$2" 'BEGIN { exit !(f > want * 0.9 && f < want * 1.1) }'; }
loud() { awk -v a="$1" 'BEGIN { exit !(a > 0.01) }'; }

f=$(freq "$tmp/alice.wav")
a=$(amp "$tmp/alice.wav")
{ near "$f" 440 && loud "$a"; } || fail "the amd64 caller heard ${f:-nothing} Hz (RMS $a), not the arm64 bot's 440 Hz"
# The bot records each call once it has ended; give it a moment.
deadline=$((SECONDS + 60))
until rec=$(find "$tmp/rec" -name '*.wav' | head -1) && [ -n "$rec" ] && [ -n "$(find "$tmp/rec" -name '*.json')" ]; do
	[ $SECONDS -lt $deadline ] || fail "the arm64 bot wrote no recording (.wav and .json) in $tmp/rec"
	sleep 0.5
done
bf=$(freq "$rec")
ba=$(amp "$rec")
{ near "$bf" 880 && loud "$ba"; } || fail "the arm64 bot heard ${bf:-nothing} Hz (RMS $ba), not the caller's 880 Hz"
echo "arm64 call check: passed: the caller heard $f Hz (RMS $a), the arm64 bot heard $bf Hz (RMS $ba)" >&2
