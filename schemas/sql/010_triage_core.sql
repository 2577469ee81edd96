-- 010_triage_core: what ql-triage needs beyond 001_core.
--
-- rejected_record.kind says why a record was rejected, so an operator can
-- tell the records worth re-driving (the cause was on our side: a schema
-- version not yet deployed, a value PostgreSQL refused) from a lab's
-- conflicting resend, which needs a person to decide which copy is right:
--   UNDECODABLE            not single-object Avro, or an unknown schema
--                          fingerprint, or a datum that does not decode
--   INVALID                decoded, but fails the record rules (README.md, "The record")
--   CONFLICTING_DUPLICATE  result_id already stored with different content
--   UNSTORABLE             PostgreSQL refused the row (e.g. a value out of
--                          a column's range)
-- `ql-triage --redrive` re-submits every kind except CONFLICTING_DUPLICATE.

ALTER TABLE ql.rejected_record
    ADD COLUMN kind text NOT NULL DEFAULT 'INVALID'
        CHECK (kind IN ('UNDECODABLE', 'INVALID', 'CONFLICTING_DUPLICATE',
                        'UNSTORABLE'));

-- The re-drive queue.
CREATE INDEX rejected_record_pending_idx ON ql.rejected_record (rejected_id)
    WHERE redriven_at IS NULL;
