# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the tests that source it
# Shared helpers for the shell integration tests.  Source it first thing:
#     . "$QL_SRC/tests/lib/common.sh"
# It gives every test a private temp dir (removed on exit, with every server
# the test started), a dev broker on demand and a fresh database on demand.
# CTest sets QL_BIN and QL_SRC; tests/run also sets PGHOST/PGPORT/PGUSER for
# the throwaway PostgreSQL cluster.
set -euo pipefail
: "${QL_BIN:?QL_BIN not set: run through ctest or tests/run}"
: "${QL_SRC:?QL_SRC not set: run through ctest or tests/run}"
export QL_SCHEMA_DIR="${QL_SCHEMA_DIR:-$QL_SRC/schemas/avro}"
PY=/usr/bin/python3

QL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/qltest.XXXXXX")
QL_PIDS=()
ql_cleanup() {
        local pid
        for pid in "${QL_PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${QL_PIDS[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        [ -n "${QL_KEEP_TMP:-}" ] || rm -rf "$QL_TMP"
}
trap ql_cleanup EXIT

ql_fail() {
        echo "FAIL: $*" >&2
        exit 1
}

ql_assert_eq() { # expected actual message
        [ "$1" = "$2" ] || ql_fail "$3: expected '$1', got '$2'"
}

# ql_bg NAME CMD...: run CMD in the background, stdout+stderr to
# $QL_TMP/NAME.log, remember its pid in QL_LAST_PID; killed at exit.
ql_bg() {
        local name=$1
        shift
        "$@" >"$QL_TMP/$name.log" 2>&1 &
        QL_LAST_PID=$!
        QL_PIDS+=("$QL_LAST_PID")
}

# ql_devbroker_start [ql-devbroker options]: start a dev broker; sets
# QL_BROKERS (its bootstrap list), DEVBROKER_PID, DEVBROKER_IN (a fifo
# connected to its stdin, for fault-control commands), DEVBROKER_OUT (its
# stdout: the bootstrap line, then one answer per command) and DEVBROKER_ERR
# (its log).
ql_devbroker_start() {
        local out="$QL_TMP/devbroker.$$.$RANDOM"
        DEVBROKER_IN="$out.in"
        DEVBROKER_OUT="$out.out"
        DEVBROKER_ERR="$out.err"
        mkfifo "$DEVBROKER_IN"
        "$QL_BIN/ql-devbroker" "$@" <"$DEVBROKER_IN" >"$out.out" 2>"$out.err" &
        DEVBROKER_PID=$!
        QL_PIDS+=("$DEVBROKER_PID")
        exec {DEVBROKER_FD}>"$DEVBROKER_IN" # keeps its stdin open

        for i in $(seq 1 100); do
                if [ -s "$out.out" ]; then
                        QL_BROKERS=$(head -n1 "$out.out")
                        export QL_BROKERS
                        return 0
                fi
                kill -0 "$DEVBROKER_PID" 2>/dev/null ||
                        ql_fail "ql-devbroker died: $(cat "$out.err")"
                sleep 0.1
        done
        ql_fail "ql-devbroker printed no bootstrap list in 10 s"
}

# ql_devbroker_try "COMMAND": send a fault-control command to the dev broker
# and wait until it is applied; its answer ("ok" or "error: ...") is left in
# DEVBROKER_REPLY.  Returns 0 on "ok", 1 otherwise.  Blank and comment lines
# get no answer and return at once.
ql_devbroker_try() {
        local seen
        seen=$(wc -l <"$DEVBROKER_OUT")
        echo "$1" >&"$DEVBROKER_FD"
        DEVBROKER_REPLY=
        case "${1#"${1%%[![:space:]]*}"}" in "" | "#"*) return 0 ;; esac
        local deadline=$((SECONDS + 10))
        while DEVBROKER_REPLY=$(awk -v seen="$seen" \
                'NR > seen && /^(ok$|error: )/ { print; exit }' \
                "$DEVBROKER_OUT") && [ -z "$DEVBROKER_REPLY" ]; do
                [ $SECONDS -lt $deadline ] || {
                        DEVBROKER_REPLY="error: no answer in 10 s"
                        return 1
                }
                sleep 0.05
        done
        [ "$DEVBROKER_REPLY" = ok ]
}

# ql_devbroker_cmd "COMMAND": send a fault-control command to the dev broker;
# returns once it is in force, fails the test if the broker rejects it.
ql_devbroker_cmd() {
        ql_devbroker_try "$1" ||
                ql_fail "ql-devbroker: $1: $DEVBROKER_REPLY"
}

# ql_pg_newdb NAME: create a fresh database NAME on the test cluster (dropped
# first if it exists) and export QL_PG for it.
ql_pg_newdb() {
        [ -n "${PGHOST:-}" ] ||
                ql_fail "no PostgreSQL: run the suite through tests/run"
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
        psql -X -q -d postgres -c "CREATE DATABASE \"$1\"" >/dev/null
        export QL_PG="dbname=$1"
        QL_DB=$1
}

# ql_sql "SQL": run SQL on $QL_DB, print unaligned tuples only.
ql_sql() {
        psql -X -q -At -v ON_ERROR_STOP=1 -d "$QL_DB" -c "$1"
}

# ql_wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds.
ql_wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.2
        done
}
