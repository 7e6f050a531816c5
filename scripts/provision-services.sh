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

# Chromium for the browser tests (tests/browser): Debian's package, never Playwright's own download.
if [[ -x /usr/bin/chromium ]]; then
  echo "provision: chromium found ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))" >&2
elif [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "provision: installing Debian's chromium for the browser tests" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }; then
    echo "provision: installing chromium failed; the browser tests skip (fail with CI set)" >&2
  fi
else
  echo "provision: /usr/bin/chromium is missing; the browser tests skip (fail with CI set) until you run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
fi

# RabbitMQ for the AMQP tests (tests/rabbitmq.py): Debian's rabbitmq-server. The package is only
# installed here; the tests start /usr/lib/rabbitmq/bin/rabbitmq-server themselves on free loopback
# ports, so no service may start at install time (policy-rc.d refuses, RUNLEVEL=1) and systemd is
# never involved.
if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
  echo "provision: rabbitmq-server found ($(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo /usr/lib/rabbitmq/bin/rabbitmq-server))" >&2
elif [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "provision: installing Debian's rabbitmq-server for the AMQP tests (no service is started)" >&2
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    echo "provision: $policy refuses service starts during the install (removed afterwards)" >&2
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
           apt-get install -y -qq --no-install-recommends rabbitmq-server >&2; }; then
    echo "provision: installing rabbitmq-server failed; the AMQP tests skip (fail with CI set)" >&2
  fi
else
  echo "provision: /usr/lib/rabbitmq/bin/rabbitmq-server is missing; the AMQP tests skip (fail with CI set) until you run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y rabbitmq-server" >&2
fi
