#!/usr/bin/env bash
# Fetches the third-party browser files of the Web SDK's media effects from
# the npm registry (versions pinned in web/package.json and
# web/package-lock.json, installed with `npm ci`) and copies the files the
# browser loads into web/static/sdk/vendor/ (git-ignored), which `go build`
# then embeds and the server serves at /sdk/vendor/:
#   rnnoise/rnnoise-sync.js          RNNoise as WebAssembly (enableAIVoice)
#   selfie_segmentation/*            MediaPipe selfie segmentation with its
#                                    model (background blur, virtual background)
# Without them termcall still builds and runs; the effects report that they
# are unavailable. Idempotent: a second run with the same lock file only
# copies. Run by run.sh and test.sh; safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=setup.sh
source scripts/setup.sh
if ! command -v npm >/dev/null 2>&1; then
	ensure_packages "${WEB_PACKAGES[@]}" || true
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "web-deps: no npm: the browser effects (noise reduction, background blur) stay unavailable" >&2
	exit 1
fi
stamp=web/node_modules/.termcall-lock
if ! cmp -s web/package-lock.json "$stamp" 2>/dev/null; then
	echo "web-deps: npm ci (web/package-lock.json)" >&2
	npm ci --prefix web --no-audit --no-fund --ignore-scripts --loglevel=error
	cp web/package-lock.json "$stamp"
fi
out=web/static/sdk/vendor
rm -rf "$out"
mkdir -p "$out/rnnoise" "$out/selfie_segmentation"
nm=web/node_modules
cp "$nm/@jitsi/rnnoise-wasm/dist/rnnoise-sync.js" "$nm/@jitsi/rnnoise-wasm/LICENSE" "$out/rnnoise/"
ss="$nm/@mediapipe/selfie_segmentation"
cp "$ss"/selfie_segmentation.js "$ss"/selfie_segmentation.binarypb "$ss"/selfie_segmentation.tflite \
	"$ss"/selfie_segmentation_landscape.tflite "$ss"/selfie_segmentation_solution_simd_wasm_bin.* \
	"$ss"/selfie_segmentation_solution_wasm_bin.* "$ss"/package.json "$out/selfie_segmentation/"
echo "web-deps: browser effects in $out" >&2
