"""Helpers shared by the ql-board tests (test_board_*.py).

Each test gets its own PostgreSQL cluster: officers sign in to ql-board with
a password that PostgreSQL itself checks, and the suite's shared cluster
trusts every connection (initdb -A trust), so a wrong password could not be
told from a right one there.  This cluster trusts only its Unix socket (for
the test's own psql, as the superuser) and asks for a SCRAM password on
TCP, where ql-board connects.  The schema comes from the real migrations
(ql-triage --migrate-only); results are stored and triaged the way
ql-triage does it, through tests/sql/fixtures.sql's qltest.feed().
"""
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ["QL_SRC"], "tests/lib"))
import qltest  # noqa: E402

QL_BIN = os.environ["QL_BIN"]
QL_SRC = os.environ["QL_SRC"]
fail = qltest.fail
free_port = qltest.free_port

_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_check(s8):
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    val = lambda ch: int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
    c = 11 - sum(val(ch) * w for ch, w in zip(s8, weights)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def credit_code(region, n):
    """A valid credit code (GB 32100) of an enterprise in `region`."""
    s16 = "91" + region + "%08d" % (20000000 + n)
    s17 = s16 + _org_check(s16[8:16])
    c = 31 - sum(_ALPHA.index(ch) * pow(3, i, 31) for i, ch in enumerate(s17)) % 31
    return s17 + _ALPHA[0 if c == 31 else c]


def sql_str(s):
    """A SQL string literal (the tests' own fixed data only)."""
    return "'" + s.replace("'", "''") + "'"


class Cluster:
    """A private PostgreSQL cluster: trust on the socket, SCRAM on TCP."""

    def __init__(self, tmp):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                text=True).stdout.strip()
        if not os.path.exists(os.path.join(bindir, "initdb")):
            import glob
            bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.bindir = bindir
        self.dir = os.path.join(tmp, "pg")
        os.mkdir(self.dir)
        self.as_pg = os.geteuid() == 0
        if self.as_pg:
            os.chmod(tmp, 0o755)
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self._run("%s/initdb -D %s/data -U postgres -E UTF8 --locale=C.UTF-8 "
                  "--auth-local=trust --auth-host=scram-sha-256 >%s/initdb.log 2>&1"
                  % (bindir, self.dir, self.dir))
        self._run("%s/pg_ctl -D %s/data -l %s/server.log -w -t 60 -o \"-k %s -p %d "
                  "-c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c max_connections=300\" start >/dev/null"
                  % (bindir, self.dir, self.dir, self.dir, self.port))
        self.env = {"PGHOST": self.dir, "PGPORT": str(self.port), "PGUSER": "postgres"}

    def _run(self, cmd):
        full = ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if self.as_pg \
            else ["sh", "-c", cmd]
        r = subprocess.run(full, capture_output=True, text=True)
        if r.returncode:
            log = ""
            for f in ("initdb.log", "server.log"):
                p = os.path.join(self.dir, f)
                if os.path.exists(p):
                    log += open(p, errors="replace").read()[-2000:]
            fail("cluster: %s failed: %s%s\n%s" % (cmd, r.stdout, r.stderr, log))

    def stop(self):
        self._run("%s/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1 || true"
                  % (self.bindir, self.dir))

    def psql(self, sql, db="qingling", user="postgres"):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            "-d", db, "-U", user, "-c", sql],
                           env=dict(os.environ, **self.env),
                           capture_output=True, text=True)
        if r.returncode:
            fail("psql as %s: %s\n%s" % (user, sql[:300], r.stderr))
        return [l for l in r.stdout.splitlines() if l]

    def psql_file(self, path, db="qingling"):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db,
                            "-f", path], env=dict(os.environ, **self.env),
                           capture_output=True, text=True)
        if r.returncode:
            fail("psql -f %s: %s" % (path, r.stderr))


class Board:
    """A ql-board child process with its log in the test's temp dir."""

    def __init__(self, world, name="board", **env):
        self.port = free_port()
        self.metrics_port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.log_path = os.path.join(world.tmp, name + ".log")
        self.log = open(self.log_path, "w+b")
        e = dict(os.environ)
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
            e.pop(k, None)
        e.update({"QL_BOARD_ADDR": self.addr,
                  "QL_BOARD_PG": "host=127.0.0.1 port=%d dbname=%s"
                                 % (world.cluster.port, world.db),
                  "QL_METRICS_ADDR": "127.0.0.1:%d" % self.metrics_port,
                  "QL_BUREAU_NAME": "厦门市湖里区市场监督管理局",
                  "QL_LOG_LEVEL": "info"})
        e.update(env)
        self.proc = subprocess.Popen([os.path.join(QL_BIN, "ql-board")], env=e,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("ql-board exited at start:\n" + self.text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        fail("ql-board did not listen in 30 s:\n" + self.text())

    def text(self):
        self.log.flush()
        size = os.fstat(self.log.fileno()).st_size
        return os.pread(self.log.fileno(), size, 0).decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                fail("ql-board did not stop on SIGTERM:\n" + self.text()[-2000:])
            if rc != 0:
                fail("ql-board exited %d on SIGTERM:\n%s" % (rc, self.text()[-3000:]))
        self.log.close()

    def client(self):
        return Client(self.port)


class Response:
    def __init__(self, r):
        self.status = r.status
        self.headers = r.getheaders()
        self.raw = r.read()
        self.body = self.raw.decode("utf-8", "replace")

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Client:
    """One officer's browser: a cookie jar of one cookie, no redirects
    followed, so every status can be checked."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.csrf = None

    def request(self, method, path, fields=None, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = "ql_session=" + self.cookie
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        c.request(method, path, body=body, headers=h)
        r = Response(c.getresponse())
        c.close()
        for v in r.headers_all("Set-Cookie"):
            m = re.match(r"ql_session=([^;]*)", v)
            if m:
                self.cookie = m.group(1) or None
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', r.body)
        if m:
            self.csrf = m.group(1)
        return r

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields, csrf=True):
        f = dict(fields)
        if csrf and self.csrf:
            f.setdefault("csrf", self.csrf)
        return self.request("POST", path, fields=f)

    def login(self, login, password):
        r = self.request("POST", "/login", fields={"login": login,
                                                   "password": password})
        if r.status == 303:
            self.get("/")  # picks up the CSRF token
        return r


class World:
    """One test's world: temp dir, private cluster, migrated database with
    fixtures, officers."""

    def __init__(self, db="qingling"):
        self.tmp = tempfile.mkdtemp(prefix="qltest-board.")
        self.db = db
        self.boards = []
        self.cluster = None
        try:
            self.cluster = Cluster(self.tmp)
            self.cluster.psql('CREATE DATABASE "%s"' % db, db="postgres")
            env = dict(os.environ, **self.cluster.env)
            env.update(QL_PG="dbname=%s" % db,
                       QL_SQL_DIR=os.path.join(QL_SRC, "schemas/sql"))
            r = subprocess.run([os.path.join(QL_BIN, "ql-triage"), "--migrate-only"],
                               env=env, capture_output=True, text=True)
            if r.returncode:
                fail("ql-triage --migrate-only: " + r.stderr)
            self.cluster.psql_file(os.path.join(QL_SRC, "tests/sql/fixtures.sql"), db)
        except BaseException:
            self.close()
            raise

    def sql(self, q, user="postgres"):
        return self.cluster.psql(q, db=self.db, user=user)

    def officer(self, login, password, *prefixes, supervisor=False):
        self.sql("CREATE ROLE %s LOGIN PASSWORD %s IN ROLE ql_officer"
                 % (login, sql_str(password)))
        for p in prefixes:
            self.sql("INSERT INTO ql.officer (login, region_prefix) VALUES (%s, %s)"
                     % (sql_str(login), sql_str(p)))
        if supervisor:
            self.sql("UPDATE ql.officer SET supervisor = true WHERE login = %s"
                     % sql_str(login))

    def put(self, result_id, code, verdict="NONCONFORMING", days_ago=20,
            region=None, name=None, items=None, kind="SUPERVISION", refers_to=None,
            address=None):
        """Store one result like ql-triage (qltest.feed) and re-triage.
        `address`: the enterprise's address (record schema v2)."""
        at = (datetime.datetime.now(datetime.timezone.utc)
              - datetime.timedelta(days=days_ago)).isoformat()
        args = [sql_str(result_id), sql_str(code), sql_str(kind), sql_str(verdict),
                sql_str(at) + "::timestamptz",
                sql_str(refers_to) + "::text" if refers_to else "NULL::text",
                sql_str(json.dumps(items, ensure_ascii=False)) + "::jsonb"
                if items else "NULL::jsonb",
                sql_str(region or code[2:8])]
        if name is not None:
            args.append(sql_str(name))
        doc = "qltest.doc(%s)" % ", ".join(args)
        if address:
            doc = "jsonb_set(%s, '{enterprise,address}', to_jsonb(%s::text))" % (
                doc, sql_str(address))
        self.sql("SELECT qltest.feed(%s)" % doc)

    def case_of(self, code):
        rows = self.sql("SELECT case_no FROM ql.enforcement_case WHERE credit_code = %s "
                        "AND status IN ('OPEN', 'ESCALATED')" % sql_str(code))
        return rows[0] if rows else None

    def board(self, name="board", **env):
        b = Board(self, name, **env)
        self.boards.append(b)
        return b

    def close(self):
        """Stop the boards, then the cluster -- the cluster even when a
        board failed to stop (that failure is still the test's)."""
        try:
            for b in self.boards:
                b.stop()
        finally:
            if self.cluster:
                self.cluster.stop()
            if not os.environ.get("QL_KEEP_TMP"):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check(cond, msg):
    if not cond:
        fail(msg)
