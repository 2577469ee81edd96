"""The whole pipeline under test, for the fault suite (tests/faults/run_faults.py).

One dev broker, one fresh database, ql-spool watching a spool directory on a
small tmpfs, ql-gateway on a fixed port and a group of ql-triage consumers,
all real processes.  Each fault runs as a *phase* with records of its own
(disjoint result_ids), so every number in the table belongs to one fault:

  * ql-simlab writes the documents once (lab XMQI for the spool, FJQI for
    the gateway); each phase takes the next slice of each.
  * The spool side: the phase's documents go into CSV and JSONL files, a few
    records made invalid on purpose; the files are written to a staging
    directory on the same tmpfs first and renamed into incoming/ one by one
    while the phase runs, as a lab's LIMS would.
  * The gateway side: two client threads post batches of 10 and keep what
    each answer said; a batch answered 503 or not answered at all (the
    connection dropped, the gateway killed) is sent again as it is, a batch
    answered 400 must name its invalid record and is sent again without it.
  * A few undecodable messages are produced straight onto the topic.

After the fault the phase drains (every file out of incoming/, every batch
answered, every consumer caught up) and the ledger is checked against the
database.  Nothing here imports the C code's view of the data: documents are
the simlab files, answers are what HTTP and the file system said.
"""
import collections
import csv
import hashlib
import http.client
import io
import json
import logging
import os
import signal
import subprocess
import threading
import time

from qltest import SCHEMA_DIR, SQL_DIR, binary, pg, triage
from qltest.broker import TOPIC, DevBroker
from qltest.procs import Daemon, free_port

GROUP = "ql-triage"
PARTITIONS = 6
SPOOL_LAB, GATEWAY_LAB = "XMQI", "FJQI"
TOKEN = "faults-FJQI-6sVb2Lq9Xw"
BAD_CODE = "914403001922038217"  # fails the overall check character
BATCH = 10


def now():
    return time.monotonic()


class Proc(Daemon):
    """A daemon child with its output appended to DIR/NAME.log; it can be
    killed and started again with the same arguments, each start marked in
    the log ("==== start N")."""

    def __init__(self, tmp, name, argv, env):
        super().__init__(argv, os.path.join(tmp, name + ".log"), env=env,
                         start=False)

    def start(self):
        self.log.write(b"==== start %d\n" % (self.starts + 1))
        return super().start()


class Triage(Proc):
    def assigned(self):
        """Partitions this member holds by its log (since its last start
        and its last revocation), or None if it is not running."""
        if not self.alive():
            return None
        text = self.text(self.started_at)
        text = text[max(0, text.rfind("revoked " + TOPIC)):]
        got = set()
        for line in text.splitlines():
            i = line.find("assigned %s/" % TOPIC)
            if i >= 0:
                got.add(int(line[i:].split("/")[1].split()[0]))
        return got


def kafka_logger(path):
    """librdkafka's log lines of our own test clients, into a file."""
    lg = logging.getLogger("faults.kafka")
    if not lg.handlers:
        h = logging.FileHandler(path)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        lg.addHandler(h)
        lg.setLevel(logging.INFO)
        lg.propagate = False
    return lg


# ---------------------------------------------------------------------------
# Documents and files


def read_csv_reports(path):
    """(header, {result_id: [rows]}) of a simlab CSV export."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, by_id = rows[0], collections.OrderedDict()
    rid = header.index("result_id")
    for r in rows[1:]:
        by_id.setdefault(r[rid], []).append(r)
    return header, by_id


class SpoolFile:
    """One file a lab drops: its name, bytes, the result_ids of its valid
    records and, for each invalid one, (line, report_no)."""

    def __init__(self, name, data, valid, invalid):
        self.name, self.data = name, data
        self.valid, self.invalid = valid, invalid


def make_spool_files(phase, docs, csv_header, csv_rows, per_file, bad_files):
    """Files of `per_file` documents, CSV and JSONL in turn; in the first
    `bad_files` files one record gets an invalid credit code."""
    files = []
    cc_col = csv_header.index("enterprise_credit_code")
    for k in range(0, len(docs), per_file):
        chunk = docs[k:k + per_file]
        n = len(files)
        bad = chunk[len(chunk) // 2]["result_id"] if n < bad_files else None
        valid, invalid = [], {}
        if n % 2 == 0:
            name = "%s-%02d.csv" % (phase, n)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(csv_header)
            for d in chunk:
                line = buf.getvalue().count("\n") + 1
                for r in csv_rows[d["result_id"]]:
                    if d["result_id"] == bad:
                        r = list(r)
                        r[cc_col] = BAD_CODE
                    w.writerow(r)
                if d["result_id"] == bad:
                    invalid[bad] = (line, d["report_no"])
                else:
                    valid.append(d["result_id"])
            data = buf.getvalue().encode("utf-8")
        else:
            name = "%s-%02d.jsonl" % (phase, n)
            lines = []
            for i, d in enumerate(chunk):
                if d["result_id"] == bad:
                    d = json.loads(json.dumps(d))
                    d["enterprise"]["credit_code"] = BAD_CODE
                    invalid[bad] = (i + 1, d["report_no"])
                else:
                    valid.append(d["result_id"])
                lines.append(json.dumps(d, ensure_ascii=False))
            data = ("\n".join(lines) + "\n").encode("utf-8")
        files.append(SpoolFile(name, data, valid, invalid))
    return files


def make_batches(docs, bad_batches):
    """Batches of BATCH documents; in the first `bad_batches` one record gets
    an invalid credit code.  Returns [(docs, index of the bad one or None)]."""
    out = []
    for k in range(0, len(docs), BATCH):
        chunk = [json.loads(json.dumps(d)) for d in docs[k:k + BATCH]]
        bad = None
        if len(out) < bad_batches:
            bad = (len(out) * 3) % len(chunk)
            chunk[bad]["enterprise"]["credit_code"] = BAD_CODE
        out.append((chunk, bad))
    return out


def expected_findings(doc):
    """Findings a SUPERVISION result must open (design §5): one per FAIL
    item of a NONCONFORMING result, one for a REFUSED result; None for
    rechecks and retests, whose effect depends on other results."""
    if doc["kind"] != "SUPERVISION":
        return None
    if doc["verdict"] == "NONCONFORMING":
        return sum(1 for it in doc["items"] if it["verdict"] == "FAIL")
    if doc["verdict"] == "REFUSED":
        return 1
    return 0


# ---------------------------------------------------------------------------
# The phase's ledger: what was sent, what each producer answered


class Ledger:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.docs = {}            # result_id -> document (valid ones)
        self.spool_files = []     # SpoolFile
        self.spool_sent = 0
        self.gw_sent = 0
        self.gw_acked = set()
        self.gw_invalid = {}      # result_id -> reported in a 400 (bool)
        self.gw_statuses = collections.Counter()
        self.gw_unfinished = []   # batches never answered 202
        self.abandon = 0          # batches to give up on after a 503
        self.gw_abandoned = set()  # their result_ids
        self.gw_seconds = []      # how long each 202 took
        self.garbage = []         # (partition, offset, payload) delivered
        self.garbage_failed = []
        self.marks = {}           # daemon log sizes when the phase began
        self.notes = []
        self.failures = []

    def note(self, text):
        with self.lock:
            self.notes.append(text)

    def fail(self, text):
        with self.lock:
            self.failures.append(text)


class GatewayClient:
    """Posts batches as a lab would, keeping every answer in the ledger."""

    def __init__(self, port, ledger, deadline_s=90):
        self.port, self.ledger, self.deadline_s = port, ledger, deadline_s

    def post(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request("POST", "/v1/results",
                         body=json.dumps(body, ensure_ascii=False).encode(),
                         headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer " + TOKEN})
            r = conn.getresponse()
            raw = r.read()
            try:
                js = json.loads(raw) if raw else None
            except ValueError:
                js = None
            return r.status, js
        finally:
            conn.close()

    def send(self, docs, bad):
        L = self.ledger
        ids = [d["result_id"] for d in docs]
        give_up = now() + self.deadline_s
        while True:
            t0 = now()
            try:
                status, js = self.post(docs)
            except (OSError, http.client.HTTPException) as e:
                with L.lock:
                    L.gw_statuses["no answer"] += 1
                status, js = None, str(e)
            if status is not None:
                with L.lock:
                    L.gw_statuses[status] += 1
            if status == 202:
                with L.lock:
                    L.gw_seconds.append(now() - t0)
                acc = (js or {}).get("accepted")
                if acc != ids:
                    L.fail("gateway: 202 accepted %r for a batch of %r"
                           % (acc, ids[:3]))
                with L.lock:
                    L.gw_acked.update(acc or [])
                return
            if status == 400 and bad is not None:
                errs = (js or {}).get("errors") or []
                named = {(e.get("index"), e.get("field")) for e in errs}
                with L.lock:
                    L.gw_invalid[ids[bad]] = \
                        named == {(bad, "enterprise.credit_code")}
                if named != {(bad, "enterprise.credit_code")}:
                    L.fail("gateway: 400 for the batch with record %d bad "
                           "named %r" % (bad, sorted(named)))
                # The lab drops the bad record and sends the rest again.
                docs = docs[:bad] + docs[bad + 1:]
                ids = [d["result_id"] for d in docs]
                bad = None
                continue
            if status == 503:
                with L.lock:
                    give_up_now = L.abandon > 0
                    if give_up_now:
                        L.abandon -= 1
                        L.gw_abandoned.update(ids)
                if give_up_now:
                    return
            if status not in (503, None):
                L.fail("gateway: unexpected answer %s %r" % (status, js))
                with L.lock:
                    L.gw_unfinished.append(ids)
                return
            if now() > give_up:
                with L.lock:
                    L.gw_unfinished.append(ids)
                return
            time.sleep(0.3)


class GarbageProducer:
    """Undecodable messages straight onto the results topic."""

    def __init__(self, brokers, logger):
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": brokers,
                           "enable.idempotence": True,
                           "reconnect.backoff.max.ms": 500,
                           "linger.ms": 0}, logger=logger)
        self.n = 0

    def send(self, ledger):
        self.n += 1
        if self.n % 2:
            payload = b"\x00not avro %d " % self.n + os.urandom(12)
        else:  # the right magic bytes, a fingerprint no schema has
            payload = b"\xc3\x01" + os.urandom(8) + b"garbage %d" % self.n

        def report(err, msg):
            if err:
                ledger.garbage_failed.append(str(err))
            else:
                with ledger.lock:
                    ledger.garbage.append((msg.partition(), msg.offset(),
                                           msg.value()))
        self.p.produce(TOPIC, key=b"garbage-%d" % self.n, value=payload,
                       on_delivery=report)
        self.p.poll(0)

    def flush(self, timeout):
        return self.p.flush(timeout)


# ---------------------------------------------------------------------------
# The pipeline


class Pipeline:
    def __init__(self, tmp, spool_docs, gw_docs, csv_header, csv_rows):
        self.tmp = tmp
        self.spool_docs, self.gw_docs = spool_docs, gw_docs
        self.csv_header, self.csv_rows = csv_header, csv_rows
        self.spool_next = self.gw_next = 0
        self.broker = DevBroker("--partitions", str(PARTITIONS), "--brokers", "3",
                                log_path=os.path.join(tmp, "devbroker.log"))
        self.brokers = self.broker.brokers
        self.mounted = False
        try:
            self.setup(tmp)
        except BaseException:
            self.unmount()
            self.broker.stop()
            raise

    def setup(self, tmp):
        pg.new_db("ql_faults")
        self.mount_note = self.mount_spool_fs()
        self.spool_dir = os.path.join(self.fs, "spool")
        self.stage = os.path.join(self.fs, "stage")
        for d in (self.stage, os.path.join(self.spool_dir, "incoming")):
            os.makedirs(d)
        self.write_configs()
        self.env = dict(os.environ)
        self.env.update({"QL_BROKERS": self.brokers,
                         "QL_PG": os.environ["QL_PG"],
                         "QL_SCHEMA_DIR": SCHEMA_DIR,
                         "QL_SQL_DIR": SQL_DIR,
                         "QL_LOG_LEVEL": "info"})
        self.triages = []
        self.all_procs = []
        self.triage_seq = 0
        self.spool = Proc(tmp, "spool", [
            binary("ql-spool"), "--dir", self.spool_dir,
            "--lab", SPOOL_LAB, "-c", self.spool_ini, "--log-level", "debug"],
            self.env)
        self.gw_port = free_port()
        self.gw_metrics_port = free_port()
        self.gateway = Proc(tmp, "gateway", [
            binary("ql-gateway"), "-c", self.gw_ini,
            "--gateway-addr", "127.0.0.1:%d" % self.gw_port,
            "--metrics-addr", "127.0.0.1:%d" % self.gw_metrics_port,
            "--gateway-tokens", self.tokens, "--ack-timeout-ms", "3000",
            "--log-level", "debug"],
            self.env)
        self.all_procs += [self.spool, self.gateway]
        self.klog = kafka_logger(os.path.join(tmp, "test-clients.log"))
        self.garbage = GarbageProducer(self.brokers, self.klog)
        self.wm = None

    # --- setup -------------------------------------------------------------

    def mount_spool_fs(self):
        """A 16 MiB tmpfs for the spool directory, so the disk-full fault
        is a real ENOSPC; without mount rights, a plain directory (and the
        disk-full fault is skipped, saying why)."""
        self.fs = os.path.join(self.tmp, "spoolfs")
        os.makedirs(self.fs)
        self.mounted = False
        if os.environ.get("QL_FAULTS_NO_TMPFS"):
            return "no tmpfs (QL_FAULTS_NO_TMPFS set)"
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755",
                            "ql-faults", self.fs], capture_output=True,
                           text=True)
        self.mounted = r.returncode == 0
        if self.mounted:
            return "spool directory on a 16 MiB tmpfs"
        return "no tmpfs (mount: %s)" % (r.stderr.strip() or
                                         "status %d" % r.returncode)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.fs], capture_output=True)
            self.mounted = False

    def write_configs(self):
        def ini(name, text):
            path = os.path.join(self.tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path
        # Fast reconnects; librdkafka's debug lines for produce results
        # (msg), fetches and group coordination (fetch, cgrp): the evidence
        # that each fault reached the daemons (the daemons run with
        # --log-level debug to keep them).
        fast = ("reconnect.backoff.ms = 100\n"
                "reconnect.backoff.max.ms = 500\n")
        # librdkafka 2.0.2's mock coordinator waits session.timeout.ms - 1 s
        # for the members at every rebalance: a short session keeps the
        # group moving.
        self.triage_ini = ini("triage.ini", "[kafka]\n" + fast +
                              "session.timeout.ms = 6000\n"
                              "heartbeat.interval.ms = 500\n"
                              "debug = fetch,cgrp\n")
        self.spool_ini = ini("spool.ini", "[kafka]\n" + fast + "debug = msg\n")
        self.gw_ini = ini("gateway.ini", "[kafka]\n" + fast + "debug = msg\n")
        self.tokens = os.path.join(self.tmp, "tokens")
        with open(self.tokens, "w") as f:
            f.write("%s %s\n" % (GATEWAY_LAB,
                                 hashlib.sha256(TOKEN.encode()).hexdigest()))
        os.chmod(self.tokens, 0o600)

    def add_triage(self):
        self.triage_seq += 1
        # A short statement timeout: a frozen PostgreSQL is given up on
        # after 2 s + 2 s, which keeps the freeze phase short.
        t = Triage(self.tmp, "triage%d" % self.triage_seq, [
            binary("ql-triage"), "-c", self.triage_ini,
            "--batch-size", "200", "--pg-statement-timeout-ms", "2000",
            "--log-level", "debug"], self.env)
        self.triages.append(t)
        self.all_procs.append(t)
        return t.start()

    def start(self, consumers=2):
        for _ in range(consumers):
            self.add_triage()
        self.spool.start()
        self.gateway.start()
        self.wait_gateway()
        self.wait("the consumers to share every partition", self.group_settled,
                  60)
        # A daemon that died while starting is a defect of its own, not of
        # the first fault: said here and started again.
        self.start_failures = []
        for p in self.all_procs:
            if not p.alive():
                self.start_failures.append(
                    "%s exited at start (status %s); log tail:\n%s"
                    % (p.name, p.proc.returncode, p.text()[-1500:]))
                p.start()
                if p is self.gateway:
                    self.wait_gateway()

    def wait_gateway(self, timeout=20):
        deadline = now() + timeout
        while now() < deadline:
            if not self.gateway.alive():
                raise RuntimeError("ql-gateway exited:\n"
                                   + self.gateway.text()[-2000:])
            try:
                # /healthz is on the metrics address, which opens once the
                # labs' port listens
                c = http.client.HTTPConnection(
                    "127.0.0.1", self.gw_metrics_port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("ql-gateway did not answer /healthz")

    def group_settled(self):
        live = [t for t in self.triages if t.alive()]
        parts = [t.assigned() for t in live]
        if not live or any(p is None for p in parts):
            return False
        union = set().union(*parts)
        return len(union) == PARTITIONS and sum(map(len, parts)) == PARTITIONS

    @staticmethod
    def wait(what, fn, timeout, every=0.25):
        deadline = now() + timeout
        while now() < deadline:
            if fn():
                return True
            time.sleep(every)
        raise TimeoutError("waited %d s for %s" % (timeout, what))

    def command(self, line):
        self.broker.command(line)

    def log_marks(self):
        return {p.name: p.size() for p in self.all_procs}

    def logs_since(self, marks, prefix=""):
        """The log text of every daemon whose name starts with prefix,
        written since marks (all of it for daemons started since)."""
        return "".join(p.text(marks.get(p.name, 0)) for p in self.all_procs
                       if p.name.startswith(prefix))

    # --- PostgreSQL ----------------------------------------------------------

    def pg_restart(self):
        pgdata = os.environ.get("QL_TEST_PGDATA")
        if not pgdata:
            raise RuntimeError("QL_TEST_PGDATA not set: run through tests/run")
        log = os.path.join(os.path.dirname(os.path.abspath(pgdata)),
                           "faults-restart.log")
        pg.ctl("restart", "-m", "fast", "-w", "-t", "60", "-l", "'%s'" % log)

    def pg_pids(self):
        """The cluster's postmaster and every process it started."""
        pgdata = os.environ.get("QL_TEST_PGDATA")
        if not pgdata:
            raise RuntimeError("QL_TEST_PGDATA not set: run through tests/run")
        with open(os.path.join(pgdata, "postmaster.pid")) as f:
            master = int(f.readline())
        children = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/status" % d) as f:
                    ppid = [l for l in f if l.startswith("PPid:")]
            except OSError:
                continue
            if ppid and int(ppid[0].split()[1]) == master:
                children.append(int(d))
        return master, children

    def pg_freeze(self):
        """SIGSTOP the whole cluster: connections stay open, nothing is
        answered -- what a hung host or a network partition looks like to a
        client, without the kernel resetting anything."""
        master, children = self.pg_pids()
        os.kill(master, signal.SIGSTOP)  # first: no new backends
        for pid in children + self.pg_pids()[1]:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        self.frozen = True

    def pg_thaw(self):
        if not getattr(self, "frozen", False):
            return
        master, children = self.pg_pids()
        for pid in children:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        os.kill(master, signal.SIGCONT)
        self.frozen = False

    # --- Kafka state ---------------------------------------------------------

    def watermarks(self):
        """High watermark of each partition of the results topic."""
        from confluent_kafka import Consumer, KafkaException, TopicPartition
        deadline = now() + 60
        while True:
            if self.wm is None:
                self.wm = Consumer({"bootstrap.servers": self.brokers,
                                    "group.id": "faults-watermarks"},
                                   logger=self.klog)
            try:
                return {p: self.wm.get_watermark_offsets(
                    TopicPartition(TOPIC, p), timeout=10)[1]
                    for p in range(PARTITIONS)}
            except KafkaException:
                if now() > deadline:
                    raise
                # After a leader move librdkafka 2.0.2 keeps asking the old
                # leader: start over with fresh metadata.
                self.wm.close()
                self.wm = None
                time.sleep(0.3)

    def stored_offsets(self):
        return triage.stored_offsets(GROUP, TOPIC)

    # --- a phase -------------------------------------------------------------

    def new_phase(self, name, n_spool, n_gw, per_file=30, bad_files=2,
                  bad_batches=2):
        L = Ledger(name)
        sd = self.spool_docs[self.spool_next:self.spool_next + n_spool]
        gd = self.gw_docs[self.gw_next:self.gw_next + n_gw]
        if len(sd) < n_spool or len(gd) < n_gw:
            raise RuntimeError("not enough simlab documents for " + name)
        self.spool_next += n_spool
        self.gw_next += n_gw
        L.spool_files = make_spool_files(name, sd, self.csv_header,
                                         self.csv_rows, per_file, bad_files)
        L.batches = make_batches(gd, bad_batches)
        L.spool_sent = len(sd)
        L.gw_sent = len(gd)
        for f in L.spool_files:
            for rid in f.valid:
                L.docs[rid] = None
        byid = {d["result_id"]: d for d in sd + gd}
        for chunk, bad in L.batches:
            for i, d in enumerate(chunk):
                if i != bad:
                    L.docs[d["result_id"]] = byid[d["result_id"]]
        for rid in list(L.docs):
            L.docs[rid] = byid[rid]
        # Staged now, on the spool's own file system, so that dropping a
        # file is a rename even when the file system is full.
        for f in L.spool_files:
            with open(os.path.join(self.stage, f.name), "wb") as out:
                out.write(f.data)
        return L

    def stream(self, L, seconds):
        """Start the phase's traffic spread over `seconds`; returns the
        threads (join them with finish_stream)."""
        threads = []

        def drop():
            gap = seconds / max(1, len(L.spool_files))
            for f in L.spool_files:
                os.rename(os.path.join(self.stage, f.name),
                          os.path.join(self.spool_dir, "incoming", f.name))
                time.sleep(gap)

        def post(batches):
            client = GatewayClient(self.gw_port, L)
            gap = seconds / max(1, len(batches))
            for chunk, bad in batches:
                t0 = now()
                client.send(chunk, bad)
                time.sleep(max(0.0, gap - (now() - t0)))

        def garbage():
            for _ in range(3):
                time.sleep(seconds / 4)
                self.garbage.send(L)

        threads.append(threading.Thread(target=drop, daemon=True))
        threads.append(threading.Thread(target=post, args=(L.batches[0::2],),
                                        daemon=True))
        threads.append(threading.Thread(target=post, args=(L.batches[1::2],),
                                        daemon=True))
        threads.append(threading.Thread(target=garbage, daemon=True))
        for t in threads:
            t.start()
        return threads

    def finish_stream(self, L, threads, timeout=150):
        deadline = now() + timeout
        for t in threads:
            t.join(max(0.1, deadline - now()))
            if t.is_alive():
                L.fail("the producers' traffic did not finish in %d s" % timeout)
                return
        left = self.garbage.flush(60)
        if left or L.garbage_failed:
            L.fail("undecodable test messages not delivered: %d left, %s"
                   % (left, L.garbage_failed[:3]))

    def check_daemons(self, L):
        """Every daemon that should run does; one that died on its own is a
        defect: noted, and started again so the suite goes on."""
        for p in [self.spool, self.gateway] + self.triages[:2]:
            if not p.alive():
                L.fail("%s exited on its own (status %s); log tail:\n%s"
                       % (p.name, p.proc.returncode, p.text()[-1500:]))
                p.start()
                if p is self.gateway:
                    self.wait_gateway()

    def drain(self, L, timeout=120):
        """Wait for every dropped file to leave incoming/ and for the
        consumers to store everything up to the high watermarks."""
        incoming = os.path.join(self.spool_dir, "incoming")
        names = {f.name for f in L.spool_files}
        try:
            self.wait("the spool files to leave incoming/",
                      lambda: not names & set(os.listdir(incoming)), timeout)
        except TimeoutError as e:
            L.fail(str(e) + ": still there: %s"
                   % sorted(names & set(os.listdir(incoming))))
        acked = self.acknowledged(L)
        last = {}

        def caught_up():
            rows = set(pg.sql("SELECT result_id FROM ql.inspection_result"))
            if not acked <= rows:
                return False
            hw = self.watermarks()
            st = self.stored_offsets()
            last["hw"], last["st"] = hw, st
            return all(st.get(p, 0) == h for p, h in hw.items())
        try:
            self.wait("the consumers to catch up", caught_up, timeout, every=0.5)
        except TimeoutError as e:
            L.fail("%s (high watermarks %s, stored offsets %s)"
                   % (e, last.get("hw"), last.get("st")))

    def acknowledged(self, L):
        """What the producers acknowledged: the valid records of the files
        that reached done/, and the ids of 202 answers."""
        done = set(os.listdir(os.path.join(self.spool_dir, "done")))
        acked = set(L.gw_acked)
        for f in L.spool_files:
            if f.name in done:
                acked.update(f.valid)
        return acked
