-- The drain of the derivation queue (016, 021): ql-triage in bulk mode
-- stores results with only ql.register_enterprises and derives the queued
-- enterprises later with ql.pending_enterprises + ql.retriage.  The drain
-- takes every queued enterprise once, in chunks, and leaves an enterprise
-- whose derivation is failing (an open ql.derivation_failure) to the retry:
-- it stays queued, and is taken again once the failure is resolved.
BEGIN;
\ir fixtures.sql
SELECT plan(8);

-- Three enterprises stored as bulk mode stores them: rows, registration,
-- no derivation.
CREATE FUNCTION qltest.store_only(VARIADIC docs jsonb[]) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, refers_to,
                                      reported_at, record, kafka_topic, kafka_partition,
                                      kafka_offset)
    SELECT d ->> 'result_id', d -> 'enterprise' ->> 'credit_code', d ->> 'kind', d ->> 'verdict',
           d ->> 'refers_to', (d ->> 'reported_at')::timestamptz, d, 'inspection.results', 0,
           nextval('qltest.kafka_offset')
      FROM unnest(docs) AS d;
    RETURN ql.register_queued(ARRAY(SELECT DISTINCT d -> 'enterprise' ->> 'credit_code'
                                           FROM unnest(docs) AS d));
END $$;

SELECT qltest.store_only(
    qltest.doc('LAB1:D1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00'),
    qltest.doc('LAB1:D2', '91520000214434146R', 'SUPERVISION', 'NONCONFORMING', '2024-03-02 02:00+00'),
    qltest.doc('LAB1:D3', '91350200MA2XN0Q52Y', 'SUPERVISION', 'NONCONFORMING', '2024-03-03 02:00+00'));
SELECT is((SELECT count(*) FROM ql.enforcement_case), 0::bigint,
          'stored in bulk: no case yet, three results queued');

-- The second enterprise's derivation is failing.
INSERT INTO ql.derivation_failure (credit_code, error) VALUES ('91520000214434146R', 'boom');

SELECT is(ql.pending_enterprises(1), ARRAY['91350200MA2XN0Q52Y'],
          'chunks of one: the first queued enterprise in code order');
SELECT is(ql.retriage(ARRAY['91350200MA2XN0Q52Y']), 1, 'derived');
SELECT is(ql.pending_enterprises(10), ARRAY['914403001922038216'],
          'the next chunk: the failing enterprise is left to the retry');
SELECT is(ql.retriage(ARRAY['914403001922038216']), 1, 'derived');
SELECT is(ql.pending_enterprises(10), '{}'::text[],
          'nothing more for the drain while the failure is open');
SELECT is((SELECT count(*) FROM ql.triage_pending WHERE credit_code = '91520000214434146R'),
          1::bigint, 'its result stays queued');

UPDATE ql.derivation_failure SET resolved_at = now();
SELECT is(ql.pending_enterprises(10), ARRAY['91520000214434146R'],
          'resolved: the drain takes it again');

SELECT * FROM finish();
ROLLBACK;
