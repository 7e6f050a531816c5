#!/usr/bin/env bash
# Install FerretDB v1.24.x (the last release with the SQLite backend, capped collections and
# tailable cursors) into a cache directory outside the repository, for the store test suite
# (tests/services.py starts it when neither MONGO_URI nor mongod is available).
#
# Idempotent: does nothing when the binary already exists and reports v1.24.
# Usage: provision-ferretdb.sh [CACHE_DIR]   (default ${DAS_ACTORS_CACHE:-$HOME/.cache/das-actors})
# Installs CACHE_DIR/bin/ferretdb.
# Needs: Go >= 1.24 (or GOTOOLCHAIN=auto) and the Go module proxy. Logs to stderr.
#
# Why not plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the binary it
# builds panics at start-up, because the module zip lacks build/version/version.txt, which
# FerretDB generates at release time (FerretDB issue #2982). Instead the module source is
# fetched with `go mod download` (exact version, checksum-verified through go.sum/sumdb),
# copied, given the version.txt its own panic message asks for, and built with `go build`.
# This also avoids `go install`'s deprecation lookup, which lists module versions on the proxy.
set -euo pipefail

VERSION="${FERRETDB_VERSION:-v1.24.2}"
MODULE="github.com/FerretDB/FerretDB"
CACHE="${1:-${DAS_ACTORS_CACHE:-$HOME/.cache/das-actors}}"
BIN_DIR="$CACHE/bin"
BIN="$BIN_DIR/ferretdb"

say() { printf 'provision-ferretdb: %s\n' "$*" >&2; }

if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q 'version: v1\.24'; then
    say "found $BIN ($("$BIN" --version 2>/dev/null | head -n1))"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    say "go is not on PATH: cannot build FerretDB (install Go, set MONGO_URI, or put mongod on PATH)"
    exit 1
fi

start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

say "downloading $MODULE@$VERSION with $(go version | cut -d' ' -f3-)"
src="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$src" || ! -d "$src" ]]; then
    say "go mod download did not report a source directory for $MODULE@$VERSION"
    exit 1
fi
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
printf '%s\n' "$VERSION" >"$work/src/build/version/version.txt"

say "building cmd/ferretdb into $BIN (first build downloads modules and compiles: a few minutes)"
mkdir -p "$BIN_DIR"
(cd "$work/src" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$BIN.tmp" ./cmd/ferretdb)
mv -f "$BIN.tmp" "$BIN"
say "built in $(( $(date +%s) - start ))s: $("$BIN" --version 2>/dev/null | head -n1)"
