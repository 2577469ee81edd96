#!/usr/bin/env bash
# Runs once, when the PostgreSQL container initialises an empty volume:
# the group roles of the schema (the migrations create them too when they
# are missing) and the triage daemon's own login, a member of ql_triage
# only.  The schema itself is created by `ql-triage --migrate-only` (the
# ql-migrate service) as the database owner.
set -euo pipefail
: "${QL_TRIAGE_PASSWORD:?set QL_TRIAGE_PASSWORD in deploy/.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -v pw="$QL_TRIAGE_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE ql_triage NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_triage') \gexec
SELECT 'CREATE ROLE ql_officer NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_officer') \gexec
CREATE ROLE qingling_triage LOGIN PASSWORD :'pw' IN ROLE ql_triage;
SQL
