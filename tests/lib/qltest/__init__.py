"""qltest: the one helper package of the Python tests.

Every Python test (tests/integration/test_*.py, tests/faults/run_faults.py)
and the Python benchmarks import it; CTest puts tests/lib on PYTHONPATH
(tests/CMakeLists.txt), a benchmark adds it itself.  Nothing here imports
our C code's view of the data: records are encoded and decoded with
Python's own `avro`, topics read with confluent_kafka, the database read
with psql.

  report   fail / check / ok / skip: the one way a test says how it went;
           SKIP (77) is CTest's SKIP_RETURN_CODE for every Python test
  procs    temp dirs, free ports, wait_for, Daemon (one of our binaries as
           a child with its log), the Prometheus endpoints
  pg       the throwaway PostgreSQL tests/run provides (databases, SQL,
           counts, pg_ctl) and private clusters (Cluster)
  broker   ql-devbroker, producing, consuming, high watermarks
  codec    Avro single-object encoding, schemas, fingerprints
  uscc     valid enterprise credit codes (GB 32100)
  triage   ql-triage tests: Env (broker + database), documents, Triage
  board    ql-board tests: World (private cluster, fixtures), Board, Client
  spool    ql-spool tests: simlab files, topic records in normal form
  gateway  ql-gateway tests: Gateway, token files, documents
  faults   the fault suite's pipeline and ledger (tests/faults/)

Run under Debian's /usr/bin/python3 (its confluent_kafka and avro).
"""
import os

QL_BIN = os.environ.get("QL_BIN", "")
QL_SRC = os.environ.get("QL_SRC", "")
SCHEMA_DIR = os.environ.get("QL_SCHEMA_DIR", os.path.join(QL_SRC, "schemas/avro"))
SQL_DIR = os.path.join(QL_SRC, "schemas/sql")


def binary(name):
    """The path of one of our programs in the build under test."""
    return os.path.join(QL_BIN, name)

