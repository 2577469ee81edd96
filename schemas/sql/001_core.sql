-- 001_core: the triage core's tables.  Results land here exactly once; the
-- consumer's Kafka offsets live beside them so that a batch's rows and its
-- offsets commit in one transaction; records that cannot be decoded or
-- validated are kept whole in rejected_record.
--
-- Applied by ql-triage under an advisory lock, recorded in
-- ql.schema_migrations (created by the daemon itself before any migration).

CREATE SCHEMA IF NOT EXISTS ql;

CREATE TABLE ql.inspection_result (
    result_id        text PRIMARY KEY,
    credit_code      text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('SUPERVISION', 'RECHECK', 'RETEST')),
    verdict          text NOT NULL CHECK (verdict IN ('CONFORMING', 'NONCONFORMING', 'REFUSED')),
    refers_to        text,
    reported_at      timestamptz NOT NULL,
    record           jsonb NOT NULL,
    kafka_topic      text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspection_result_enterprise_idx
    ON ql.inspection_result (credit_code, reported_at, result_id);
CREATE INDEX inspection_result_refers_to_idx
    ON ql.inspection_result (refers_to) WHERE refers_to IS NOT NULL;

-- The consumer group's position per partition: the offset of the next record
-- to read.  Updated compare-and-set (WHERE next_offset = the offset this
-- consumer started its batch from), so a consumer that lost the partition in
-- a rebalance cannot overwrite the new owner's progress.
CREATE TABLE ql.consumer_offset (
    group_id         text NOT NULL,
    topic            text NOT NULL,
    kafka_partition  integer NOT NULL,
    next_offset      bigint NOT NULL CHECK (next_offset >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, kafka_partition)
);

-- Dead letters, with the original bytes.  A record listed here was also
-- sent to the DLQ topic.  redriven_at marks a record re-submitted after its
-- cause was fixed.
CREATE TABLE ql.rejected_record (
    rejected_id      bigserial PRIMARY KEY,
    topic            text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    key              bytea,
    payload          bytea,
    error            text NOT NULL,
    result_id        text,
    rejected_at      timestamptz NOT NULL DEFAULT now(),
    redriven_at      timestamptz,
    UNIQUE (topic, kafka_partition, kafka_offset)
);
