# The deployment files: docker-compose.yml must be valid for Debian's
# docker-compose and name the services, health checks, dependencies, secrets
# and volumes operations rely on; no password may sit in an environment
# variable or a connection string; the kafka-topics script must create the
# results topic with retention.ms=-1 (run here with stand-ins for Kafka's
# tools); .dockerignore must keep secrets, build trees and .git out of build
# contexts; the roles script must refuse placeholder passwords, read the
# password files as uid 10001 and set passwords a client can log in with;
# the shell entry points must pass shellcheck.
# (No Docker engine runs here, so images are not built or started.)
. "$QL_SRC/tests/lib/common.sh"

cp "$QL_SRC/deploy/env.example" "$QL_TMP/env"
out=$QL_TMP/compose.yml
docker-compose --env-file "$QL_TMP/env" -f "$QL_SRC/deploy/docker-compose.yml" config >"$out" 2>"$QL_TMP/compose.err" ||
        ql_fail "docker-compose config: $(cat "$QL_TMP/compose.err")"

$PY - "$out" "$QL_SRC" "$QL_TMP/topics.sh" <<'PY'
import os, re, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
src = sys.argv[2]
s = c["services"]
def need(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
for name in ["kafka", "kafka-topics", "postgres", "ql-roles", "ql-migrate", "ql-triage", "ql-gateway", "ql-spool", "prometheus"]:
    need(name in s, "service %s missing" % name)
need(s["kafka"]["image"].startswith("apache/kafka:") and s["kafka"]["image"] != "apache/kafka:latest", "kafka image pinned")
need("broker,controller" == s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"], "KRaft mode")
need(s["postgres"]["image"].split(":")[1][0].isdigit(), "postgres image pinned")
for name in ["kafka", "postgres", "ql-triage", "ql-gateway", "ql-spool", "prometheus"]:
    need("healthcheck" in s[name], "%s has a health check" % name)
need("pg_isready -h 127.0.0.1" in " ".join(s["postgres"]["healthcheck"]["test"]),
     "pg_isready over TCP (not ready while the first start initialises)")
need("kafka-broker-api-versions" in " ".join(s["kafka"]["healthcheck"]["test"]), "kafka API check")
for name in ["ql-triage", "ql-gateway", "ql-spool"]:
    need("/readyz" in " ".join(s[name]["healthcheck"]["test"]), "%s checks /readyz" % name)
    need("start_period" in s[name]["healthcheck"], "%s start_period" % name)
    deps = s[name]["depends_on"]
    need(deps["kafka-topics"]["condition"] == "service_completed_successfully", "%s waits for topics" % name)
need(s["ql-roles"]["depends_on"]["postgres"]["condition"] == "service_healthy", "roles wait for postgres")
need(s["ql-migrate"]["depends_on"]["ql-roles"]["condition"] == "service_completed_successfully", "migrations wait for the roles")
need(s["ql-triage"]["depends_on"]["ql-migrate"]["condition"] == "service_completed_successfully", "triage waits for the migrations")
need("user=qingling_triage" in s["ql-triage"]["environment"]["QL_PG"], "triage runs as its own role")
need(str(s["ql-triage"]["environment"].get("QL_WORKERS")) == "0",
     "the triage runs its default members (QL_WORKERS 0: one per core)")
need("--migrate-only" in s["ql-migrate"]["command"], "ql-migrate applies migrations")
need("user=qingling_owner" in s["ql-migrate"]["environment"]["QL_PG"], "migrations run as the schema owner")
need(s["postgres"]["environment"]["POSTGRES_USER"] not in ("qingling_owner",), "the schema owner is not the cluster's superuser")
need(s["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy", "topics wait for kafka")
need("container_name" not in s["ql-triage"] and "ports" not in s["ql-triage"], "ql-triage scalable")
need(s["prometheus"].get("profiles") == ["monitoring"], "monitoring profile")
g = s["ql-gateway"]
need(":9464/readyz" in " ".join(g["healthcheck"]["test"]),
     "ql-gateway's health check asks its metrics address, not the labs' port")
tls = [g["environment"].get(k, "") for k in ("QL_TLS_CERT", "QL_TLS_KEY")]
gsecrets = {x["source"] if isinstance(x, dict) else x for x in g["secrets"]}
need(all(v.startswith("/run/secrets/") and v[len("/run/secrets/"):] in gsecrets
         and v[len("/run/secrets/"):] in c["secrets"] for v in tls),
     "ql-gateway serves TLS with a certificate and key from secrets")
need("QL_GATEWAY_ALLOW_PLAIN" not in g["environment"], "ql-gateway: no plain HTTP")
b = s["ql-board"]
need(":9464/readyz" in " ".join(b["healthcheck"]["test"]), "ql-board's health check asks its metrics address")
need(b["depends_on"]["ql-migrate"]["condition"] == "service_completed_successfully", "ql-board waits for the migrations")
need("user=" not in b["environment"]["QL_BOARD_PG"] and "password" not in b["environment"]["QL_BOARD_PG"],
     "ql-board has no login of its own: officers sign in")
btls = [b["environment"].get(k, "") for k in ("QL_BOARD_TLS_CERT", "QL_BOARD_TLS_KEY")]
bsecrets = {x["source"] if isinstance(x, dict) else x for x in b["secrets"]}
need(all(v.startswith("/run/secrets/") and v[len("/run/secrets/"):] in bsecrets
         and v[len("/run/secrets/"):] in c["secrets"] for v in btls),
     "ql-board serves HTTPS with a certificate and key from secrets (officers' passwords)")
for v in ["kafka-data", "pg-data", "spool"]:
    need(v in c["volumes"], "volume %s" % v)

# Secrets: files in deploy/secrets/, mounted where *_FILE says, and no
# password in any environment variable or connection string.
secrets = c.get("secrets", {})
for name in ["gateway.tokens", "postgres.password", "ql_owner.password", "ql_triage.password",
             "board.crt", "board.key"]:
    need(name in secrets, "secret %s defined" % name)
    need(secrets[name]["file"] == os.path.join(src, "deploy/secrets", name),
         "secret %s is deploy/secrets/%s" % (name, name))
for name, svc in s.items():
    env = svc.get("environment") or {}
    mounted = {x["source"] if isinstance(x, dict) else x for x in svc.get("secrets", [])}
    for k, v in env.items():
        v = str(v)
        need(not (k.endswith("PASSWORD") or k.endswith("PASSWORD_")),
             "%s: password in the environment (%s)" % (name, k))
        need("password=" not in v.replace(" ", "").lower(),
             "%s: a password in %s" % (name, k))
        if k.endswith("_FILE") or k == "QL_GATEWAY_TOKENS":
            need(v.startswith("/run/secrets/") and v[len("/run/secrets/"):] in mounted,
                 "%s: %s=%s is not a secret mounted there" % (name, k, v))
def env(svc, k):
    return s[svc]["environment"].get(k)
need(env("postgres", "POSTGRES_PASSWORD_FILE") == "/run/secrets/postgres.password", "postgres reads its password from a file")
need(env("ql-migrate", "QL_PG_PASSWORD_FILE") == "/run/secrets/ql_owner.password", "ql-migrate: the owner's password file")
need(env("ql-triage", "QL_PG_PASSWORD_FILE") == "/run/secrets/ql_triage.password", "ql-triage: the triage login's password file")
for k, f in [("POSTGRES_PASSWORD_FILE", "postgres"), ("QL_OWNER_PASSWORD_FILE", "ql_owner"),
             ("QL_TRIAGE_PASSWORD_FILE", "ql_triage")]:
    need(env("ql-roles", k) == "/run/secrets/%s.password" % f, "ql-roles: %s" % k)
need("10-qingling-roles.sh" in " ".join(s["ql-roles"]["entrypoint"]), "ql-roles runs the roles script")
need(any(v.startswith(os.path.join(src, "deploy/postgres-init") + ":") for v in s["ql-roles"]["volumes"]),
     "ql-roles mounts deploy/postgres-init")
need(not any("docker-entrypoint-initdb.d" in str(v) for v in s["postgres"].get("volumes", [])),
     "the roles script is not run by the postgres user at init (it cannot read uid 10001's files)")

# One uid everywhere: the image's user, ql-roles' user, the documented owner.
uid = re.search(r"--uid (\d+)", open(os.path.join(src, "deploy/Dockerfile")).read()).group(1)
gid = re.search(r"groupadd [^\n]*--gid (\d+)", open(os.path.join(src, "deploy/Dockerfile")).read()).group(1)
need(s["ql-roles"]["user"] == "%s:%s" % (uid, gid), "ql-roles runs as the image's uid:gid %s:%s" % (uid, gid))
ops = open(os.path.join(src, "docs/operations.md")).read()
chown = re.findall(r"chown (\d+):(\d+) ([^\n]*)", ops)
need(chown and all((u, g) == (uid, gid) for u, g, _ in chown), "docs chown to %s:%s: %s" % (uid, gid, chown))
for name in secrets:
    need(name in chown[0][2], "docs/operations.md chowns %s" % name)
need(re.search(r"chmod 600 [^\n]*postgres\.password", ops), "docs/operations.md: chmod 600")

# Prometheus: the alerts directory mounted where prometheus.yml's
# rule_files point (paths relative to the configuration file).
prom = yaml.safe_load(open(os.path.join(src, "deploy/prometheus.yml")))
mounts = dict(v.split(":")[1::-1] for v in s["prometheus"]["volumes"] if v.startswith("/"))
need(mounts.get("/etc/prometheus/prometheus.yml") == os.path.join(src, "deploy/prometheus.yml"),
     "prometheus.yml mounted")
rules = prom.get("rule_files") or []
need(rules, "prometheus.yml loads rule files")
for r in rules:
    target = os.path.normpath(os.path.join("/etc/prometheus", r))
    host = None
    for dst, hsrc in mounts.items():
        if target.startswith(dst + "/"):
            host = os.path.join(hsrc, target[len(dst) + 1:])
    need(host and os.path.isfile(host), "rule file %s is mounted from the repository (%s)" % (r, host))
need("/-/healthy" in " ".join(s["prometheus"]["healthcheck"]["test"]) and
     s["prometheus"]["healthcheck"]["test"][1] == "wget", "prometheus health check with the image's wget")

# What the container runs: compose's "$$" is a "$".
open(sys.argv[3], "w").write(s["kafka-topics"]["command"][0].replace("$$", "$"))
print("compose ok:", ", ".join(sorted(s)))
PY

# The kafka-topics script, with stand-ins for Kafka's tools that record how
# they were called: the results topic keeps every record, the dead-letter
# topic the broker's default.
mkdir "$QL_TMP/kbin"
for tool in kafka-topics.sh kafka-configs.sh; do
        printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$QL_TMP/kafka.calls" >"$QL_TMP/kbin/$tool"
        chmod +x "$QL_TMP/kbin/$tool"
done
grep -q "/opt/kafka/bin" "$QL_TMP/topics.sh" || ql_fail "kafka-topics does not use /opt/kafka/bin"
sed "s#/opt/kafka/bin#$QL_TMP/kbin#g" "$QL_TMP/topics.sh" | QL_PARTITIONS=6 bash ||
        ql_fail "the kafka-topics script failed"
grep -q -- "kafka-topics.sh .*--create .*--topic inspection.results .*--config retention.ms=-1" "$QL_TMP/kafka.calls" ||
        ql_fail "inspection.results not created with retention.ms=-1: $(cat "$QL_TMP/kafka.calls")"
grep -q -- "kafka-configs.sh .*--alter .*--entity-name inspection.results --add-config retention.ms=-1" "$QL_TMP/kafka.calls" ||
        ql_fail "retention.ms=-1 not set on an existing inspection.results: $(cat "$QL_TMP/kafka.calls")"
dlq=$(grep -- "--topic inspection.results.dlq" "$QL_TMP/kafka.calls") ||
        ql_fail "inspection.results.dlq not created: $(cat "$QL_TMP/kafka.calls")"
case $dlq in *retention*) ql_fail "the DLQ topic must keep the usual retention: $dlq" ;; esac
echo "kafka-topics ok: $(wc -l <"$QL_TMP/kafka.calls") calls"

# .dockerignore: secrets, local settings, build trees and .git stay out of
# every build context.
di=$QL_SRC/.dockerignore
[ -f "$di" ] || ql_fail ".dockerignore missing"
for pat in .git deploy/.env 'deploy/secrets/\*' build 'build-\*'; do
        grep -qx "$pat" "$di" || ql_fail ".dockerignore does not list $pat"
done
echo ".dockerignore ok"

# Never commit secrets.
git -C "$QL_SRC" ls-files --error-unmatch deploy/.env >/dev/null 2>&1 && ql_fail "deploy/.env is committed"
for f in postgres.password ql_owner.password ql_triage.password gateway.tokens; do
        git -C "$QL_SRC" check-ignore -q "deploy/secrets/$f" || ql_fail "deploy/secrets/$f is not ignored by git"
done

# The roles script on a cluster of our own (it creates cluster-wide roles),
# as ql-roles runs it: placeholder passwords refused before anything
# changes; the password files read as uid 10001 (when this test runs as
# root) with one trailing newline; passwords a client logs in with over
# TCP with scram-sha-256; run again with new passwords (every start does);
# then the migrations as the schema owner, as ql-migrate does.  The owner
# must be an ordinary role that owns the schema, and TEMPORARY must be left
# to ql_triage alone.
(
        . "$QL_SRC/tests/lib/pgcluster.sh"
        trap ql_pgcluster_stop EXIT
        [ "$(id -u)" -ne 0 ] || chmod 755 "$QL_TMP"
        ql_pgcluster_start "$QL_TMP/pg"
        createdb qingling
        roles=$QL_SRC/deploy/postgres-init/10-qingling-roles.sh
        logins() {
                psql -X -At -d qingling -c "SELECT count(*) FROM pg_roles
                        WHERE rolname IN ('qingling_owner', 'qingling_triage')"
        }
        refused() { # what-to-expect-in-the-message, env assignments...
                local want=$1
                shift
                if env POSTGRES_USER=postgres POSTGRES_DB=qingling "$@" bash "$roles" >"$QL_TMP/refused.log" 2>&1; then
                        ql_fail "roles script accepted $*"
                fi
                grep -q -- "$want" "$QL_TMP/refused.log" ||
                        ql_fail "roles script with $*: expected '$want' in: $(cat "$QL_TMP/refused.log")"
                ql_assert_eq 0 "$(logins)" "nothing created after refusing $*"
        }
        sec=$QL_TMP/secrets
        mkdir "$sec"
        printf 'change-me-owner\n' >"$sec/placeholder"
        : >"$sec/empty"
        refused "change-me" QL_TRIAGE_PASSWORD=change-me-too QL_OWNER_PASSWORD=o
        refused "change-me" QL_TRIAGE_PASSWORD=t QL_OWNER_PASSWORD_FILE="$sec/placeholder"
        refused "change-me" QL_TRIAGE_PASSWORD=t QL_OWNER_PASSWORD=o POSTGRES_PASSWORD=change-me
        refused "QL_TRIAGE_PASSWORD is not set" QL_TRIAGE_PASSWORD_FILE="$sec/empty" QL_OWNER_PASSWORD=o
        refused "cannot read" QL_TRIAGE_PASSWORD_FILE="$sec/absent" QL_OWNER_PASSWORD=o
        refused "both" QL_TRIAGE_PASSWORD=t QL_TRIAGE_PASSWORD_FILE="$sec/placeholder" QL_OWNER_PASSWORD=o
        echo "roles script refuses placeholders, empty and unreadable passwords"

        # Password logins for the two roles over TCP, before the cluster's
        # trust lines.
        ql_pg_as "sed -i '1i host qingling qingling_owner,qingling_triage 127.0.0.1/32 scram-sha-256' '$QL_TEST_PGDATA/pg_hba.conf'"
        ql_pg_as "'$QL_PGBIN/pg_ctl' -D '$QL_TEST_PGDATA' reload >/dev/null"
        can_login() { # role password
                PGPASSWORD=$2 psql -X -At -h 127.0.0.1 -p "$PGPORT" -U "$1" -d qingling -c "SELECT 1" >/dev/null 2>&1
        }
        as_ql() { # run as the image's uid when root, as ql-roles does
                if [ "$(id -u)" -eq 0 ]; then
                        chown 10001:10001 "$sec"/*.password
                        setpriv --reuid 10001 --regid 10001 --clear-groups "$@"
                else
                        "$@"
                fi
        }
        set_passwords() { # owner triage
                printf '%s\n' "$1" >"$sec/ql_owner.password"
                printf '%s\n' "$2" >"$sec/ql_triage.password"
                chmod 600 "$sec"/*.password
                as_ql env POSTGRES_USER=postgres POSTGRES_DB=qingling \
                        QL_OWNER_PASSWORD_FILE="$sec/ql_owner.password" \
                        QL_TRIAGE_PASSWORD_FILE="$sec/ql_triage.password" \
                        bash "$roles" >"$QL_TMP/roles.log" 2>&1 ||
                        ql_fail "roles script: $(cat "$QL_TMP/roles.log")"
        }
        set_passwords "owner-9d2 e7" "triage-5b\$1'x"
        can_login qingling_owner "owner-9d2 e7" || ql_fail "qingling_owner cannot log in with its file's password"
        can_login qingling_triage "triage-5b\$1'x" || ql_fail "qingling_triage cannot log in with its file's password"
        can_login qingling_owner "owner-9d2 e7"$'\n' && ql_fail "the trailing newline became part of the password"
        can_login qingling_triage "wrong" && ql_fail "a wrong password logged in"
        set_passwords "owner-second" "triage-second"
        can_login qingling_owner "owner-second" || ql_fail "the owner's new password (second run) does not work"
        can_login qingling_owner "owner-9d2 e7" && ql_fail "the owner's old password still works"
        can_login qingling_triage "triage-second" || ql_fail "the triage login's new password does not work"
        echo "roles script ok: passwords from files (as uid $(as_ql id -u)), set again on a second run"

        PGPASSWORD=owner-second QL_PG="host=127.0.0.1 port=$PGPORT dbname=qingling user=qingling_owner" \
                "$QL_BIN/ql-triage" --migrate-only >"$QL_TMP/migrate.log" 2>&1 ||
                ql_fail "migrations as qingling_owner: $(cat "$QL_TMP/migrate.log")"
        got=$(psql -X -At -d qingling -c "
                SELECT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = 'qingling_owner'),
                       (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'ql'),
                       has_database_privilege('ql_officer', 'qingling', 'TEMPORARY'),
                       has_database_privilege('qingling_triage', 'qingling', 'TEMPORARY'),
                       has_database_privilege('qingling_owner', 'qingling', 'TEMPORARY'),
                       pg_has_role('qingling_triage', 'ql_triage', 'MEMBER')")
        ql_assert_eq "f|qingling_owner|f|t|f|t" "$got" \
                "owner ordinary and owning ql; TEMPORARY for the triage login only"
        grep -q "WARNING" "$QL_TMP/migrate.log" && ql_fail "migrations warned: $(cat "$QL_TMP/migrate.log")"
        grep -q "owner-second" "$QL_TMP/migrate.log" "$QL_TMP/roles.log" && ql_fail "a password reached a log"
        echo "postgres roles ok: $got"
)

cd "$QL_SRC"
shellcheck -S warning deploy/setup deploy/demo tests/run .ci/run tests/lib/common.sh tests/lib/pgcluster.sh \
        deploy/postgres-init/*.sh
echo "shellcheck ok"
