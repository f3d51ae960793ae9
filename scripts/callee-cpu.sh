#!/usr/bin/env bash
# callee-cpu.sh: a callee's CPU per call-second, termcall against baresip,
# alternating in one run (docs/performance.md, "Client CPU").
#
#   scripts/callee-cpu.sh [-r ROUNDS] [-d SECONDS] TERMCALL_BINARY...
#
# For each termcall binary: a server (termcall serve on 127.0.0.1) and a
# callee, `termcall bot --mode answer --play tone:1000`; each round, a
# caller `termcall call --play tone:440 --no-audio-device --duration D`
# from another process. For baresip: two instances on loopback, aufile
# as the source (a 1 kHz / 440 Hz tone WAV), aubridge as the player, Opus
# (32 kbit/s mono), the callee auto-answering. The figure is the callee's
# utime+stime (/proc/PID/stat, clock ticks) over the caller's lifetime,
# divided by that lifetime. Rounds alternate baresip and each binary, so a
# noisy machine affects them alike; one line per call, then the medians.
set -euo pipefail
rounds=5 dur=10
while getopts r:d: o; do
	case $o in
	r) rounds=$OPTARG ;;
	d) dur=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] TERMCALL_BINARY..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=setup.sh
. "$here/setup.sh"
ensure_packages baresip-core sox

work=$(mktemp -d /tmp/callee-cpu.XXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# baresip: callee on 127.0.0.1:25070 (auto-answer), caller on :25072.
sox -n -r 48000 -c 1 -b 16 "$work/tone1000.wav" synth 600 sine 1000 vol 0.3
sox -n -r 48000 -c 1 -b 16 "$work/tone440.wav" synth 600 sine 440 vol 0.3
for r in callee caller; do
	port=25070 tone=tone1000.wav am=";answermode=auto"
	[ $r = caller ] && port=25072 tone=tone440.wav am=""
	mkdir -p "$work/$r"
	cat >"$work/$r/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:$port
audio_player aubridge,$r
audio_source aufile,$work/$tone
audio_alert aubridge,$r-alert
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 1
auplay_channels 1
rtcp_mux yes
net_interface 127.0.0.1
module_path /usr/lib/baresip/modules
module cons.so
module opus.so
module aufile.so
module aubridge.so
module account.so
module menu.so
cons_listen 127.0.0.1:$((port + 1000))
opus_bitrate 32000
opus_stereo no
opus_sprop_stereo no
CFG
	echo "<sip:$r@127.0.0.1:$port;transport=udp>;regint=0;audio_codecs=opus/48000/2$am" >"$work/$r/accounts"
	touch "$work/$r/contacts"
done
baresip -f "$work/callee" >"$work/baresip-callee.log" 2>&1 &
bs=$!
pids+=("$bs")

declare -A bot port
i=0
for b in "$@"; do
	i=$((i + 1))
	port[$b]=$((25100 + i))
	mkdir -p "$work/srv$i"
	"$b" serve --listen "127.0.0.1:${port[$b]}" --data "$work/srv$i" --secret bench-secret \
		--sdkappid 1400000001 --media-ip 127.0.0.1 >"$work/srv$i/serve.log" 2>&1 &
	pids+=("$!")
	sleep 1
	"$b" bot --server "http://127.0.0.1:${port[$b]}" --secret bench-secret --sdkappid 1400000001 \
		--user callee --mode answer --play tone:1000 >"$work/srv$i/bot.log" 2>&1 &
	bot[$b]=$!
	pids+=("$!")
done
sleep 2

declare -A all
for r in $(seq 1 "$rounds"); do
	for b in baresip "$@"; do
		if [ "$b" = baresip ]; then pid=$bs; else pid=${bot[$b]}; fi
		c0=$(ticks "$pid") t0=$(date +%s.%N)
		if [ "$b" = baresip ]; then
			timeout $((dur + 30)) baresip -f "$work/caller" -e "/dial sip:callee@127.0.0.1:25070" -t $((dur + 1)) >"$work/baresip-caller.log" 2>&1
		else
			"$b" call callee --server "http://127.0.0.1:${port[$b]}" --secret bench-secret --sdkappid 1400000001 \
				--user caller --play tone:440 --no-audio-device --duration "${dur}s" >/dev/null 2>&1
		fi
		c1=$(ticks "$pid") t1=$(date +%s.%N)
		v=$(echo "($c1 - $c0) / $hz / ($t1 - $t0)" | bc -l)
		all[$b]="${all[$b]:-} $v"
		printf '%d %s %.4f load %s\n' "$r" "$b" "$v" "$(cut -d' ' -f1 /proc/loadavg)"
		sleep 1
	done
done
echo "medians (CPU seconds per call second):"
for b in baresip "$@"; do
	printf '  %s %s\n' "$b" "$(tr ' ' '\n' <<<"${all[$b]}" | grep . | sort -g | awk '{a[NR]=$1} END {printf "%.4f\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
done
