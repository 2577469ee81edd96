-- Order independence (schemas/sql/012_derive_steps.sql): the same results fed in different orders
-- and batchings -- in time order, backwards (every recheck before its
-- original), shuffled with duplicates -- give the same board, plans,
-- findings and progress; only case numbers may differ.  Officer inputs are
-- re-applied whatever the order.
BEGIN;
\ir fixtures.sql
SELECT plan(18);
INSERT INTO ql.officer VALUES (current_user, '');

-- A deterministic pseudo-random data set: 60 enterprises in three districts,
-- supervision results over two years, about a quarter nonconforming or
-- refused, with retests, rechecks (passing, failing, chained) and a few
-- rechecks whose original never arrives.
CREATE FUNCTION qltest.rnd(VARIADIC k text[]) RETURNS double precision
LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(array_to_string(k, '|')), 1, 8))::bit(32)::bigint / 4294967296.0;

CREATE TABLE qltest.ds (doc jsonb NOT NULL);
DO $$
DECLARE
    items text[] := ARRAY['邻苯二甲酸酯增塑剂', '小零件', '锐利边缘', '标识和使用说明', '导体电阻',
                          '绝缘厚度', '标志', '泄漏电流', '电气强度', '接地措施', '温升', '甲醛含量',
                          'pH值', '纤维含量', '稳定性', '制动性能', '阻燃性能', '某未知项目'];
    regions text[] := ARRAY['350206', '350203', '350211'];
    e int; k int; code text; region text; t timestamptz; id text; its jsonb; v text;
    r double precision; prev text; chk timestamptz; n int;
BEGIN
    FOR e IN 1..60 LOOP
        code := '91350200ORD' || lpad(e::text, 7, '0');
        region := regions[1 + e % 3];
        FOR k IN 1..8 LOOP
            t := timestamptz '2023-01-01 00:00+00' + (k * 80 + (e * 7) % 40) * interval '1 day'
                 + ((e * 37 + k * 11) % 24) * interval '1 hour';
            id := 'ORD:' || e || '-' || k;
            r := qltest.rnd(id, 'verdict');
            v := CASE WHEN r < 0.22 THEN 'NONCONFORMING' WHEN r < 0.26 THEN 'REFUSED' ELSE 'CONFORMING' END;
            SELECT jsonb_agg(qltest.item(items[1 + (floor(qltest.rnd(id, i::text) * 18))::int],
                                         CASE WHEN qltest.rnd(id, 'imp', i::text) < 0.4 THEN 'A' ELSE 'B' END,
                                         qltest.rnd(id, 'saf', i::text) < 0.3,
                                         CASE WHEN v = 'NONCONFORMING' AND (i = 1 OR qltest.rnd(id, 'f', i::text) < 0.3)
                                              THEN 'FAIL' ELSE 'PASS' END))
              INTO its FROM generate_series(1, 4) i;
            IF v = 'REFUSED' THEN its := '[]'; END IF;
            INSERT INTO qltest.ds VALUES (qltest.doc(id, code, 'SUPERVISION', v, t, NULL, its, region));
            CONTINUE WHEN v = 'CONFORMING';
            IF qltest.rnd(id, 'retest') < 0.3 THEN
                INSERT INTO qltest.ds VALUES (qltest.doc(id || 'T', code, 'RETEST',
                    CASE WHEN qltest.rnd(id, 'retest-pass') < 0.5 THEN 'CONFORMING' ELSE 'NONCONFORMING' END,
                    t + interval '10 days', id, NULL, region));
            END IF;
            -- Up to four rechecks; each refers to the original or (half of
            -- the time) to the recheck before it.
            prev := id; chk := t + interval '70 days';
            FOR n IN 1..4 LOOP
                EXIT WHEN qltest.rnd(id, 'recheck', n::text) < 0.15;
                v := CASE WHEN qltest.rnd(id, 'pass', n::text) < 0.55 THEN 'CONFORMING' ELSE 'NONCONFORMING' END;
                INSERT INTO qltest.ds VALUES (qltest.doc(id || 'R' || n, code, 'RECHECK', v, chk,
                    CASE WHEN qltest.rnd(id, 'chain', n::text) < 0.5 THEN prev ELSE id END, NULL, region));
                EXIT WHEN v = 'CONFORMING';
                prev := id || 'R' || n; chk := chk + interval '75 days';
            END LOOP;
        END LOOP;
        IF e % 20 = 0 THEN
            INSERT INTO qltest.ds VALUES (qltest.doc('ORD:' || e || '-lost', code, 'RECHECK', 'CONFORMING',
                timestamptz '2024-06-01 00:00+00', 'ORD:never-' || e, NULL, region));
        END IF;
    END LOOP;
END $$;

SELECT cmp_ok((SELECT count(*) FROM qltest.ds WHERE doc ->> 'kind' <> 'SUPERVISION'), '>', 60::bigint,
              'the data set has plenty of rechecks and retests');

-- An officer's completion recorded up front: it must be applied whatever
-- the order in which its action comes to exist.
INSERT INTO ql.action_completion
SELECT doc ->> 'result_id', 'STOP_SALE', '已停售', 'qltap_order', '2025-01-01 00:00+00'
  FROM qltest.ds WHERE doc ->> 'verdict' = 'NONCONFORMING' AND doc ->> 'kind' = 'SUPERVISION'
 ORDER BY doc ->> 'result_id' LIMIT 3;

-- Everything the triage derives, minus case numbers and row ids (cases are
-- named by their opening result).
CREATE FUNCTION qltest.snapshot() RETURNS SETOF text
LANGUAGE sql AS $$
    WITH cn AS (SELECT case_no, opening_result_id AS opening FROM ql.enforcement_case)
    SELECT 'case ' || row(c.credit_code, c.opening_result_id, c.status, c.priority, c.officer,
                          c.opened_at, c.escalated_at, c.cleared_at, c.cleared_by,
                          c.repeat_offender, c.open_findings, c.serious_findings, c.next_action,
                          c.next_due, c.next_due_provisional, c.close_requested)::text
      FROM ql.enforcement_case c
    UNION ALL
    SELECT 'finding ' || row(f.result_id, f.item_no, cn.opening, f.item_name, f.severity, f.category,
                             f.status, f.confirmed_by, f.resolved_by, f.resolved_at, f.region_code)::text
      FROM ql.finding f LEFT JOIN cn USING (case_no)
    UNION ALL
    SELECT 'plan ' || row(cn.opening, p.credit_code, p.action, p.about_result_id, p.original_result_id,
                          p.due_date, p.not_before, p.status, p.measure, p.basis, p.done_by_result,
                          p.done_at, p.done_by, p.note)::text
      FROM ql.plan_action p JOIN cn USING (case_no)
    UNION ALL
    SELECT 'board ' || row(cn.opening, b.credit_code, b.enterprise_name, b.region_code, b.status,
                           b.priority, b.open_findings, b.serious_findings, b.next_action, b.next_due,
                           b.overdue, b.officer, b.opened_at)::text
      FROM ql.case_board b JOIN cn USING (case_no)
    UNION ALL
    SELECT 'progress ' || z::text FROM ql.zero_out_progress z
    UNION ALL
    SELECT 'dossier ' || row(d.credit_code, d.enterprise_name, d.region_code, d.results,
                             d.nonconforming, d.last_result_id, cn.opening, d.open_case_status,
                             d.open_case_priority, d.open_findings, d.cases, d.cleared_cases)::text
      FROM ql.enterprise_dossier d LEFT JOIN cn ON cn.case_no = d.open_case
    UNION ALL
    SELECT 'unmatched ' || row(u.result_id, u.reason)::text FROM ql.unmatched_recheck u
    UNION ALL
    SELECT 'link ' || l::text FROM ql.followup_link l
$$;

CREATE FUNCTION qltest.reset() RETURNS void
LANGUAGE sql AS $$
    SET CONSTRAINTS ALL IMMEDIATE; -- the deferred checks pending block TRUNCATE
    TRUNCATE ql.inspection_result, ql.enterprise, ql.finding, ql.enforcement_case, ql.plan_action,
             ql.followup_link, ql.nonconformity, ql.triage_pending, ql.case_counter, ql.case_assignment,
             ql.officer_log CASCADE;
    SET CONSTRAINTS ALL DEFERRED;
$$;

-- Feed the data set in the given order, in batches of the given size.
CREATE FUNCTION qltest.replay(order_sql text, batch int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    docs jsonb[];
BEGIN
    EXECUTE format('SELECT array_agg(doc ORDER BY o) FROM (%s) x(doc, o)', order_sql) INTO docs;
    FOR i IN 0 .. (cardinality(docs) - 1) / batch LOOP
        PERFORM qltest.feed(VARIADIC docs[i * batch + 1 : (i + 1) * batch]);
    END LOOP;
END $$;

-- 1. In time order, batches of 13.
SELECT qltest.replay($$SELECT doc, row((doc ->> 'reported_at')::timestamptz, doc ->> 'result_id')
                        FROM qltest.ds$$, 13);
CREATE TEMP TABLE snap_time AS SELECT * FROM qltest.snapshot() s;
SELECT array_agg(case_no ORDER BY opening_result_id) AS numbers_time FROM ql.enforcement_case \gset

SELECT cmp_ok((SELECT count(*) FROM ql.enforcement_case WHERE status = 'CLEARED'), '>', 5::bigint,
              'time order: several cases cleared');
SELECT cmp_ok((SELECT count(*) FROM ql.enforcement_case WHERE status = 'ESCALATED'), '>', 0::bigint,
              'time order: some cases escalated');
SELECT cmp_ok((SELECT count(*) FROM ql.plan_action WHERE action = 'KEY_SUPERVISION'), '>', 0::bigint,
              'time order: some repeat offenders');
SELECT cmp_ok((SELECT count(*) FROM ql.finding WHERE status = 'VOIDED'), '>', 0::bigint,
              'time order: some findings voided');
SELECT is((SELECT count(*) FROM ql.unmatched_recheck), 3::bigint,
          'time order: the three rechecks without an original wait');
SELECT is((SELECT count(*) FROM ql.plan_action WHERE done_by = 'qltap_order'), 3::bigint,
          'time order: the recorded completions are applied');
-- The case summary stored by ql.derive_case_summary (017) is what the plan
-- says: the earliest pending action that is not the objection period.
SELECT is((SELECT count(*) FROM ql.enforcement_case c
            LEFT JOIN LATERAL (
                  SELECT p.action, p.due_date FROM ql.plan_action p
                    JOIN ql.action_kind k ON k.action = p.action
                   WHERE p.case_no = c.case_no AND p.status = 'PENDING'
                     AND p.action <> 'OBJECTION_WINDOW'
                   ORDER BY p.due_date, k.sort_order, p.action_id LIMIT 1) n ON true
           WHERE (c.next_action, c.next_due) IS DISTINCT FROM (n.action, n.due_date)),
          0::bigint, 'time order: every case''s stored next action is its plan''s');
SELECT cmp_ok((SELECT count(*) FROM ql.enforcement_case WHERE next_action IS NOT NULL), '>', 10::bigint,
              'and there are next actions to compare');

-- 2. Backwards, batches of 7: every recheck arrives before its original.
SELECT qltest.reset();
SELECT qltest.replay($$SELECT doc, row((doc ->> 'reported_at')::timestamptz, doc ->> 'result_id')
                        FROM qltest.ds ORDER BY 2 DESC$$, 7);
SELECT bag_eq('SELECT * FROM qltest.snapshot()', 'SELECT * FROM snap_time',
              'backwards: the same cases, findings, plans, board, progress and dossier');

-- 3. Shuffled, with every fifth result sent twice, batches of 31.
SELECT qltest.reset();
SELECT qltest.replay($$SELECT doc, md5(doc ->> 'result_id' || n) FROM qltest.ds,
                              generate_series(1, 2) n
                        WHERE n = 1 OR abs(hashtext(doc ->> 'result_id')) % 5 = 0$$, 31);
SELECT bag_eq('SELECT * FROM qltest.snapshot()', 'SELECT * FROM snap_time',
              'shuffled with duplicates: the same');

-- 4. One result at a time, by enterprise then newest first.
SELECT qltest.reset();
SELECT qltest.replay($$SELECT doc, row(doc -> 'enterprise' ->> 'credit_code',
                                       (doc ->> 'reported_at')::timestamptz, doc ->> 'result_id')
                        FROM qltest.ds ORDER BY 2 DESC$$, 1);
SELECT bag_eq('SELECT * FROM qltest.snapshot()', 'SELECT * FROM snap_time',
              'one by one, newest first: the same');
SELECT isnt(ARRAY(SELECT case_no FROM ql.enforcement_case ORDER BY opening_result_id),
            :'numbers_time'::text[], 'case numbers are the one thing that may differ');

-- 5. In bulk (016, 022), as ql-triage stores a backlog: shuffled,
-- batches of 29 stored with only their enterprises registered, the queue
-- derived in chunks of 10 enterprises after every fifth batch, and to the
-- end after the last.
SELECT qltest.reset();
CREATE FUNCTION qltest.replay_bulk(batch int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    docs jsonb[];
    part jsonb[];
BEGIN
    SELECT array_agg(doc ORDER BY md5(doc ->> 'result_id' || 'bulk')) INTO docs FROM qltest.ds;
    FOR i IN 0 .. (cardinality(docs) - 1) / batch LOOP
        part := docs[i * batch + 1 : (i + 1) * batch];
        INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, refers_to,
                                          reported_at, record, kafka_topic, kafka_partition,
                                          kafka_offset)
        SELECT d ->> 'result_id', d -> 'enterprise' ->> 'credit_code', d ->> 'kind', d ->> 'verdict',
               d ->> 'refers_to', (d ->> 'reported_at')::timestamptz, d, 'inspection.results', 0,
               nextval('qltest.kafka_offset')
          FROM unnest(part) AS d
        ON CONFLICT (result_id) DO NOTHING;
        PERFORM ql.register_queued(ARRAY(SELECT DISTINCT d -> 'enterprise' ->> 'credit_code'
                                                FROM unnest(part) AS d));
        IF i % 5 = 4 THEN
            PERFORM ql.retriage_pending(10);
        END IF;
    END LOOP;
    WHILE ql.retriage_pending(10) > 0 LOOP
    END LOOP;
END $$;
SELECT qltest.replay_bulk(29);
SELECT is((SELECT count(*) FROM ql.triage_pending), 0::bigint, 'bulk: the queue is drained');
SELECT bag_eq('SELECT * FROM qltest.snapshot()', 'SELECT * FROM snap_time',
              'bulk: the same as in time order, batch by batch');

-- 6. A full re-triage of everything changes nothing.
SELECT cmp_ok(ql.retriage_all(), '>', 0, 'retriage_all recomputes every enterprise with results to act on');
SELECT bag_eq('SELECT * FROM qltest.snapshot()', 'SELECT * FROM snap_time',
              'and the state is unchanged');

-- The snapshot is not trivially equal: it changes when a result is added.
SELECT qltest.put('ORD:extra', '91350200ORD0000001', 'SUPERVISION', 'NONCONFORMING', '2025-06-01 00:00+00');
SELECT ok(EXISTS (SELECT * FROM qltest.snapshot() EXCEPT ALL SELECT * FROM snap_time),
          'one more result changes the snapshot');

SELECT * FROM finish();
ROLLBACK;
