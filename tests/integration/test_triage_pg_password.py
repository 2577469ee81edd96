"""The PostgreSQL password from a file, and the placeholders refused.

The shared test cluster trusts every local connection, so this test starts
a PostgreSQL cluster of its own that asks for passwords (scram-sha-256) and
checks that:
  - --pg-password-file FILE, QL_PG_PASSWORD_FILE and the ini key
    pg_password_file each give ql-triage the password (trailing newline
    stripped): --migrate-only succeeds, and a consumer connects with it;
  - the file wins over a password written in the connection string;
  - without it, or with a wrong one, the connection is refused;
  - a connection string or a password file whose password starts with
    `change-me` (the example configuration's placeholders) stops ql-triage at
    start with status 2 and one line naming the key, before it connects;
  - --help names the option.
"""
import os
import subprocess

import qltest
from qltest import broker, pg, procs
from qltest.report import fail, ok


SECRET = "s3cret horse-battery"


def triage(*args, **more):
    e = dict(os.environ)
    e.update({"QL_SQL_DIR": os.path.join(qltest.QL_SRC, "schemas/sql"),
              "QL_SCHEMA_DIR": qltest.SCHEMA_DIR})
    e.pop("QL_PG_PASSWORD_FILE", None)
    e.pop("PGPASSWORD", None)
    e.update(more)
    return subprocess.run([os.path.join(qltest.QL_BIN, "ql-triage"), *args],
                          env=e, capture_output=True, text=True, timeout=60)


def main():
    tmp = procs.TempDir()
    cluster = pg.Cluster(tmp.path, password=SECRET)
    try:
        right = os.path.join(tmp.path, "right")
        with open(right, "w") as f:
            f.write(SECRET + "\n")
        wrong = os.path.join(tmp.path, "wrong")
        with open(wrong, "w") as f:
            f.write("not-the-password\n")
        placeholder = os.path.join(tmp.path, "placeholder")
        with open(placeholder, "w") as f:
            f.write("change-me-too\n")
        ini = os.path.join(tmp.path, "triage.ini")
        with open(ini, "w") as f:
            f.write("[triage]\npg_password_file = %s\n" % right)

        h = triage("--help")
        if h.returncode != 0 or "--pg-password-file FILE" not in h.stdout \
                or "QL_PG_PASSWORD_FILE" not in h.stdout:
            fail("--help does not name the password file:\n" + h.stdout)

        # Without the password, and with a wrong one: refused by the server.
        for args in ([], ["--pg-password-file", wrong]):
            r = triage("--migrate-only", *args, QL_PG=cluster.conninfo())
            said = r.stderr + r.stdout
            if r.returncode == 0 or ("password authentication failed"
                                     not in said and
                                     "no password supplied" not in said):
                fail("connected with %s: %s %s" % (args, r.stdout, r.stderr))
        # The file, given each way; it wins over the connection string's.
        ways = [(["--pg-password-file", right], {}),
                ([], {"QL_PG_PASSWORD_FILE": right}),
                (["-c", ini], {})]
        for args, env in ways:
            r = triage("--migrate-only", *args,
                       QL_PG=cluster.conninfo(password="wrong"), **env)
            if r.returncode != 0:
                fail("--migrate-only with the password file (%s %s): %s %s"
                     % (args, env, r.stdout, r.stderr))
        # The consumer's own connection (non-blocking connect) too.
        with broker.DevBroker("--partitions", "2") as kafka:
            r = triage("--idle-exit", "1", "--pg-password-file", right,
                       QL_PG=cluster.conninfo(), QL_BROKERS=kafka.brokers)
            out = r.stdout + r.stderr
            if r.returncode != 0 or "connected to PostgreSQL" not in out:
                fail("the consumer did not connect with the password file:\n"
                     + out[-3000:])
            if SECRET in out:
                fail("the password is in the log")

        # The placeholders: one line naming the key, status 2, no connection.
        for args, conninfo, key in (
                (["--pg-password-file", placeholder], cluster.conninfo(),
                 "pg_password_file"),
                ([], cluster.conninfo(password="change-me"), "pg"),
                ([], "postgresql://postgres:change-me-owner@localhost/x",
                 "pg")):
            r = triage("--migrate-only", *args, QL_PG=conninfo)
            lines = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(lines) != 1 or \
                    not lines[0].startswith("ql-triage: %s: " % key) or \
                    "change-me" not in lines[0]:
                fail("placeholder in %s: status %s, stderr %r"
                     % (key, r.returncode, r.stderr))
            if "change-me-too" in r.stderr or "change-me-owner" in r.stderr:
                fail("the placeholder itself is printed: %r" % r.stderr)
        # An empty or missing file is refused the same way.
        empty = os.path.join(tmp.path, "empty")
        open(empty, "w").close()
        for path in (empty, os.path.join(tmp.path, "missing")):
            r = triage("--migrate-only", "--pg-password-file", path,
                       QL_PG=cluster.conninfo())
            if r.returncode != 2 or not r.stderr.startswith(
                    "ql-triage: pg_password_file: "):
                fail("password file %s: status %s, %r"
                     % (path, r.returncode, r.stderr))
    finally:
        cluster.stop()
        tmp.cleanup()
    ok("the password comes from the file; placeholders are refused")


if __name__ == "__main__":
    main()
