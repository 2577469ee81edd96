#!/usr/bin/env bash
# Runs one pgTAP test file (tests/sql/test_*.sql) against a fresh database:
# creates it on the cluster named by PGHOST/PGPORT/PGUSER (tests/run starts
# one), applies every schemas/sql/*.sql migration in name order, each in its
# own transaction and recorded in ql.schema_migrations as ql-triage does,
# installs pgTAP, runs the file with pg_prove and drops the database.  Exits
# non-zero when a test fails or the migrations do not apply.
#     bash tests/lib/pgtap.sh tests/sql/test_rules.sql
# QL_KEEP_DB=1 keeps the database for inspection.
set -euo pipefail
file=$(realpath "${1:?usage: pgtap.sh FILE.sql}")
src=${QL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
[ -n "${PGHOST:-}" ] || {
        echo "pgtap.sh: no PostgreSQL (PGHOST unset): run the suite through tests/run" >&2
        exit 1
}
export PGAPPNAME=ql-pgtap
db="qltap_$(basename "$file" .sql)_$$"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\""
drop_db() {
        [ -n "${QL_KEEP_DB:-}" ] && { echo "pgtap.sh: kept database $db" >&2; return; }
        psql_q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
}
trap drop_db EXIT

psql_q -d "$db" -c "CREATE SCHEMA IF NOT EXISTS ql" \
        -c "CREATE TABLE ql.schema_migrations (version text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now())"
for m in "$src"/schemas/sql/[0-9]*.sql; do
        v=$(basename "$m" .sql)
        psql_q -d "$db" --single-transaction -f "$m" \
                -c "INSERT INTO ql.schema_migrations (version) VALUES ('$v')" ||
                { echo "pgtap.sh: migration $v failed" >&2; exit 1; }
done
psql_q -d "$db" -c "CREATE EXTENSION pgtap"

cd "$(dirname "$file")"
pg_prove --dbname "$db" --ext .sql "$file"
