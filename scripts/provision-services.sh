#!/usr/bin/env bash
# Provision what the test suite needs that pip cannot install. Idempotent; prints what it does.
# Usage: provision-services.sh CACHE_DIR
set -euo pipefail
cache="${1:-$HOME/.cache/das-actors}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$cache"
export DAS_ACTORS_CACHE="$cache"

# MongoDB-compatible server: MONGO_URI, else mongod on PATH, else FerretDB built once into the cache.
if [[ -n "${MONGO_URI:-}" ]]; then
  echo "provision: MongoDB from MONGO_URI" >&2
elif command -v mongod >/dev/null 2>&1; then
  echo "provision: mongod found on PATH ($(command -v mongod))" >&2
elif [[ -x "$here/provision-ferretdb.sh" || -f "$here/provision-ferretdb.sh" ]]; then
  bash "$here/provision-ferretdb.sh" "$cache"
fi
