#!/usr/bin/env bash
# The database roles of a Qingling deployment, created or brought up to date
# by the cluster's superuser (POSTGRES_USER, used for administration only).
# The compose service ql-roles runs it at every start, before the
# migrations, as uid 10001 over the network (PGHOST=postgres): the password
# files it reads are the same as the daemons', owned by that uid, mode 600.
#   - the group roles of the schema (the migrations create them too when
#     they are missing);
#   - qingling_owner, an ordinary login (no superuser, no role creation)
#     that owns the schema: `ql-triage --migrate-only` (the ql-migrate
#     service) applies the migrations as this role;
#   - qingling_triage, the triage daemon's login, a member of ql_triage only;
#   - TEMPORARY on the database for ql_triage only (ql-triage stages its
#     batches in a temp table): officers never create temp tables.
# Each run sets the two logins' passwords from their files, so a password is
# changed by changing its file and starting the deployment again.
#
# Passwords: QL_OWNER_PASSWORD_FILE, QL_TRIAGE_PASSWORD_FILE (files; one
# trailing newline is allowed) or QL_OWNER_PASSWORD, QL_TRIAGE_PASSWORD; the
# superuser's, to connect with, from POSTGRES_PASSWORD_FILE or PGPASSWORD
# (none when the connection needs none).  An empty password, or one still
# starting with "change-me" (the old env.example's placeholders), is
# refused before anything is changed.  Passwords reach psql through its
# environment, never its command line (which every user of the host can
# read with ps).
set -euo pipefail
me=${0##*/}

die() {
        printf '%s: %s\n' "$me" "$*" >&2
        exit 1
}

# password NAME: the value of NAME, or of the file named by NAME_FILE.
password() {
        local name=$1 file_var="${1}_FILE" value
        if [ -n "${!file_var:-}" ]; then
                [ -z "${!name:-}" ] || die "both $name and $file_var are set; use one"
                [ -r "${!file_var}" ] ||
                        die "$file_var: cannot read ${!file_var} as uid $(id -u) (the password files belong to uid 10001, mode 600: see docs/operations.md)"
                value=$(<"${!file_var}")
        else
                value=${!name:-}
        fi
        [ -n "$value" ] || die "$name is not set (give $file_var, a file holding it)"
        case $value in
        change-me*) die "$name is still a placeholder (change-me...): put a password of your own in its file" ;;
        esac
        case $value in
        *$'\n'*) die "$name holds more than one line" ;;
        esac
        printf '%s' "$value"
}

owner_pw=$(password QL_OWNER_PASSWORD)
triage_pw=$(password QL_TRIAGE_PASSWORD)
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ] || [ -n "${POSTGRES_PASSWORD:-}" ]; then
        PGPASSWORD=$(password POSTGRES_PASSWORD)
        export PGPASSWORD
fi
: "${POSTGRES_USER:?set POSTGRES_USER, the cluster superuser to connect as}"
: "${POSTGRES_DB:?set POSTGRES_DB, the database}"

# The database may still be starting (its first start initialises it):
# wait for it, a minute at most.
for _ in $(seq 60); do
        pg_isready -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" && break
        sleep 1
done

QL_OWNER_PW=$owner_pw QL_TRIAGE_PW=$triage_pw QL_DB=$POSTGRES_DB \
        psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
        --dbname "$POSTGRES_DB" <<'SQL'
\getenv owner_pw QL_OWNER_PW
\getenv pw QL_TRIAGE_PW
\getenv db QL_DB
SET client_min_messages = warning;
SELECT 'CREATE ROLE ql_triage NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_triage') \gexec
SELECT 'CREATE ROLE ql_officer NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ql_officer') \gexec
SELECT 'CREATE ROLE qingling_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qingling_owner') \gexec
ALTER ROLE qingling_owner LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'owner_pw';
GRANT CREATE ON DATABASE :"db" TO qingling_owner;
SELECT 'CREATE ROLE qingling_triage'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qingling_triage') \gexec
ALTER ROLE qingling_triage LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'pw';
GRANT ql_triage TO qingling_triage;
REVOKE TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"db" TO ql_triage;
SQL
echo "$me: roles qingling_owner and qingling_triage ready in $POSTGRES_DB"
