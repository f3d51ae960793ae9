#!/usr/bin/env bash
# Prints the module's pure-Go packages: those that neither contain cgo nor
# depend, in their code or in their tests, on a package of the module (or a
# module dependency) that does. These are the packages that must build and
# vet for every GOOS with CGO_ENABLED=0 (darwin and windows are checked by
# test.sh); the rest (audio/, video/ and what imports them: cmd, the main
# package, internal/callaudio, ...) need the C libraries (docs/install.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# Non-standard packages with cgo files, as linux/amd64 with cgo builds them.
cgo=$(go list -deps -f '{{if and .CgoFiles (not .Standard)}}{{.ImportPath}}{{end}}' ./... | sort -u)
# One line per package variant: "PKG test|code DEP DEP ...".
go list -test -f '{{if .ForTest}}{{.ForTest}} test{{else}}{{.ImportPath}} code{{end}} {{.ImportPath}} {{join .Deps " "}}' ./... |
	awk -v cgo="$cgo" '
	BEGIN { n = split(cgo, c, "\n"); for (i = 1; i <= n; i++) bad[c[i]] = 1 }
	$3 ~ /\.test$/ { $2 = "test" }  # the generated test main
	{
		pkg = $1; sub(/ \[.*$/, "", pkg); sub(/\.test$/, "", pkg)
		seen[pkg] = 1
		impure = 0
		for (i = 3; i <= NF; i++) if ($i in bad) impure = 1
		if (!impure) next
		if ($2 == "code") code[pkg] = 1
		else test[pkg] = 1
	}
	END {
		for (p in seen) if (!(p in code) && !(p in test)) print p
	}' | sort
