#!/usr/bin/env bash
# Sets up and runs termcall's tests: go vet, the dependency rule, and
# go test -race over the whole module.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
ensure_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_packages "${OPTIONAL_TEST_PACKAGES[@]}" ||
	echo "could not install ${OPTIONAL_TEST_PACKAGES[*]}: the browser tests will be skipped" >&2
ensure_go
scripts/web-deps.sh || echo "test.sh: without the browser effects' files: their tests skip" >&2

echo "== go vet" >&2
go vet ./...

# The dependency rule (docs/architecture.md): the core packages build without
# cgo and never import the CLI, UI or media libraries.
echo "== dependency rule" >&2
CORE=(./engine/... ./server/... ./protocol/... ./usersig/... ./config/...)
CGO_ENABLED=0 go build "${CORE[@]}"
if bad=$(CGO_ENABLED=0 go list -deps "${CORE[@]}" | grep -E 'github\.com/spf13/cobra|charm|malgo|mediadevices|hraban'); then
	echo "dependency rule broken: core packages import:" >&2
	echo "$bad" >&2
	exit 1
fi

# --- rel: the pure-Go packages build for darwin and windows (macOS cannot
# be built here; docs/install.md). scripts/purego.sh lists them.
echo "== darwin/windows vet of the pure-Go packages" >&2
mapfile -t PURE < <(scripts/purego.sh)
for p in engine server protocol usersig config tui; do
	[[ " ${PURE[*]} " == *" github.com/termcall/termcall/$p "* ]] || { echo "$p is not pure Go any more" >&2 && exit 1; }
done
for goos in darwin windows; do
	CGO_ENABLED=0 GOOS=$goos go vet "${PURE[@]}"
done

# --- lint: golangci-lint, pinned in its own module (tools/golangci/go.mod)
# so its dependencies stay out of the product's go.mod; .golangci.yml says
# which linters and why (docs/development.md). Its build and analysis
# caches live in the Go caches: the first run builds it (minutes), later
# runs only re-analyse changed packages. The darwin/windows pass runs the
# same linters on the pure-Go packages (build-tagged files included).
echo "== golangci-lint" >&2
LINTMOD=(-modfile=tools/golangci/go.mod)
go tool "${LINTMOD[@]}" golangci-lint run ./...
# The darwin/windows pass needs the host's binary (go tool under GOOS=darwin
# would build a darwin one): go tool -n names the one just built.
LINT=$(go tool "${LINTMOD[@]}" -n golangci-lint)
PUREDIRS=("${PURE[@]/#github.com\/termcall\/termcall/.}")
for goos in darwin windows; do
	CGO_ENABLED=0 GOOS=$goos "$LINT" run "${PUREDIRS[@]}"
done

echo "== go test -race" >&2
CGO_ENABLED=1 go test -race -timeout 15m ./...
