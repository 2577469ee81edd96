"""The ql-board tests (test_board_*.py) and its benchmark.

Each test gets its own PostgreSQL cluster (pg.Cluster): officers sign in to
ql-board with a password that PostgreSQL itself checks, and the suite's
shared cluster trusts every connection, so a wrong password could not be
told from a right one there.  The schema comes from the real migrations
(ql-triage --migrate-only); results are stored and triaged the way
ql-triage does it, through tests/sql/fixtures.sql's qltest.feed().
"""
import datetime
import http.client
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse

from qltest import binary, pg, uscc
from qltest.procs import Daemon, free_port, listening
from qltest.report import fail

literal = pg.literal


def credit_code(region, n):
    """A valid credit code (GB 32100) of an enterprise in `region`."""
    return uscc.code(region, 20000000 + n)


class Board(Daemon):
    """A ql-board child process with its log in the test's temp dir; the
    test fails if it does not listen within 30 s."""

    def __init__(self, world, name="board", **env):
        self.port = free_port()
        self.metrics_port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
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
        super().__init__([binary("ql-board")],
                         os.path.join(world.tmp, name + ".log"), env=e)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("ql-board exited at start:\n" + self.text())
            if listening(self.port):
                return
            time.sleep(0.1)
        fail("ql-board did not listen in 30 s:\n" + self.text())

    def stop(self):
        """SIGTERM: the test fails unless ql-board exits 0 within 20 s."""
        if self.proc.poll() is None:
            rc = self.term(20)
            if rc is None:
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
            self.cluster = pg.Cluster(self.tmp)
            self.cluster.sql('CREATE DATABASE "%s"' % db, db="postgres")
            pg.migrate(dict(os.environ, **self.cluster.env, QL_PG="dbname=%s" % db))
            self.cluster.sql_file(pg.FIXTURES, db)
        except BaseException:
            self.close()
            raise

    def sql(self, q, user="postgres"):
        return self.cluster.sql(q, db=self.db, user=user)

    def officer(self, login, password, *prefixes, supervisor=False):
        self.sql("CREATE ROLE %s LOGIN PASSWORD %s IN ROLE ql_officer"
                 % (login, literal(password)))
        for p in prefixes:
            self.sql("INSERT INTO ql.officer (login, region_prefix) VALUES (%s, %s)"
                     % (literal(login), literal(p)))
        if supervisor:
            self.sql("UPDATE ql.officer SET supervisor = true WHERE login = %s"
                     % literal(login))

    def put(self, result_id, code, verdict="NONCONFORMING", days_ago=20,
            region=None, name=None, items=None, kind="SUPERVISION", refers_to=None,
            address=None):
        """Store one result like ql-triage (qltest.feed) and re-triage.
        `address`: the enterprise's address (record schema v2)."""
        at = (datetime.datetime.now(datetime.timezone.utc)
              - datetime.timedelta(days=days_ago)).isoformat()
        args = [literal(result_id), literal(code), literal(kind), literal(verdict),
                literal(at) + "::timestamptz",
                literal(refers_to) + "::text" if refers_to else "NULL::text",
                literal(json.dumps(items, ensure_ascii=False)) + "::jsonb"
                if items else "NULL::jsonb",
                literal(region or code[2:8])]
        if name is not None:
            args.append(literal(name))
        doc = "qltest.doc(%s)" % ", ".join(args)
        if address:
            doc = "jsonb_set(%s, '{enterprise,address}', to_jsonb(%s::text))" % (
                doc, literal(address))
        self.sql("SELECT qltest.feed(%s)" % doc)

    def case_of(self, code):
        rows = self.sql("SELECT case_no FROM ql.enforcement_case WHERE credit_code = %s "
                        "AND status IN ('OPEN', 'ESCALATED')" % literal(code))
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
