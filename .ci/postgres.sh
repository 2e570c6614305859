#!/usr/bin/env bash
# A throwaway PostgreSQL server for the saved-runs tests.
#
#   .ci/postgres.sh DIR          start a cluster in DIR (new or empty) on a free local port,
#                                create the database stibium_test, print its URL on stdout
#   .ci/postgres.sh --stop DIR   stop that cluster and delete DIR
#
# Installs Debian's `postgresql` with apt-get when no initdb is found (needs root). The server
# listens on 127.0.0.1 only, trusts local connections and runs as the `postgres` user when
# started by root (PostgreSQL refuses to run as root). Progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

as_owner() {
    # Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [[ "${1:-}" == "--stop" ]]; then
    dir="${2:?usage: postgres.sh --stop DIR}"
    if bindir="$(find_bindir)" && [[ -f "$dir/data/PG_VERSION" ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit 0
fi

dir="${1:?usage: postgres.sh DIR (a new or empty folder)}"

if ! bindir="$(find_bindir)"; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "no PostgreSQL found, and it can only be installed as root with apt-get"
        exit 1
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bindir="$(find_bindir)" || { log "postgresql installed but no initdb found"; exit 1; }
fi

if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    log "no 'postgres' user to run the server as"
    exit 1
fi

mkdir -p "$dir"
if [[ -n "$(ls -A "$dir")" ]]; then
    log "$dir is not empty"
    exit 1
fi
if [[ "$(id -u)" == 0 ]]; then
    chown postgres "$dir"
fi

port="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"

as_owner "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres --encoding=UTF8 \
    --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=100" \
    start >/dev/null || { log "the server did not start:"; cat "$dir/server.log" >&2; exit 1; }
as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres stibium_test

log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port in $dir"
echo "postgresql+psycopg://postgres@127.0.0.1:$port/stibium_test"
