"""The fault suite: records stream from ql-simlab's labs through ql-spool and
ql-gateway, over the dev broker, into ql-triage and PostgreSQL while faults
are injected, one fault per phase; afterwards each phase's ledger is checked
against the database (see tests/lib/qltest/faults.py for how records are
sent and counted, docs/faults.md for what is guaranteed).

Per phase, with the records of that phase only:
  acknowledged  valid records of spool files that reached done/, and the
                result_ids of the gateway's 202 answers
  stored        acknowledged result_ids with exactly one row in
                ql.inspection_result
  lost          acknowledged result_ids with no row
  doubled       rows beyond one per acknowledged result_id, findings beyond
                the ones its items call for, rows of ql.rejected_record
                beyond one per undecodable message, done/ copies of a file
                beyond one
  rejected      invalid records the producers refused, and how many were
                reported to the lab (a line in rejected/NAME.errors.jsonl
                naming the line and report_no; a 400 naming index and field)
  undecodable   garbage messages put on the topic, and how many are in
                ql.rejected_record with their bytes
  copies        extra copies of records on the topic (re-sends after a
                fault), which the consumers must have absorbed
Any lost or doubled record, unreported rejection, missing undecodable
record, record stored that no producer acknowledged, consumer offset not at
the high watermark, or daemon that died on its own fails the suite.

A fault that cannot be injected here (disk-full without the right to
mount a tmpfs) is not run: its row says "skipped", and the suite exits
with qltest.report.SKIP (77, CTest's "skipped") unless something failed.
CTest runs it as two tests: faults.run_faults (every fault but disk-full)
and faults.disk_full, so that one skipped fault does not hide the others'
result.

  run_faults.py [--only NAME,...] [--except NAME,...] [--list]
Needs QL_BIN, QL_SRC, PYTHONPATH=tests/lib (CTest sets them) and
PGHOST/PGPORT/PGUSER and QL_TEST_PGDATA of a throwaway cluster (tests/run
sets them).
"""
import argparse
import errno
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback

from qltest import faults as pl, spool
from qltest.broker import DLQ, consume_all
from qltest.faults import now
from qltest.pg import sql as psql
from qltest.procs import TempDir
from qltest.report import skip
STREAM_S = 5.0           # how long each phase's traffic runs
SPOOL_N, GW_N = 240, 240  # records per phase from each producer
PER_FILE = 30


# ---------------------------------------------------------------------------
# The faults.  Each runs in the main thread while the phase's traffic flows;
# at(t) sleeps until t seconds into the phase.  `cleanup` undoes what the
# fault may have left (also after an exception).  `bit` runs once the phase
# drained and returns (count, what): evidence from the daemons' own logs or
# answers that the fault really reached them; a count of 0 fails the phase,
# since a fault that never happened proves nothing.


SANITIZER = r"^.*(?:runtime error:|ERROR: \w+Sanitizer).*$"


def count(text, pattern):
    return len(re.findall(pattern, text))


def f_none(P, L, at):
    at(STREAM_S)


def f_broker_down(P, L, at):
    at(1.0)
    P.command("broker down 2")
    at(2.5)
    P.command("broker up 2")
    at(3.0)
    P.command("broker down -1")
    # Longer than the gateway's --ack-timeout-ms: requests get 503 and are
    # sent again.
    at(6.5)
    P.command("broker up -1")


def c_broker_down(P):
    P.command("broker up -1")


def b_broker_down(P, L):
    refused = count(P.logs_since(L.marks), "Connection refused")
    return (min(refused, L.gw_statuses[503]),
            "%d connections refused, %d gateway 503s"
            % (refused, L.gw_statuses[503]))


def f_leader_moves(P, L, at):
    k = 0
    t = 0.8
    while t < STREAM_S - 0.5:
        at(t)
        k += 1
        for p in range(pl.PARTITIONS):
            P.command("leader %s %d %d" % (pl.TOPIC, p, (p + k) % 3 + 1))
        t += 0.5
    L.moves = k


def b_leader_moves(P, L):
    n = count(P.logs_since(L.marks), "Not leader for partition")
    return n, "%d leader moves per partition; %d NOT_LEADER answers logged" \
        % (L.moves, n)


def produce_errors(code):
    def f(P, L, at):
        at(1.0)
        P.command("error Produce %s 25" % code)
        at(2.5)
        P.command("error Produce %s 25" % code)
        at(STREAM_S)
    return f


def produce_bit(text):
    def b(P, L):
        logs = P.logs_since(L.marks, "spool") + P.logs_since(L.marks, "gateway")
        n = count(logs, "encountered error: Broker: " + text)
        return n, "%d message sets retried by the producers" % n
    return b


def c_produce(P):
    P.command("clear Produce")


def f_fetch_errors(P, L, at):
    at(1.0)
    P.command("error Fetch NOT_LEADER_FOR_PARTITION 20")
    at(2.2)
    P.command("error Fetch REQUEST_TIMED_OUT 20")
    at(3.4)
    P.command("error Fetch _TRANSPORT 6")
    at(STREAM_S)


def b_fetch(P, L):
    n = count(P.logs_since(L.marks, "triage"),
              r"Fetch backoff for \d+ms: Broker: ")
    return n, "%d fetch back-offs after errors" % n


def c_fetch(P):
    P.command("clear Fetch")


def f_latency(P, L, at):
    at(0.3)
    for b, ms in ((1, 300), (2, 400), (3, 500)):
        P.command("broker rtt %d %d" % (b, ms))
    at(STREAM_S)


def b_latency(P, L):
    t = sorted(L.gw_seconds)
    med = t[len(t) // 2] if t else 0
    return int(med >= 0.3), "gateway 202s took %.2f s (median)" % med


def c_rtt(P):
    P.command("broker rtt -1 0")


def f_coordinator(P, L, at):
    for t, b in ((1.0, 2), (2.5, 3), (4.0, 1)):
        at(t)
        P.command("coordinator group %s %d" % (pl.GROUP, b))
    at(STREAM_S)


def b_coordinator(P, L):
    n = count(P.logs_since(L.marks, "triage"), "changing coordinator")
    return n, "%d coordinator changes seen by the consumers" % n


def f_kill_triage(P, L, at):
    victim = P.triages[0]
    at(1.5)
    L.held = victim.assigned() or set()
    victim.kill()
    L.victim = victim.name
    at(3.0)
    victim.start()
    at(STREAM_S)


def b_kill_triage(P, L):
    return len(L.held), "killed %s holding partitions %s" \
        % (L.victim, sorted(L.held))


def f_kill_spool(P, L, at):
    # Slow acknowledgements, so the kill lands while a file's records are
    # in flight: it comes once a file has waited in incoming/ for 0.2 s.
    at(0.2)
    P.command("broker rtt -1 400")
    incoming = os.path.join(P.spool_dir, "incoming")
    at(1.2)
    deadline = now() + 3
    seen = {}
    while now() < deadline:
        for n in os.listdir(incoming):
            if not n.startswith("."):
                seen.setdefault(n, now())
        old = [n for n, t in seen.items() if now() - t >= 0.2 and
               os.path.exists(os.path.join(incoming, n))]
        if old:
            break
        time.sleep(0.02)
    P.spool.kill()
    L.in_flight = sorted(n for n in os.listdir(incoming)
                         if not n.startswith("."))
    at(3.0)
    P.spool.start()
    at(STREAM_S)


def b_kill_spool(P, L):
    return len(L.in_flight), "killed with %s in incoming/" \
        % (", ".join(L.in_flight) or "nothing")


def f_kill_gateway(P, L, at):
    # Slow acknowledgements: every request is waiting for Kafka when the
    # gateway dies.
    at(0.2)
    P.command("broker rtt -1 400")
    at(1.7)
    P.gateway.kill()
    at(2.7)
    P.gateway.start()
    P.wait_gateway()
    at(STREAM_S)


def b_kill_gateway(P, L):
    n = L.gw_statuses["no answer"]
    return n, "%d requests got no answer and were sent again" % n


def f_pg_restart(P, L, at):
    at(1.5)
    P.pg_restart()
    at(STREAM_S)


def b_pg_restart(P, L):
    logs = P.logs_since(L.marks, "triage")
    n = count(logs, "connected to PostgreSQL")
    return n, "%d consumer reconnections, %d batches rolled back" \
        % (n, count(logs, "rolled back"))


def f_pg_freeze(P, L, at):
    """PostgreSQL frozen (SIGSTOP) while records flow; meanwhile one member
    is stopped with SIGTERM: it must leave, and the other take its
    partitions, while PostgreSQL still answers nothing."""
    at(1.0)
    P.pg_freeze()
    frozen_at = now()
    at(2.0)
    victim, survivor = P.triages[1], P.triages[0]
    L.victim_held = victim.assigned() or set()
    t0 = now()
    L.victim_rc = victim.term(40)
    L.leave_s = now() - t0
    deadline = now() + 40
    while now() < deadline and survivor.assigned() != set(range(pl.PARTITIONS)):
        time.sleep(0.2)
    L.took = survivor.assigned() or set()
    L.takeover_s = now() - t0
    P.pg_thaw()
    L.frozen_s = now() - frozen_at
    victim.start()
    at(STREAM_S)


def c_pg_freeze(P):
    P.pg_thaw()


def b_pg_freeze(P, L):
    logs = P.logs_since(L.marks, "triage")
    cut = count(logs, "no answer from PostgreSQL within") + \
        count(logs, "PostgreSQL connection: no answer within")
    what = ("PostgreSQL frozen for %.1f s; SIGTERM'd member (holding %s) "
            "left in %.1f s with status %s; the other held all %d partitions "
            "%.1f s after, still frozen; %d waits cut short"
            % (L.frozen_s, sorted(L.victim_held), L.leave_s, L.victim_rc,
               len(L.took), L.takeover_s, cut))
    if L.victim_rc != 0:
        L.fail("the member stopped while PostgreSQL was frozen did not "
               "leave cleanly: " + what)
    if L.took != set(range(pl.PARTITIONS)):
        L.fail("the group was held while PostgreSQL was frozen: " + what)
    return cut, what


def f_disk_full(P, L, at):
    at(0.3)
    filler = os.path.join(P.fs, "filler")
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    st = os.statvfs(P.fs)
    L.free = st.f_bavail * st.f_frsize
    at(3.5)
    os.unlink(filler)
    at(STREAM_S)


def c_disk_full(P):
    filler = os.path.join(P.fs, "filler")
    if os.path.exists(filler):
        os.unlink(filler)


def b_disk_full(P, L):
    n = count(P.logs_since(L.marks, "spool"), "No space left on device")
    return n, "tmpfs filled to %d bytes free for 3.2 s; ql-spool met ENOSPC " \
        "%d times" % (L.free, n)


STORM_S = 12.0


def f_rebalance_storm(P, L, at):
    """Members join and leave every 1.5 s or so, in every way a member can
    leave: SIGTERM (a clean LeaveGroup), kill -9 (the session times out),
    and one of the two long-lived members killed and started again."""
    extra = []
    L.storm = extra
    at(0.5)
    extra.append(P.add_triage())
    at(2.0)
    extra.append(P.add_triage())
    at(3.5)
    extra[0].proc.send_signal(signal.SIGTERM)
    at(5.0)
    extra.append(P.add_triage())
    at(6.5)
    extra[1].kill()
    at(7.0)
    P.triages[1].kill()
    at(8.0)
    P.triages[1].start()
    at(9.5)
    extra.append(P.add_triage())
    at(11.0)
    extra[2].proc.send_signal(signal.SIGTERM)
    at(11.5)
    extra[3].proc.send_signal(signal.SIGTERM)


def a_storm(P, L):
    for t in L.storm:
        rc = t.term(60)
        if t is not L.storm[1] and rc != 0:
            L.fail("%s: exit status %s after SIGTERM; log tail:\n%s"
                   % (t.name, rc, t.text()[-1500:]))
    P.triages = [t for t in P.triages if t not in L.storm]


def b_storm(P, L):
    logs = P.logs_since(L.marks, "triage")
    n = count(logs, "revoked " + pl.TOPIC)
    return n, "4 members joined and left (SIGTERM, kill -9), one restarted; " \
        "%d revocations, %d assignments" % (n, count(logs, "assigned " + pl.TOPIC))


class Fault:
    """One row of the table.  needs_tmpfs: the fault fills the spool's own
    file system, so it runs only where a tmpfs could be mounted."""

    def __init__(self, name, label, run, cleanup=None, after=None, bit=None,
                 seconds=STREAM_S, bad_files=2, abandon=0, needs_tmpfs=False):
        self.name, self.label, self.run = name, label, run
        self.cleanup, self.after, self.bit = cleanup, after, bit
        self.seconds, self.bad_files, self.abandon = seconds, bad_files, abandon
        self.needs_tmpfs = needs_tmpfs


FAULTS = [
    Fault("none", "none (baseline)", f_none),
    # The lab gives up on the first batch answered 503 here (and sends the
    # others again): its records may be stored (Kafka took them after all)
    # or not, never twice.
    Fault("broker-down", "broker down and up", f_broker_down, c_broker_down,
          bit=b_broker_down, abandon=1),
    Fault("leader-moves", "partition leaders move", f_leader_moves,
          bit=b_leader_moves),
    Fault("produce-not-leader", "Produce NOT_LEADER_FOR_PARTITION",
          produce_errors("NOT_LEADER_FOR_PARTITION"), c_produce,
          bit=produce_bit("Not leader for partition")),
    Fault("produce-timeout", "Produce REQUEST_TIMED_OUT",
          produce_errors("REQUEST_TIMED_OUT"), c_produce,
          bit=produce_bit("Request timed out")),
    Fault("fetch-errors", "Fetch errors", f_fetch_errors, c_fetch,
          bit=b_fetch),
    Fault("latency", "broker rtt 300-500 ms", f_latency, c_rtt,
          bit=b_latency),
    Fault("coordinator", "group coordinator moves", f_coordinator,
          bit=b_coordinator),
    Fault("kill-triage", "kill -9 ql-triage", f_kill_triage,
          bit=b_kill_triage),
    Fault("kill-spool", "kill -9 ql-spool", f_kill_spool, c_rtt,
          bit=b_kill_spool),
    Fault("kill-gateway", "kill -9 ql-gateway", f_kill_gateway, c_rtt,
          bit=b_kill_gateway),
    Fault("pg-restart", "PostgreSQL restart", f_pg_restart,
          bit=b_pg_restart),
    Fault("pg-freeze", "PostgreSQL frozen (SIGSTOP)", f_pg_freeze,
          c_pg_freeze, bit=b_pg_freeze),
    # Every file has a rejected record, so every file needs its errors list
    # written while the disk is full.
    Fault("disk-full", "spool disk full (tmpfs)", f_disk_full, c_disk_full,
          bit=b_disk_full, bad_files=8, needs_tmpfs=True),
    Fault("rebalance-storm", "rebalance storm", f_rebalance_storm,
          after=a_storm, bit=b_storm, seconds=STORM_S),
]


# ---------------------------------------------------------------------------
# Checking a phase


def read_errors_list(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return None


class Row:
    pass


def db_state():
    rows = {}
    for line in psql("SELECT result_id, count(*), min(credit_code), "
                     "min(verdict), min(kind) FROM ql.inspection_result "
                     "GROUP BY result_id"):
        rid, n, code, verdict, kind = line.split("|")
        rows[rid] = (int(n), code, verdict, kind)
    findings = {}
    for line in psql("SELECT result_id, count(*) FROM ql.finding GROUP BY 1"):
        rid, n = line.split("|")
        findings[rid] = int(n)
    rejected = {}
    for line in psql("SELECT kafka_partition, kafka_offset, "
                     "encode(payload, 'hex') FROM ql.rejected_record "
                     "WHERE topic = '%s'" % pl.TOPIC):
        p, o, payload = line.split("|")
        rejected.setdefault((int(p), int(o)), []).append(payload)
    return rows, findings, rejected


def check_phase(P, L, hw_before, hw_after):
    r = Row()
    r.name = L.name
    done_dir = os.path.join(P.spool_dir, "done")
    rej_dir = os.path.join(P.spool_dir, "rejected")
    done = os.listdir(done_dir)
    acked = set(L.gw_acked)
    invalid, reported = 0, 0
    extra_done = 0
    for f in L.spool_files:
        stem, ext = os.path.splitext(f.name)
        copies = [n for n in done if n == f.name or
                  re.fullmatch(re.escape(stem) + r"\.\d+" + re.escape(ext), n)]
        extra_done += max(0, len(copies) - 1)
        if f.name in done:
            acked.update(f.valid)
        else:
            where = [d for d in ("incoming", "rejected")
                     if os.path.exists(os.path.join(P.spool_dir, d, f.name))]
            L.fail("spool file %s never reached done/ (in %s)" % (f.name, where))
        errs = read_errors_list(os.path.join(rej_dir, f.name + ".errors.jsonl"))
        invalid += len(f.invalid)
        if not f.invalid:
            if errs:
                L.fail("%s: errors list for a file without invalid records: %s"
                       % (f.name, errs[:2]))
            continue
        if errs is None:
            L.fail("%s: no errors list in rejected/" % f.name)
            continue
        for rid, (line, report_no) in f.invalid.items():
            hit = [e for e in errs if e.get("report_no") == report_no and
                   e.get("line") == line and "credit_code" in e.get("error", "")]
            if len(hit) == 1:
                reported += 1
            else:
                L.fail("%s: invalid record at line %d (%s) listed %d times: %s"
                       % (f.name, line, report_no, len(hit), errs))
        if len(errs) != len(f.invalid):
            L.fail("%s: %d lines in the errors list for %d invalid records"
                   % (f.name, len(errs), len(f.invalid)))
    invalid += len(L.gw_invalid)
    reported += sum(1 for ok in L.gw_invalid.values() if ok)
    expected_gw_invalid = sum(1 for _, bad in L.batches if bad is not None)
    if len(L.gw_invalid) != expected_gw_invalid:
        invalid += expected_gw_invalid - len(L.gw_invalid)
        L.fail("gateway: %d batches with an invalid record, %d answered 400"
               % (expected_gw_invalid, len(L.gw_invalid)))
    for ids in L.gw_unfinished:
        L.fail("gateway: batch %s... never answered 202" % ids[:2])

    rows, findings, rejected = db_state()
    r.sent = L.spool_sent + L.gw_sent
    r.acked = len(acked)
    r.stored = sum(1 for rid in acked if rows.get(rid, (0,))[0] == 1)
    lost = sorted(rid for rid in acked if rid not in rows)
    r.lost = len(lost)
    if lost:
        L.fail("lost (acknowledged, not stored): %s" % lost[:5])
    doubled = sum(max(0, rows[rid][0] - 1) for rid in acked if rid in rows)
    doubled += extra_done
    # Each stored record's content and its findings.
    mismatched, short = [], []
    for rid in acked:
        if rid not in rows:
            continue
        doc = L.docs.get(rid)
        if doc is None:
            continue
        _, code, verdict, kind = rows[rid]
        if (code, verdict, kind) != (doc["enterprise"]["credit_code"],
                                     doc["verdict"], doc["kind"]):
            mismatched.append(rid)
        want = pl.expected_findings(doc)
        if want is not None:
            got = findings.get(rid, 0)
            doubled += max(0, got - want)
            if got < want:
                short.append((rid, got, want))
    if mismatched:
        L.fail("stored rows differ from what was sent: %s" % mismatched[:5])
    if short:
        L.fail("results with fewer findings than FAIL items: %s" % short[:5])
    # Records stored that no producer acknowledged.
    sent_ids = set(L.docs) | {rid for f in L.spool_files for rid in f.invalid} \
        | set(L.gw_invalid)
    unacked = sorted(rid for rid in sent_ids if rid in rows and
                     rid not in acked and rid not in L.gw_abandoned)
    if L.gw_abandoned:
        L.note("%d records given up after a 503, %d of them stored anyway"
               % (len(L.gw_abandoned),
                  sum(1 for rid in L.gw_abandoned if rid in rows)))
        doubled += sum(max(0, rows[rid][0] - 1) for rid in L.gw_abandoned
                       if rid in rows)
    if unacked:
        L.fail("stored but never acknowledged (rejected ones included): %s"
               % unacked[:5])
    # Undecodable messages.
    g_ok = 0
    garbage_at = set()
    for p, o, payload in L.garbage:
        garbage_at.add((p, o))
        got = rejected.get((p, o), [])
        doubled += max(0, len(got) - 1)
        if got and got[0] == payload.hex():
            g_ok += 1
        else:
            L.fail("undecodable message at %d/%d: %s in ql.rejected_record"
                   % (p, o, "not" if not got else "different bytes"))
    for (p, o) in rejected:
        if hw_before.get(p, 0) <= o < hw_after.get(p, 0) and \
                (p, o) not in garbage_at:
            L.fail("ql.rejected_record holds %d/%d, which is no test garbage"
                   % (p, o))
    r.doubled = doubled
    r.invalid, r.reported = invalid, reported
    r.garbage, r.garbage_ok = len(L.garbage), g_ok
    r.garbage_list = list(L.garbage)
    appended = sum(hw_after[p] - hw_before.get(p, 0) for p in hw_after)
    r.copies = appended - len(L.garbage) - sum(1 for rid in sent_ids
                                               if rid in rows)
    r.acked_ids = acked | L.gw_abandoned  # what may be stored
    r.notes = list(L.notes)
    r.failures = list(L.failures)
    r.skipped = None
    return r


# ---------------------------------------------------------------------------


def run_phase(P, F):
    L = P.new_phase(F.name, SPOOL_N, GW_N, per_file=PER_FILE,
                    bad_files=F.bad_files)
    L.abandon = F.abandon
    hw_before = P.watermarks()
    L.marks = P.log_marks()
    t0 = now()

    def at(t):
        d = t0 + t - now()
        if d > 0:
            time.sleep(d)
    print("-- %s" % F.label, flush=True)
    threads = P.stream(L, F.seconds)
    try:
        F.run(P, L, at)
    except Exception as e:
        L.fail("injecting the fault: %s\n%s" % (e, traceback.format_exc()))
    finally:
        if F.cleanup:
            try:
                F.cleanup(P)
            except Exception as e:
                L.fail("undoing the fault: %s" % e)
    P.finish_stream(L, threads)
    if F.after:
        F.after(P, L)
    P.check_daemons(L)
    P.drain(L)
    hw_after = P.watermarks()
    if F.bit:
        n, what = F.bit(P, L)
        L.note(what)
        if not n:
            L.fail("the fault did not reach the pipeline: " + what)
    # Under -DSANITIZE=address,undefined the daemons' reports land in their
    # logs; any is a defect, whether or not the daemon survived it.
    for line in sorted(set(re.findall(SANITIZER, P.logs_since(L.marks),
                                      re.M))):
        L.fail("sanitizer: " + line)
    r = check_phase(P, L, hw_before, hw_after)
    r.label = F.label
    r.seconds = now() - t0
    status = "FAIL" if r.failures else "ok"
    print("   %s in %.1f s: sent %d, acknowledged %d, stored %d, lost %d, "
          "doubled %d%s" % (status, r.seconds, r.sent, r.acked, r.stored,
                            r.lost, r.doubled,
                            "; " + "; ".join(r.notes) if r.notes else ""),
          flush=True)
    for f in r.failures:
        print("   FAIL: " + f, flush=True)
    return r


def skipped_row(F, reason):
    """The table's row of a fault that was not run."""
    r = Row()
    r.name, r.label, r.skipped = F.name, F.label, reason
    r.sent = r.acked = r.stored = r.lost = r.doubled = 0
    r.invalid = r.reported = r.garbage = r.garbage_ok = r.copies = 0
    r.garbage_list, r.acked_ids, r.notes, r.failures = [], set(), [], []
    return r


def final_checks(P, rows):
    """Across all phases: nothing stored that nobody acknowledged, every
    undecodable message in ql.rejected_record and on the dead-letter topic,
    offsets at the high watermarks, every daemon stops cleanly."""
    failures = []
    allowed = set().union(*(r.acked_ids for r in rows)) if rows else set()
    stored, _, rejected = db_state()
    extra = sorted(set(stored) - allowed)
    if extra:
        failures.append("%d rows no producer acknowledged: %s"
                        % (len(extra), extra[:5]))
    garbage = [g for r in rows for g in r.garbage_list]
    if len(rejected) != len(garbage):
        failures.append("ql.rejected_record has %d rows for %d undecodable "
                        "messages" % (len(rejected), len(garbage)))
    hw = P.watermarks()
    st = P.stored_offsets()
    if any(st.get(p, 0) != h for p, h in hw.items()):
        failures.append("stored offsets %s, high watermarks %s" % (st, hw))
    dlq = consume_all(P.brokers, DLQ, expect=None, timeout=30)
    sources = set()
    for _, _, headers in dlq:
        h = dict(headers or [])
        try:
            sources.add((int(h["source.partition"]), int(h["source.offset"])))
        except (KeyError, ValueError):
            pass
    missing = [(p, o) for p, o, _ in garbage if (p, o) not in sources]
    if missing:
        failures.append("undecodable messages not on the dead-letter topic: %s"
                        % missing[:5])
    marks = P.log_marks()
    for p in [P.spool, P.gateway] + P.triages:
        if not p.alive():
            failures.append("%s not running at the end (status %s)"
                            % (p.name, p.proc.returncode))
            continue
        rc = p.term(60)
        if rc != 0:
            failures.append("%s: exit status %s after SIGTERM; log tail:\n%s"
                            % (p.name, rc, p.text()[-1500:]))
    for line in sorted(set(re.findall(SANITIZER, P.logs_since(marks), re.M))):
        failures.append("sanitizer, at exit: " + line)
    return failures, len(dlq)


def table(rows):
    head = ["fault", "sent", "acked", "stored", "lost", "doubled",
            "rejected reported", "undecodable stored", "copies", "result"]
    lines = []
    for r in rows:
        result = "skipped" if r.skipped else ("FAIL" if r.failures else "ok")
        lines.append([r.label, str(r.sent), str(r.acked), str(r.stored),
                      str(r.lost), str(r.doubled),
                      "%d/%d" % (r.reported, r.invalid),
                      "%d/%d" % (r.garbage_ok, r.garbage), str(r.copies),
                      result])
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(head, widths)))]
    out.append("  ".join("-" * w for w in widths))
    for l in lines:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(l, widths))))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated fault names")
    ap.add_argument("--except", dest="but",
                    help="comma-separated fault names not to run")
    ap.add_argument("--list", action="store_true", help="list the faults")
    args = ap.parse_args()
    if args.list:
        for F in FAULTS:
            print("%-20s %s" % (F.name, F.label))
        return 0
    specs = FAULTS
    for opt, keep in ((args.only, True), (args.but, False)):
        if not opt:
            continue
        want = opt.split(",")
        unknown = set(want) - {F.name for F in FAULTS}
        if unknown:
            ap.error("unknown faults: %s" % ", ".join(sorted(unknown)))
        specs = [F for F in specs if (F.name in want) == keep]

    tmp = TempDir()
    os.chmod(tmp.path, 0o755)
    started = now()
    P = None
    ok = False
    skipped = None
    try:
        ref = os.path.join(tmp.path, "spool.jsonl")
        n = len(specs)
        args_s = ["--lab", pl.SPOOL_LAB, "--seed", "81", "--count",
                  str(SPOOL_N * n), "--nonconforming", "0.25"]
        spool.simlab(ref, *args_s, lab=None)
        spool.simlab(os.path.join(tmp.path, "spool.csv"), *args_s,
                     "--format", "csv", lab=None)
        gref = os.path.join(tmp.path, "gateway.jsonl")
        spool.simlab(gref, "--seed", "82", "--count", str(GW_N * n),
                     "--nonconforming", "0.25", lab=pl.GATEWAY_LAB)
        header, csv_rows = pl.read_csv_reports(os.path.join(tmp.path,
                                                            "spool.csv"))
        P = pl.Pipeline(tmp.path, spool.read_jsonl(ref), spool.read_jsonl(gref),
                        header, csv_rows)
        print("faults: dev broker %s, %s; %d fault(s), %d+%d records each; "
              "work dir %s" % (P.brokers, P.mount_note, n, SPOOL_N, GW_N,
                               tmp.path), flush=True)
        cannot = [F for F in specs if F.needs_tmpfs and not P.mounted]
        if cannot and len(cannot) == len(specs):
            ok = True
            skip("%s: %s" % (", ".join(F.name for F in cannot), P.mount_note))
        P.start()
        print("pipeline up in %.1f s" % (now() - started), flush=True)
        rows = []
        for spec in specs:
            if spec in cannot:
                rows.append(skipped_row(spec, "not run: " + P.mount_note))
                print("-- %s: skipped, %s" % (spec.label, P.mount_note), flush=True)
            else:
                rows.append(run_phase(P, spec))
        final, ndlq = final_checks(P, rows)
        print()
        print(table(rows))
        print()
        bad = [r for r in rows if r.failures]
        for r in bad:
            for f in r.failures:
                print("FAIL [%s]: %s" % (r.label, f))
        for f in P.start_failures:
            print("FAIL [start]: %s" % f)
        for f in final:
            print("FAIL [end]: %s" % f)
        print("%d fault(s) in %.0f s; dead-letter topic: %d messages"
              % (len(rows), now() - started, ndlq))
        ok = not bad and not final and not P.start_failures
        if ok and cannot:
            skipped = "%s: %s" % (", ".join(F.name for F in cannot), P.mount_note)
    except Exception:
        traceback.print_exc()
        ok = False
    finally:
        if P:
            for p in P.all_procs:
                if p.alive():
                    p.kill()
            P.broker.stop()
        if not ok and P:
            if P.mounted:  # what the spool directory held, for the post-mortem
                shutil.copytree(P.spool_dir, os.path.join(tmp.path, "spool-at-end"),
                                dirs_exist_ok=True)
            print("logs kept in %s" % tmp.path, file=sys.stderr)
        if P:
            P.unmount()
        if ok or not P:
            tmp.cleanup()
    if not ok:
        return 1
    if skipped:
        skip("not run here: " + skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
