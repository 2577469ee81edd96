"""PostgreSQL for the tests.

The shared cluster is the throwaway one tests/run starts (PGHOST, PGPORT,
PGUSER and QL_TEST_PGDATA in the environment; it trusts every local
connection).  A test makes its own database there with new_db() and reads
it with sql().  A test that must check passwords (ql-board's sign-in) runs
a private Cluster that asks for them.
"""
import glob
import os
import shutil
import subprocess

from qltest import QL_SRC, SQL_DIR, binary
from qltest.procs import free_port
from qltest.report import fail


def sql(q, db=None):
    """Run SQL with psql on the tests/run cluster, in database `db`
    (new_db's by default); returns the non-empty output rows, columns
    separated by '|'.  A failing statement raises CalledProcessError."""
    db = db or os.environ["QL_DB"]
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        "-d", db, "-c", q],
                       check=True, capture_output=True, text=True)
    return [line for line in r.stdout.splitlines() if line]


def count(table="ql.inspection_result", where="true"):
    return int(sql("SELECT count(*) FROM %s WHERE %s" % (table, where))[0])


def literal(s):
    """A SQL string literal (the tests' own fixed data only)."""
    return "'" + s.replace("'", "''") + "'"


def new_db(name):
    """A fresh database `name` on the tests/run cluster; sets QL_DB and
    QL_PG in os.environ for sql() and the daemons."""
    if not os.environ.get("PGHOST"):
        fail("no PostgreSQL: run the suite through tests/run")
    sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, db="postgres")
    sql('CREATE DATABASE "%s"' % name, db="postgres")
    os.environ["QL_DB"] = name
    os.environ["QL_PG"] = "dbname=" + name
    return name


def bindir():
    """The directory of initdb and pg_ctl."""
    d = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                       text=True).stdout.strip()
    if not os.path.exists(os.path.join(d, "initdb")):
        d = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    return d


def as_owner(cmd):
    """argv running the shell command `cmd` as the owner of the clusters:
    postgres when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/sh", "-c", cmd]
    return ["sh", "-c", cmd]


def ctl(*args, timeout=90):
    """pg_ctl on the tests/run cluster (QL_TEST_PGDATA), as its owner,
    e.g. ctl("restart", "-m", "fast", "-w").  Raises RuntimeError with
    pg_ctl's output if it fails (the fault suite records that as the
    phase's failure; a test fails on it)."""
    pgdata = os.environ.get("QL_TEST_PGDATA")
    if not pgdata:
        raise RuntimeError("QL_TEST_PGDATA not set: run the suite through tests/run")
    cmd = "%s -D '%s' %s" % (os.path.join(bindir(), "pg_ctl"), pgdata,
                             " ".join(args))
    r = subprocess.run(as_owner(cmd), capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("pg_ctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))


def migrate(env):
    """Apply the real migrations (ql-triage --migrate-only) to the database
    env["QL_PG"] names; the test fails with ql-triage's error if they do
    not apply."""
    env = dict(env)
    env["QL_SQL_DIR"] = SQL_DIR
    r = subprocess.run([binary("ql-triage"), "--migrate-only"], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        fail("ql-triage --migrate-only: " + r.stderr)


FIXTURES = os.path.join(QL_SRC, "tests/sql/fixtures.sql")


class Cluster:
    """A private PostgreSQL cluster in tmp/pg, for tests that must see a
    password checked (the tests/run cluster trusts every connection).

    By default it trusts its Unix socket (the test's own psql, as the
    superuser) and asks for a SCRAM password on TCP, where the daemon under
    test connects.  With `password`, every connection, socket included,
    needs one and the superuser postgres has this one."""

    def __init__(self, tmp, password=None):
        self.bindir = bindir()
        self.dir = os.path.join(tmp, "pg")
        os.mkdir(self.dir)
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755)
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        auth = "--auth-local=trust --auth-host=scram-sha-256"
        if password is not None:
            pwfile = os.path.join(self.dir, "pw")
            with open(pwfile, "w") as f:
                f.write(password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres")
            auth = "-A scram-sha-256 --pwfile=%s" % pwfile
        self._run("%s/initdb -D %s/data -U postgres -E UTF8 --locale=C.UTF-8 "
                  "%s >%s/initdb.log 2>&1" % (self.bindir, self.dir, auth, self.dir))
        self._run("%s/pg_ctl -D %s/data -l %s/server.log -w -t 60 -o \"-k %s -p %d "
                  "-c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c max_connections=300\" start >/dev/null"
                  % (self.bindir, self.dir, self.dir, self.dir, self.port))
        self.env = {"PGHOST": self.dir, "PGPORT": str(self.port), "PGUSER": "postgres"}
        if password is not None:
            self.env["PGPASSWORD"] = password

    def conninfo(self, **more):
        """A libpq connection string to the superuser's database postgres
        over the Unix socket; keywords in `more` added or replaced."""
        kv = {"host": self.dir, "port": str(self.port), "dbname": "postgres",
              "user": "postgres"}
        kv.update(more)
        return " ".join("%s='%s'" % item for item in kv.items())

    def _run(self, cmd):
        r = subprocess.run(as_owner(cmd), capture_output=True, text=True)
        if r.returncode:
            log = ""
            for f in ("initdb.log", "server.log"):
                p = os.path.join(self.dir, f)
                if os.path.exists(p):
                    with open(p, errors="replace") as fh:
                        log += fh.read()[-2000:]
            fail("cluster: %s failed: %s%s\n%s" % (cmd, r.stdout, r.stderr, log))

    def stop(self):
        self._run("%s/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1 || true"
                  % (self.bindir, self.dir))

    def sql(self, q, db="qingling", user="postgres"):
        """Like sql() above, on this cluster; a failing statement fails the
        test."""
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            "-d", db, "-U", user, "-c", q],
                           env=dict(os.environ, **self.env),
                           capture_output=True, text=True)
        if r.returncode:
            fail("psql as %s: %s\n%s" % (user, q[:300], r.stderr))
        return [line for line in r.stdout.splitlines() if line]

    def sql_file(self, path, db="qingling"):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db,
                            "-f", path], env=dict(os.environ, **self.env),
                           capture_output=True, text=True)
        if r.returncode:
            fail("psql -f %s: %s" % (path, r.stderr))
