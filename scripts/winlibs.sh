#!/usr/bin/env bash
# scripts/winlibs.sh PREFIX builds the C libraries termcall links, for
# windows/amd64 with Debian's mingw-w64, as static libraries under PREFIX
# (PREFIX/lib/*.a and PREFIX/lib/pkgconfig/*.pc, for
# PKG_CONFIG_LIBDIR=PREFIX/lib/pkgconfig). The sources are Debian's own
# source packages (the versions Debian 12 ships, with Debian's patches),
# fetched by `apt-get source` through a deb-src list this script keeps under
# PREFIX/apt, so the system's apt sources are left alone. A second run with
# the libraries in place does nothing. scripts/release.sh calls it; the
# packages it needs are RELEASE_PACKAGES in scripts/setup.sh.
#
# Libraries (Debian source package: configure options):
#   libogg, opus, opusfile (without its HTTP support, which needs OpenSSL),
#   speexdsp, libvpx (VP8/VP9, with nasm for its x86 assembly).
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: scripts/winlibs.sh PREFIX" >&2
	exit 2
fi
prefix=$(realpath -m "$1")
host=x86_64-w64-mingw32
sources=(libogg opus opusfile speexdsp libvpx)
pcs=(ogg opus opusfile speexdsp vpx)
jobs=${JOBS:-2}

have=1
for pc in "${pcs[@]}"; do
	[ -f "$prefix/lib/pkgconfig/$pc.pc" ] || have=0
done
if [ "$have" = 1 ]; then
	echo "winlibs: $prefix has ${pcs[*]}" >&2
	exit 0
fi
for tool in "$host-gcc" dpkg-source make nasm autoreconf; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "winlibs: $tool not found (scripts/setup.sh RELEASE_PACKAGES)" >&2
		exit 1
	fi
done

# A private apt state with one deb-src line for the release this machine runs.
apt_dir=$prefix/apt
mkdir -p "$apt_dir/lists/partial" "$prefix/src"
. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
echo "winlibs: fetching Debian $suite sources: ${sources[*]}" >&2
apt-get "${apt_opts[@]}" update -qq
(cd "$prefix/src" && apt-get "${apt_opts[@]}" source -qq "${sources[@]}" >/dev/null)

# srcdir PKG: the unpacked source tree of a Debian source package.
srcdir() {
	local d
	d=$(find "$prefix/src" -maxdepth 1 -type d -name "$1-[0-9]*" | sort | tail -1)
	if [ -z "$d" ]; then
		echo "winlibs: no unpacked source of $1 in $prefix/src" >&2
		return 1
	fi
	echo "$d"
}

# autotools PKG OPTION...: configure, make and install one autotools library.
autotools() {
	local pkg=$1 d
	shift
	d=$(srcdir "$pkg")
	echo "winlibs: building $pkg ($(basename "$d"))" >&2
	(
		cd "$d"
		[ -x configure ] || autoreconf -fi >/dev/null
		PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig ./configure -q --host="$host" --prefix="$prefix" \
			--enable-static --disable-shared "$@" >/dev/null
		make -s -j"$jobs" >/dev/null
		make -s install >/dev/null
	)
}

autotools libogg
autotools opus --disable-doc --disable-extra-programs
autotools opusfile --disable-http --disable-examples --disable-doc
autotools speexdsp --disable-examples

d=$(srcdir libvpx)
echo "winlibs: building libvpx ($(basename "$d"))" >&2
mkdir -p "$d/build-win64"
(
	cd "$d/build-win64"
	CROSS=$host- ../configure --target=x86_64-win64-gcc --prefix="$prefix" \
		--enable-static --disable-shared --enable-vp8 --enable-vp9 \
		--disable-examples --disable-tools --disable-docs --disable-unit-tests >/dev/null
	make -s -j"$jobs" >/dev/null
	make -s install >/dev/null
)

# cgo asks pkg-config without --static: fold the private requirements and
# libraries into the public ones, so that linking the static libopusfile.a
# brings libogg and libopus (and -lm, -lpthread) after it.
for pc in "$prefix"/lib/pkgconfig/*.pc; do
	awk '
		/^Requires\.private:/ { sub(/^Requires\.private:/, ""); rp = rp " " $0; next }
		/^Libs\.private:/ { sub(/^Libs\.private:/, ""); lp = lp " " $0; next }
		{ line[++n] = $0 }
		END {
			for (i = 1; i <= n; i++) {
				l = line[i]
				if (l ~ /^Requires:/) { l = l rp; req = 1 }
				if (l ~ /^Libs:/) l = l lp
				print l
			}
			if (!req && rp != "") print "Requires:" rp
		}' "$pc" >"$pc.new"
	mv "$pc.new" "$pc"
done

# The licences of what gets linked into the binary (BSD: every binary
# distribution carries them).
rm -rf "$prefix/licenses"
mkdir -p "$prefix/licenses"
for pkg in "${sources[@]}"; do
	d=$(srcdir "$pkg")
	for f in COPYING LICENSE PATENTS; do
		[ -f "$d/$f" ] && cp "$d/$f" "$prefix/licenses/$pkg.$f"
	done
	basename "$d" >>"$prefix/licenses/VERSIONS"
done
echo "winlibs: done: $prefix/lib/pkgconfig has ${pcs[*]}" >&2
