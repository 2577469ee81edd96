# The deployment files: docker-compose.yml must be valid for Debian's
# docker-compose and name the services, health checks, dependencies and
# volumes operations rely on; the shell entry points must pass shellcheck.
# (No Docker engine runs here, so images are not built or started.)
. "$QL_SRC/tests/lib/common.sh"

cp "$QL_SRC/deploy/env.example" "$QL_TMP/env"
out=$QL_TMP/compose.yml
docker-compose --env-file "$QL_TMP/env" -f "$QL_SRC/deploy/docker-compose.yml" config >"$out" 2>"$QL_TMP/compose.err" ||
        ql_fail "docker-compose config: $(cat "$QL_TMP/compose.err")"

$PY - "$out" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
def need(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
for name in ["kafka", "kafka-topics", "postgres", "ql-migrate", "ql-triage", "ql-gateway", "ql-spool", "prometheus"]:
    need(name in s, "service %s missing" % name)
need(s["kafka"]["image"].startswith("apache/kafka:") and s["kafka"]["image"] != "apache/kafka:latest", "kafka image pinned")
need("broker,controller" == s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"], "KRaft mode")
need(s["postgres"]["image"].split(":")[1][0].isdigit(), "postgres image pinned")
for name in ["kafka", "postgres", "ql-triage", "ql-gateway", "ql-spool"]:
    need("healthcheck" in s[name], "%s has a health check" % name)
need("pg_isready" in " ".join(s["postgres"]["healthcheck"]["test"]), "pg_isready")
need("kafka-broker-api-versions" in " ".join(s["kafka"]["healthcheck"]["test"]), "kafka API check")
for name in ["ql-triage", "ql-gateway", "ql-spool"]:
    need("/readyz" in " ".join(s[name]["healthcheck"]["test"]), "%s checks /readyz" % name)
    need("start_period" in s[name]["healthcheck"], "%s start_period" % name)
    deps = s[name]["depends_on"]
    need(deps["kafka-topics"]["condition"] == "service_completed_successfully", "%s waits for topics" % name)
need(s["ql-migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy", "migrations wait for postgres")
need(s["ql-triage"]["depends_on"]["ql-migrate"]["condition"] == "service_completed_successfully", "triage waits for the migrations")
need("user=qingling_triage" in s["ql-triage"]["environment"]["QL_PG"], "triage runs as its own role")
need("--migrate-only" in s["ql-migrate"]["command"], "ql-migrate applies migrations")
need("user=qingling_owner" in s["ql-migrate"]["environment"]["QL_PG"], "migrations run as the schema owner")
need(s["postgres"]["environment"]["POSTGRES_USER"] not in ("qingling_owner",), "the schema owner is not the cluster's superuser")
need(s["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy", "topics wait for kafka")
need("container_name" not in s["ql-triage"] and "ports" not in s["ql-triage"], "ql-triage scalable")
need(s["prometheus"].get("profiles") == ["monitoring"], "monitoring profile")
for v in ["kafka-data", "pg-data", "spool"]:
    need(v in c["volumes"], "volume %s" % v)
print("compose ok:", ", ".join(sorted(s)))
PY

# The compose file refuses to start without a database password.
grep -v QL_PG_PASSWORD "$QL_TMP/env" >"$QL_TMP/env.nopw"
if docker-compose --env-file "$QL_TMP/env.nopw" -f "$QL_SRC/deploy/docker-compose.yml" config >/dev/null 2>&1; then
        ql_fail "compose accepted a missing QL_PG_PASSWORD"
fi

# ... nor without the schema owner's.
grep -v QL_OWNER_PASSWORD "$QL_TMP/env" >"$QL_TMP/env.noowner"
if docker-compose --env-file "$QL_TMP/env.noowner" -f "$QL_SRC/deploy/docker-compose.yml" config >/dev/null 2>&1; then
        ql_fail "compose accepted a missing QL_OWNER_PASSWORD"
fi

# The first start of the compose PostgreSQL, on a cluster of our own (the
# script creates cluster-wide roles): the init script as the image runs it,
# then the migrations as the schema owner, as ql-migrate does.  The owner
# must be an ordinary role that owns the schema, and TEMPORARY must be left
# to ql_triage alone.
(
        . "$QL_SRC/tests/lib/pgcluster.sh"
        trap ql_pgcluster_stop EXIT
        [ "$(id -u)" -ne 0 ] || chmod 755 "$QL_TMP"
        ql_pgcluster_start "$QL_TMP/pg"
        createdb qingling
        POSTGRES_USER=postgres POSTGRES_DB=qingling QL_TRIAGE_PASSWORD=t QL_OWNER_PASSWORD=o \
                bash "$QL_SRC/deploy/postgres-init/10-qingling-roles.sh" >"$QL_TMP/init.log" 2>&1 ||
                ql_fail "postgres-init: $(cat "$QL_TMP/init.log")"
        QL_PG="host=$PGHOST port=$PGPORT dbname=qingling user=qingling_owner" \
                "$QL_BIN/ql-triage" --migrate-only >"$QL_TMP/migrate.log" 2>&1 ||
                ql_fail "migrations as qingling_owner: $(cat "$QL_TMP/migrate.log")"
        got=$(psql -X -At -d qingling -c "
                SELECT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = 'qingling_owner'),
                       (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'ql'),
                       has_database_privilege('ql_officer', 'qingling', 'TEMPORARY'),
                       has_database_privilege('qingling_triage', 'qingling', 'TEMPORARY'),
                       has_database_privilege('qingling_owner', 'qingling', 'TEMPORARY')")
        ql_assert_eq "f|qingling_owner|f|t|f" "$got" \
                "owner ordinary and owning ql; TEMPORARY for the triage login only"
        grep -q "WARNING" "$QL_TMP/migrate.log" && ql_fail "migrations warned: $(cat "$QL_TMP/migrate.log")"
        echo "postgres-init ok: $got"
)

# Never commit secrets.
git -C "$QL_SRC" ls-files --error-unmatch deploy/.env >/dev/null 2>&1 && ql_fail "deploy/.env is committed"

cd "$QL_SRC"
shellcheck -S warning deploy/setup deploy/demo tests/run .ci/run tests/lib/common.sh tests/lib/pgcluster.sh \
        deploy/postgres-init/*.sh
echo "shellcheck ok"
