#!/usr/bin/env bash
# Runs once, when the PostgreSQL container initialises an empty volume, as
# the cluster's superuser (POSTGRES_USER, used for administration only):
#   - the group roles of the schema (the migrations create them too when
#     they are missing);
#   - qingling_owner, an ordinary login (no superuser, no role creation)
#     that owns the schema: `ql-triage --migrate-only` (the ql-migrate
#     service) applies the migrations as this role;
#   - qingling_triage, the triage daemon's login, a member of ql_triage only;
#   - TEMPORARY on the database for ql_triage only (ql-triage stages its
#     batches in a temp table): officers never create temp tables.
set -euo pipefail
: "${QL_TRIAGE_PASSWORD:?set QL_TRIAGE_PASSWORD in deploy/.env}"
: "${QL_OWNER_PASSWORD:?set QL_OWNER_PASSWORD in deploy/.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -v pw="$QL_TRIAGE_PASSWORD" -v owner_pw="$QL_OWNER_PASSWORD" \
        -v db="$POSTGRES_DB" <<'SQL'
SELECT 'CREATE ROLE ql_triage NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_triage') \gexec
SELECT 'CREATE ROLE ql_officer NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_officer') \gexec
CREATE ROLE qingling_owner LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'owner_pw';
GRANT CREATE ON DATABASE :"db" TO qingling_owner;
CREATE ROLE qingling_triage LOGIN PASSWORD :'pw' IN ROLE ql_triage;
REVOKE TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"db" TO ql_triage;
SQL
