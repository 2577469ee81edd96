-- 020_triage_faults: what ql-triage records when a promise could not be
-- kept as is, so that an administrator can see it and act.
--
-- expired_range: offsets of the results topic that Kafka's retention
-- deleted before this consumer group stored them.  ql-triage finds them on
-- assignment (the log starts past the stored offset, or past 0 when
-- nothing is stored), after a fetch found its offset out of range (the
-- first record after the gap), and before it goes back to the stored
-- offsets after a fault.  Each range is inserted by the transaction that
-- moves the partition's stored offset past it, so it is recorded exactly
-- once per group.  last_offset is the last offset lost; the partition goes
-- on at last_offset + 1.
--
-- derivation_failure: enterprises whose case derivation (ql.retriage)
-- failed.  Their results are stored all the same (the derivation runs
-- under a savepoint); ql-triage retries the derivation with the
-- enterprise's next results and, when idle, after 5 s, 10 s, 20 s, ... (at
-- most an hour) since the last attempt, and marks the row resolved once
-- one succeeds.  One row per enterprise: a new failure after a resolved
-- one starts a new episode (first_failed_at, attempts = 1).

CREATE TABLE ql.expired_range (
    group_id         text NOT NULL,
    topic            text NOT NULL,
    kafka_partition  integer NOT NULL,
    first_offset     bigint NOT NULL CHECK (first_offset >= 0),
    last_offset      bigint NOT NULL,
    records          bigint GENERATED ALWAYS AS (last_offset - first_offset + 1) STORED,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, kafka_partition, first_offset),
    CHECK (last_offset >= first_offset)
);

CREATE TABLE ql.derivation_failure (
    credit_code      text PRIMARY KEY,
    error            text NOT NULL,
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    last_failed_at   timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    resolved_at      timestamptz
);
-- The open ones: what a batch resolves and what the idle retry looks for.
CREATE INDEX derivation_failure_open_idx ON ql.derivation_failure (credit_code)
    WHERE resolved_at IS NULL;

-- The triage daemon records both (INSERT; ON CONFLICT DO NOTHING needs no
-- more), counts and resolves derivation failures (SELECT for the
-- upsert's and the updates' conditions, UPDATE of the columns it sets),
-- and deletes nothing.
GRANT INSERT ON ql.expired_range TO ql_triage;
GRANT SELECT, INSERT ON ql.derivation_failure TO ql_triage;
GRANT UPDATE (error, first_failed_at, last_failed_at, attempts, resolved_at)
    ON ql.derivation_failure TO ql_triage;
