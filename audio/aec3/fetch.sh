#!/usr/bin/env bash
# Refreshes webrtcaec3.wasm from its npm package (go generate runs this).
# The file is committed, so a plain `go build` needs neither npm nor
# network; this script only re-fetches it and checks it is the pinned
# build. Bump PKG and SUM together (and check the export map in aec3.go
# against the package's dist/webrtcaec3-*.js: emscripten minifies the
# names).
set -euo pipefail
cd "$(dirname "$0")"
PKG=@ennuicastr/webrtcaec3.js@0.3.0
SUM=$(cat webrtcaec3.wasm.sha256)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
got=$(sha256sum "$tmp"/package/dist/webrtcaec3-*.wasm | cut -d' ' -f1)
if [ "$got" != "$SUM" ]; then
	echo "aec3: $PKG ships webrtcaec3.wasm with sha256 $got, not the pinned $SUM" >&2
	echo "(if the new build is wanted: check it, then update webrtcaec3.wasm.sha256)" >&2
	exit 1
fi
cp "$tmp"/package/dist/webrtcaec3-*.wasm webrtcaec3.wasm
cp "$tmp/package/license.js" webrtcaec3.wasm.LICENSE
echo "webrtcaec3.wasm: $PKG, sha256 $got"
