#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL for tests, `make run` and `make demo`, using Debian's
# PostgreSQL binaries (installed with apt-get when missing and we are root).
#
#   scripts/postgres.sh start DIR PORT   initdb DIR if needed, start on 127.0.0.1:PORT, print the URL
#   scripts/postgres.sh stop DIR
set -euo pipefail

cmd=${1:?start|stop}
dir=$(realpath -m "${2:?data directory}")
port=${3:-55432}

find_bin() {
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -qq postgresql >/dev/null 2>&1) || { apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null; }
    bin=$(find_bin)
  else
    echo "postgres.sh: PostgreSQL is not installed; install Debian's 'postgresql' package or set REVIEWBOT_TEST_DATABASE_URL" >&2
    exit 1
  fi
fi

# PostgreSQL refuses to run as root: run it as the 'postgres' user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
      chown postgres: "$dir"
      # The postgres user must be able to reach the directory.
      p=$(dirname "$dir"); while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    fi
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
