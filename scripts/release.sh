#!/usr/bin/env bash
# scripts/release.sh VERSION [TARGET...] builds termcall's release artefacts
# into dist/ (docs/install.md, "Release builds"):
#
#   dist/termcall_VERSION_linux_amd64.tar.gz    binary, man pages, completions,
#   dist/termcall_VERSION_linux_arm64.tar.gz    systemd unit, licences
#   dist/termcall_VERSION_windows_amd64.zip     termcall.exe (C libraries static)
#   dist/termcall_VERSION_amd64.deb             Debian 12 packages (nfpm,
#   dist/termcall_VERSION_arm64.deb             packaging/nfpm.yaml)
#   dist/SHA256SUMS
#
# TARGETs: linux/amd64, linux/arm64, windows/amd64 (default: all three).
# VERSION is a semantic version (1.2.3, v1.2.3, 1.2.3-rc.1); it is stamped
# into the binary (termcall --version) and the packages.
#
# It installs what it needs (scripts/setup.sh: RUN_PACKAGES,
# RELEASE_PACKAGES and, for linux/arm64, Debian's arm64 architecture with
# RELEASE_ARM64_PACKAGES). linux/arm64 is cross-compiled with
# gcc-aarch64-linux-gnu against the arm64 -dev packages and checked under
# qemu-user-static: `termcall version`, then a call on 127.0.0.1 that the
# arm64 binary answers as a bot, placed by the amd64 binary against an
# amd64 server, with the tone each side sent arriving at the other.
# windows/amd64 is cross-compiled with mingw-w64 against C libraries built
# from Debian's source packages (scripts/winlibs.sh, cached in
# dist/.winlibs). Set RELEASE_SKIP_CALL=1 to skip the qemu call check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

usage() {
	echo "usage: scripts/release.sh VERSION [linux/amd64|linux/arm64|windows/amd64]..." >&2
	exit 2
}
[ $# -ge 1 ] || usage
version=${1#v}
shift
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
	echo "release: VERSION must be a semantic version like 1.2.3 or 1.2.3-rc.1, not ${version@Q}" >&2
	exit 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux/amd64 linux/arm64 windows/amd64)
for t in "${targets[@]}"; do
	case $t in
	linux/amd64 | linux/arm64 | windows/amd64) ;;
	*)
		echo "release: unknown target ${t@Q} (linux/amd64, linux/arm64, windows/amd64)" >&2
		exit 2
		;;
	esac
done
if [ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" != linux/amd64 ]; then
	echo "release: runs on linux/amd64 (Debian 12), not $(go env GOHOSTOS)/$(go env GOHOSTARCH)" >&2
	exit 1
fi
has() {
	local t
	for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}
log() { echo "== release: $*" >&2; }

source scripts/setup.sh
ensure_go
ensure_packages "${RUN_PACKAGES[@]}" "${RELEASE_PACKAGES[@]}"
if has linux/arm64; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "adding Debian's arm64 architecture (multiarch)"
		dpkg --add-architecture arm64
		apt-get update -qq
	fi
	ensure_packages "${RELEASE_ARM64_PACKAGES[@]}"
fi

dist=$root/dist
stage=$dist/.stage
rm -rf "$stage"
mkdir -p "$dist" "$stage"
ldflags="-s -w -X github.com/termcall/termcall/cmd.Version=$version"

# build OS ARCH OUT: one release binary (cgo, -trimpath, the version stamped).
build() {
	local os=$1 arch=$2 out=$3 env=(CGO_ENABLED=1 "GOOS=$1" "GOARCH=$2") extld=
	case $os/$arch in
	linux/amd64) ;;
	linux/arm64)
		env+=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++
			PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
		;;
	windows/amd64)
		env+=(CC=x86_64-w64-mingw32-gcc-posix CXX=x86_64-w64-mingw32-g++-posix
			"PKG_CONFIG_LIBDIR=$dist/.winlibs/lib/pkgconfig")
		# No DLLs beside the .exe: libgcc, libstdc++ (the camera driver)
		# and winpthread linked in, like the C libraries.
		# libogg and libopus again at the end: a build cache from before
		# winlibs.sh folded opusfile.pc's private requirements may still
		# hand the linker -lopusfile without them; libssp: opus builds with
		# _FORTIFY_SOURCE (__memcpy_chk).
		extld=" -extldflags '-static -L$dist/.winlibs/lib -logg -lopus -lm -lssp'"
		;;
	esac
	log "building $os/$arch"
	env "${env[@]}" nice -n 10 go build -trimpath -ldflags "$ldflags$extld" -o "$out" .
}

# licenses OS ARCH OUT: THIRD_PARTY_LICENSES: the licence (and NOTICE) of
# every Go module compiled into the OS/ARCH binary, from the module cache.
licenses() {
	local os=$1 arch=$2 out=$3 path ver dir f
	{
		echo "Third-party software in termcall $version ($os/$arch)."
		echo "termcall itself: MIT License (LICENSE); overview: NOTICE."
		CGO_ENABLED=1 GOOS=$os GOARCH=$arch go list -deps \
			-f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' . | sort -u |
			while read -r path ver dir; do
				printf '\n%s\n== %s %s\n' "================================================================" "$path" "$ver"
				for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/UNLICENSE* "$dir"/NOTICE*; do
					[ -f "$f" ] || continue
					printf -- '-- %s\n' "$(basename "$f")"
					cat "$f"
				done
			done
	} >"$out"
	# Every module must have brought a licence.
	local missing
	missing=$(awk '/^== /{if (m != "" && !lic) print m; m=$2; lic=0; next} /^-- /{lic=1} END{if (m != "" && !lic) print m}' "$out")
	if [ -n "$missing" ]; then
		echo "release: no licence file found for: $missing" >&2
		return 1
	fi
}

# needed_packages BINARY TRIPLET: the Debian packages of the shared
# libraries BINARY links (its NEEDED entries), one per line.
needed_packages() {
	local lib f pkg
	for lib in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		pkg=
		for f in "/usr/lib/$2/$lib" "/lib/$2/$lib"; do
			pkg=$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
		done
		if [ -z "$pkg" ]; then
			echo "release: no Debian package has $lib (needed by $1)" >&2
			return 1
		fi
		echo "$pkg"
	done | sort -u
}

# docs: man pages and completions, from the host's (linux/amd64) binary.
host_bin=$stage/host/termcall
mkdir -p "$stage/host"
build linux amd64 "$host_bin"
mkdir -p "$stage/docs/man" "$stage/docs/completions"
"$host_bin" man --dir "$stage/docs/man" 2>/dev/null
"$host_bin" completion bash >"$stage/docs/completions/termcall.bash"
"$host_bin" completion zsh >"$stage/docs/completions/_termcall"
"$host_bin" completion fish >"$stage/docs/completions/termcall.fish"
"$host_bin" completion powershell >"$stage/docs/completions/termcall.ps1"
got=$("$host_bin" --version)
case $got in
*"$version"*) ;;
*)
	echo "release: termcall --version says ${got@Q}, not $version" >&2
	exit 1
	;;
esac

artefacts=()

# linux OS ARCH TRIPLET: binary, tarball and .deb of one Linux target.
linux() {
	local arch=$1 triplet=$2 name=termcall_${version}_linux_$1
	local dir=$stage/$name bin
	mkdir -p "$dir"
	bin=$dir/termcall
	if [ "$arch" = amd64 ]; then
		cp "$host_bin" "$bin"
	else
		build linux "$arch" "$bin"
	fi
	licenses linux "$arch" "$dir/THIRD_PARTY_LICENSES"
	cp LICENSE NOTICE README.md "$dir/"
	cp -r "$stage/docs/man" "$stage/docs/completions" "$dir/"
	cp packaging/termcall.service packaging/termcall.env.example "$dir/"
	tar -C "$stage" --owner=0 --group=0 --sort=name -czf "$dist/$name.tar.gz" "$name"
	artefacts+=("$name.tar.gz")

	# The .deb: the stage nfpm.yaml describes.
	local deb=$stage/deb-$arch
	mkdir -p "$deb/bin" "$deb/man" "$deb/completions"
	cp "$bin" "$deb/bin/termcall"
	for f in "$dir"/man/*.1; do
		gzip -9n -c "$f" >"$deb/man/${f##*/}.gz"
	done
	cp "$dir"/completions/termcall.bash "$dir"/completions/_termcall "$dir"/completions/termcall.fish "$deb/completions/"
	sed 's|/usr/local/bin/termcall|/usr/bin/termcall|g' packaging/termcall.service >"$deb/termcall.service"
	sed 's|^\(# \)\?/etc/termcall/termcall.env:.*|# /etc/termcall/termcall.env: environment of the termcall service|' \
		packaging/termcall.env.example >"$deb/termcall.env"
	gzip -9n <"$dir/THIRD_PARTY_LICENSES" >"$deb/THIRD_PARTY_LICENSES.gz"
	debian_copyright >"$deb/copyright"
	debian_changelog | gzip -9n >"$deb/changelog.gz"
	log "packaging termcall_${version}_$arch.deb"
	TERMCALL_STAGE=$deb TERMCALL_ARCH=$arch TERMCALL_VERSION=$version \
		go run "$NFPM" package -f packaging/nfpm.yaml -p deb -t "$dist/termcall_${version}_$arch.deb" >/dev/null
	artefacts+=("termcall_${version}_$arch.deb")
	check_deb "$dist/termcall_${version}_$arch.deb" "$arch" "$bin" "$triplet"
}

debian_copyright() {
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: termcall
Source: https://github.com/termcall/termcall

Files: *
Copyright: 2026 The termcall authors
License: Expat
Comment: The binary also contains Go modules under MIT, BSD, ISC and
 Apache-2.0 licences; their texts and NOTICE files are in
 /usr/share/doc/termcall/THIRD_PARTY_LICENSES.gz.

License: Expat
EOF
	sed -e '1,2d' -e 's/^$/./' -e 's/^/ /' LICENSE
}

debian_changelog() {
	cat <<EOF
termcall ($version) unstable; urgency=medium

  * Release $version (built by scripts/release.sh from $(git rev-parse --short HEAD 2>/dev/null || echo "a source tree")).

 -- The termcall authors <termcall@users.noreply.github.com>  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
EOF
}

# check_deb DEB ARCH BINARY TRIPLET: what the package holds and needs.
check_deb() {
	local deb=$1 arch=$2 bin=$3 triplet=$4 info contents p f
	info=$(dpkg-deb -I "$deb")
	contents=$(dpkg-deb -c "$deb")
	grep -q "^ Architecture: $arch\$" <<<"$info" || { echo "release: $deb: not Architecture $arch" >&2 && return 1; }
	grep -q "^ Version: $version\$" <<<"$info" || { echo "release: $deb: not Version $version" >&2 && return 1; }
	for f in ./usr/bin/termcall ./lib/systemd/system/termcall.service ./etc/termcall/termcall.env \
		./usr/share/man/man1/termcall.1.gz ./usr/share/man/man1/termcall-call.1.gz \
		./usr/share/bash-completion/completions/termcall ./usr/share/zsh/vendor-completions/_termcall \
		./usr/share/fish/vendor_completions.d/termcall.fish ./usr/share/doc/termcall/copyright; do
		grep -q " $f\$" <<<"$contents" || { echo "release: $deb lacks $f" >&2 && return 1; }
	done
	# Every library the binary needs comes from a package it depends on.
	local depends needs
	depends=$(sed -n 's/^ Depends: //p' <<<"$info")
	needs=$(needed_packages "$bin" "$triplet") || return 1
	for p in $needs; do
		case ", $depends," in
		*", $p,"* | *", $p "*) ;;
		*)
			echo "release: $deb: the binary needs $p, which Depends ($depends) lacks" >&2
			return 1
			;;
		esac
	done
	if command -v lintian >/dev/null 2>&1; then
		log "lintian $(basename "$deb") (reported, not fatal)"
		lintian --tag-display-limit 0 "$deb" >&2 || true
	fi
}

# check_arm64 BINARY: it runs under qemu, and answers a call as a bot.
check_arm64() {
	# No -L /usr/aarch64-linux-gnu: with Debian's arm64 libc (multiarch)
	# installed, the loader and libraries are found in their multiarch
	# places; mixing in the cross toolchain's libc there made the binary spin
	# at start (seen with qemu 7.2 on Debian 12).
	local bin=$1 qemu=(qemu-aarch64-static) out
	log "checking linux/arm64 under qemu-user-static"
	out=$(timeout 120 "${qemu[@]}" "$bin" version)
	case $out in
	*"$version"*) echo "arm64: termcall version: $out" >&2 ;;
	*)
		echo "release: the arm64 binary under qemu says ${out@Q}, not $version" >&2
		return 1
		;;
	esac
	[ "${RELEASE_SKIP_CALL:-}" = 1 ] && return 0
	scripts/arm64call.sh "$host_bin" "$bin"
}

if has linux/amd64; then
	linux amd64 x86_64-linux-gnu
fi
if has linux/arm64; then
	linux arm64 aarch64-linux-gnu
	check_arm64 "$stage/termcall_${version}_linux_arm64/termcall"
fi

if has windows/amd64; then
	scripts/winlibs.sh "$dist/.winlibs"
	name=termcall_${version}_windows_amd64
	dir=$stage/$name
	mkdir -p "$dir/licenses"
	build windows amd64 "$dir/termcall.exe"
	licenses windows amd64 "$dir/THIRD_PARTY_LICENSES"
	cp "$dist/.winlibs/licenses/"* "$dir/licenses/"
	cp LICENSE NOTICE README.md "$dir/"
	cp "$stage/docs/completions/termcall.ps1" "$dir/"
	# No DLL besides Windows' own.
	if bad=$(x86_64-w64-mingw32-objdump -p "$dir/termcall.exe" | sed -n 's/^\s*DLL Name: //p' |
		grep -viE '^(kernel32|user32|advapi32|ws2_32|winmm|ole32|oleaut32|shell32|bcrypt|crypt32|iphlpapi|ntdll|secur32|userenv|dnsapi|mswsock|powrprof|dbghelp|quartz|strmiids|msvcrt|api-ms-win-.*|ucrtbase|gdi32|comctl32|avrt|winhttp|rpcrt4|setupapi|ksuser|version|synchronization)\.dll$'); then
		echo "release: termcall.exe needs DLLs that Windows lacks: $bad" >&2
		exit 1
	fi
	(cd "$stage" && rm -f "$dist/$name.zip" && zip -qr -X "$dist/$name.zip" "$name")
	artefacts+=("$name.zip")
fi

# SHA256SUMS covers every artefact of this version in dist/, also those
# of an earlier run for other targets.
(
	cd "$dist"
	shopt -s nullglob
	sums=(termcall_"$version"_*.tar.gz termcall_"$version"_*.deb termcall_"$version"_*.zip)
	sha256sum "${sums[@]}" >SHA256SUMS
)
log "done: dist/ (this run: ${artefacts[*]})"
(cd "$dist" && ls -l termcall_"${version}"_* SHA256SUMS && cat SHA256SUMS) >&2
