# shellcheck shell=bash
# Start and stop a throwaway PostgreSQL cluster for the tests and the demo.
# Source it, then:  ql_pgcluster_start DIR   (exports PGHOST PGPORT PGUSER
# QL_TEST_PGDATA; the server runs as the `postgres` user when we are root,
# since PostgreSQL refuses to run as root)  and  ql_pgcluster_stop.
QL_PGBIN=${QL_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

ql_pg_as() { # run a command as the cluster's owner
        if [ "$(id -u)" -eq 0 ]; then
                su postgres -s /bin/bash -c "$*"
        else
                bash -c "$*"
        fi
}

ql_pgcluster_start() {
        local dir=$1 port
        mkdir -p "$dir"
        [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
        # A free port in a private range, so parallel runs do not collide.
        for port in $(shuf -i 41000-48999 -n 20); do
                (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || break
        done
        ql_pg_as "'$QL_PGBIN/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1"
        ql_pg_as "'$QL_PGBIN/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 \
                -o \"-k '$dir' -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start >/dev/null"
        export PGHOST=$dir PGPORT=$port PGUSER=postgres QL_TEST_PGDATA=$dir/data
        QL_PGCLUSTER_DIR=$dir
}

ql_pgcluster_stop() {
        [ -n "${QL_PGCLUSTER_DIR:-}" ] || return 0
        ql_pg_as "'$QL_PGBIN/pg_ctl' -D '$QL_PGCLUSTER_DIR/data' -m fast -w stop >/dev/null 2>&1" || true
        QL_PGCLUSTER_DIR=
}
