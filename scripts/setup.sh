# shellcheck shell=bash
# Shared setup for run.sh and test.sh: system packages and the Go toolchain.
# Source it; it defines ensure_packages and ensure_go.

# RUN_PACKAGES are the Debian/Ubuntu packages termcall needs to build and
# run; TEST_PACKAGES are the extra ones the tests need (gcc for -race,
# tmux for the TUI's end-to-end test, postgresql for the PostgreSQL store
# tests, which start their own throwaway server); OPTIONAL_TEST_PACKAGES are tried
# but may be missing (chromium for the browser tests, which skip without
# it: on Ubuntu the package is a snap wrapper that cannot be installed here).
# Later features add theirs here (e.g. libopus-dev for audio).
RUN_PACKAGES=(gcc libc6-dev pkg-config libopus-dev libopusfile-dev libspeexdsp-dev libvpx-dev)
TEST_PACKAGES=(gcc libc6-dev tmux postgresql espeak-ng sox pulseaudio)
OPTIONAL_TEST_PACKAGES=(chromium)
# --- kit: aec --- WebRTC audio processing (audio/webrtcap, a C++ shim: g++)
RUN_PACKAGES+=(g++ libwebrtc-audio-processing-dev)
# CLUSTER_PACKAGES run ./run.sh cluster (scripts/cluster.sh): Debian's
# nats-server (2.9.10 on Debian 12: JetStream KV with create, update and
# delete at a revision, all termcall's cluster state needs) and PostgreSQL;
# curl polls the nodes' /readyz.
CLUSTER_PACKAGES=(nats-server postgresql curl)

# ensure_packages PKG... installs the packages that are missing, with
# apt-get (through sudo when not root).
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "missing system packages: ${missing[*]} (install them; no apt-get here)" >&2
		return 1
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	echo "installing system packages: ${missing[*]}" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_go checks that the go command exists (go.mod asks for Go 1.26;
# an older go with GOTOOLCHAIN=auto fetches it).
ensure_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "go not found: install Go 1.26 (https://go.dev/dl/) and put it on PATH" >&2
		return 1
	fi
}

# --- web: browser effects ---
# WEB_PACKAGES: npm for scripts/web-deps.sh (installed only when there is no
# npm command).
WEB_PACKAGES=(npm)

# --- rel: release builds ---
# RELEASE_PACKAGES build the release artefacts (scripts/release.sh;
# docs/install.md): the arm64 cross compiler, qemu to run its result, sox
# and curl for its call check; mingw-w64 (C, and C++ for the camera driver)
# and the build tools of the windows/amd64 binary's C libraries (built from
# Debian's source packages, which dpkg-dev unpacks); lintian checks the .deb
# packages. RELEASE_ARM64_PACKAGES are the linux/arm64 -dev packages of
# RUN_PACKAGES (Debian multiarch: release.sh adds the arm64 architecture
# first); the C headers and start files come with gcc-aarch64-linux-gnu
# (libc6-dev-arm64-cross), not libc6-dev:arm64, whose install would move
# the amd64 libc6-dev to its exact version.
RELEASE_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 dpkg-dev make nasm autoconf automake libtool lintian sox curl)
RELEASE_ARM64_PACKAGES=(libopus-dev:arm64 libopusfile-dev:arm64 libspeexdsp-dev:arm64 libvpx-dev:arm64)
# --- kit: aec --- audio/webrtcap for linux/arm64: its C++ shim and the arm64 library
RELEASE_PACKAGES+=(g++-aarch64-linux-gnu)
RELEASE_ARM64_PACKAGES+=(libwebrtc-audio-processing-dev:arm64)
