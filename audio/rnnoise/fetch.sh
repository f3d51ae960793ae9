#!/usr/bin/env bash
# Refreshes rnnoise.wasm from its npm package (go generate runs this).
# The file is committed, so a plain `go build` needs neither npm nor
# network; this script only re-fetches it and checks it is the pinned
# build. Bump PKG and SUM together.
set -euo pipefail
cd "$(dirname "$0")"
PKG=@echogarden/rnnoise-wasm@0.2.0
SUM=$(cat rnnoise.wasm.sha256)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
got=$(sha256sum "$tmp/package/rnnoise.wasm" | cut -d' ' -f1)
if [ "$got" != "$SUM" ]; then
	echo "rnnoise: $PKG ships rnnoise.wasm with sha256 $got, not the pinned $SUM" >&2
	echo "(if the new build is wanted: check it, then update rnnoise.wasm.sha256)" >&2
	exit 1
fi
cp "$tmp/package/rnnoise.wasm" rnnoise.wasm
cp "$tmp/package/COPYING" rnnoise.wasm.COPYING
echo "rnnoise.wasm: $PKG, sha256 $got"
