#!/usr/bin/env bash
# Refreshes selfie_segmentation_landscape.tflite from its npm package. The
# file is committed (go:embed), so a plain `go build` needs neither npm nor
# network; this script only re-fetches it and checks it is the pinned
# build. Bump PKG and the .sha256 file together.
set -euo pipefail
cd "$(dirname "$0")"
PKG=@mediapipe/selfie_segmentation@0.1.1675465747
FILE=selfie_segmentation_landscape.tflite
SUM=$(cat "$FILE.sha256")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
got=$(sha256sum "$tmp/package/$FILE" | cut -d' ' -f1)
if [ "$got" != "$SUM" ]; then
	echo "segment: $PKG ships $FILE with sha256 $got, not the pinned $SUM" >&2
	echo "(if the new build is wanted: check it, then update $FILE.sha256)" >&2
	exit 1
fi
cp "$tmp/package/$FILE" "$FILE"
echo "$FILE: $PKG (Apache-2.0, see LICENSE), sha256 $got"
