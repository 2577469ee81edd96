-- The tables and views officers read (docs/officers.md): their columns, and what the officers'
-- views answer -- next action and overdue flags on the board, days overdue,
-- 清零 progress per region and category, the dossier.
BEGIN;
\ir fixtures.sql
SELECT plan(31);
INSERT INTO ql.officer VALUES (current_user, '');

-- Columns the design names (each view may have more).
CREATE FUNCTION qltest.missing_columns(rel text, wanted text[]) RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT w FROM unnest(wanted) w
              WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns c
                                 WHERE c.table_schema = 'ql' AND c.table_name = rel
                                   AND c.column_name = w));
SELECT is(qltest.missing_columns('finding', '{finding_id,result_id,case_no,item_name,severity,category,status}'),
          '{}'::text[], 'ql.finding has the design''s columns');
SELECT is(qltest.missing_columns('enforcement_case', '{case_no,credit_code,status,priority,officer,opened_at,cleared_at}'),
          '{}'::text[], 'ql.enforcement_case has the design''s columns');
SELECT is(qltest.missing_columns('plan_action', '{action_id,case_no,action,due_date,status,measure,basis}'),
          '{}'::text[], 'ql.plan_action has the design''s columns');
SELECT is(qltest.missing_columns('officer', '{login,region_prefix}'), '{}'::text[],
          'ql.officer has the design''s columns');
SELECT is(qltest.missing_columns('case_board', '{case_no,credit_code,enterprise_name,region_code,status,priority,open_findings,serious_findings,next_action,next_due,overdue,officer,opened_at}'),
          '{}'::text[], 'ql.case_board has the design''s columns');
SELECT is(qltest.missing_columns('case_plan', '{case_no,diagnosis,measures,action_id,action,due_date,basis,measure,status}'),
          '{}'::text[], 'ql.case_plan has diagnosis, measures and dated actions with basis and status');
SELECT is(qltest.missing_columns('overdue_actions', '{action_id,case_no,enterprise_name,action,due_date,days_overdue}'),
          '{}'::text[], 'ql.overdue_actions has the design''s columns');
SELECT is(qltest.missing_columns('zero_out_progress', '{region_code,category,nonconforming,cleared,open,clear_rate}'),
          '{}'::text[], 'ql.zero_out_progress has the design''s columns');
SELECT is(qltest.missing_columns('enterprise_dossier', '{credit_code,enterprise_name,region_code,results,nonconforming,last_result_id,last_reported_at,open_case}'),
          '{}'::text[], 'ql.enterprise_dossier has results, nonconforming, last result, open case');
SELECT is(qltest.missing_columns('unmatched_recheck', '{result_id,refers_to,credit_code,reported_at,reason}'),
          '{}'::text[], 'ql.unmatched_recheck lists the waiting rechecks');
SELECT has_index('ql', 'plan_action', 'plan_action_case_idx', 'plan actions are found by case');
SELECT has_index('ql', 'enforcement_case', 'enforcement_case_open_idx', 'open cases are indexed');

-- One enterprise in 湖里 with three nonconforming results: R1 (labels and
-- a hazardous substance; cleared by a recheck), R2 (labels), R3 refused.
-- An old date, so that its pending actions are overdue.
SELECT qltest.feed(
    qltest.doc('LAB1:Z1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-01-10 02:00+00',
               items => jsonb_build_array(qltest.item('标志', 'B', false, 'FAIL'),
                                          qltest.item('甲醛含量', 'A', true, 'FAIL'))),
    qltest.doc('LAB1:Z1C', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-03-20 02:00+00', 'LAB1:Z1'),
    qltest.doc('LAB1:Z2', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-02-01 02:00+00',
               items => jsonb_build_array(qltest.item('使用说明', 'B', false, 'FAIL'))),
    qltest.doc('LAB1:Z3', '914403001922038216', 'SUPERVISION', 'REFUSED', '2024-02-15 02:00+00',
               items => '[]'),
    qltest.doc('LAB1:Z4', '914403001922038216', 'SUPERVISION', 'CONFORMING', '2024-04-01 02:00+00'));

SELECT results_eq(
    $$SELECT category, nonconforming::int, cleared::int, open::int, clear_rate
        FROM ql.zero_out_progress WHERE region_code = '350206' ORDER BY category$$,
    $$VALUES ('HAZARDOUS_SUBSTANCE', 1, 1, 0, 1.0000), ('LABELING', 2, 1, 1, 0.5000),
             ('REFUSAL', 1, 0, 1, 0.0000)$$,
    'zero_out_progress: results per region and category, cleared, open, rate');
SELECT results_eq(
    $$SELECT nonconforming::int, cleared::int, open::int, clear_rate FROM ql.zero_out_summary
       WHERE region_code = '350206'$$,
    $$VALUES (3, 1, 2, 0.3333)$$, 'zero_out_summary counts each result once');

SELECT results_eq(
    $$SELECT status, priority, open_findings, serious_findings FROM ql.case_board$$,
    $$VALUES ('OPEN', 'P1', 2, 1)$$,
    'case_board: one open case with its counts (the refusal is SERIOUS)');
SELECT results_eq(
    $$SELECT next_action, next_due, overdue FROM ql.case_board$$,
    $$VALUES ('STOP_SALE', '2024-02-01'::date, true)$$,
    'case_board: the earliest pending action, its date, overdue');
SELECT is((SELECT enterprise_name FROM ql.case_board), '厦门8216商贸有限公司', 'with the enterprise name');

SELECT ok((SELECT bool_and(days_overdue = ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date - due_date
                           AND days_overdue > 0)
             FROM ql.overdue_actions),
          'overdue_actions: days overdue counted from today in China');
SELECT set_eq($$SELECT action FROM ql.overdue_actions WHERE case_no = (SELECT case_no FROM ql.case_board)$$,
              $$SELECT action FROM ql.plan_action
                 WHERE case_no = (SELECT case_no FROM ql.case_board) AND status = 'PENDING'
                   AND action <> 'OBJECTION_WINDOW'$$,
              'every pending action of the old case is overdue, but the objection period');
SELECT is((SELECT count(*) FROM ql.overdue_actions
            WHERE action_id = (SELECT action_id FROM ql.plan_action
                                WHERE about_result_id = 'LAB1:Z1' AND action = 'RECHECK')), 0::bigint,
          'the recheck that was carried out is not overdue');

SELECT results_eq(
    $$SELECT results::int, nonconforming::int, last_result_id, last_verdict, open_case_status,
             open_findings, cases::int
        FROM ql.enterprise_dossier WHERE credit_code = '914403001922038216'$$,
    $$VALUES (5, 3, 'LAB1:Z4', 'CONFORMING', 'OPEN', 2, 1)$$,
    'enterprise_dossier: results, nonconforming, last result, open case');

SELECT is((SELECT count(DISTINCT diagnosis) FROM ql.case_plan), 1::bigint,
          'case_plan: one diagnosis per case, on every action');
SELECT matches((SELECT diagnosis FROM ql.case_plan LIMIT 1),
               '标志标识与使用说明（LABELING）：(标志、使用说明|使用说明、标志)',
               'the diagnosis lists each category with its failed items');
SELECT results_eq(
    $$SELECT category, failed_items, findings::int, open_findings::int FROM ql.case_diagnosis
       ORDER BY category$$,
    $$VALUES ('HAZARDOUS_SUBSTANCE', '甲醛含量', 1, 0), ('LABELING', '使用说明、标志', 2, 1),
             ('REFUSAL', '拒绝接受监督抽查（拒检）', 1, 1)$$,
    'case_diagnosis: per category the failed items and open findings');
SELECT ok((SELECT bool_and(measures ~ '①') FROM ql.case_diagnosis),
          'each category carries measures the enterprise can act on');

-- With the refusal cleared by a recheck only R2's GENERAL finding is left;
-- the case stays P1: R2 came 22 days after R1, a repeat offence.
SELECT qltest.put('LAB1:Z3C', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-05-01 02:00+00', 'LAB1:Z3');
SELECT results_eq($$SELECT priority, open_findings, serious_findings FROM ql.case_board$$,
                  $$VALUES ('P1', 1, 0)$$, 'one GENERAL finding left, still P1 as a repeat offender');
SELECT qltest.put('LAB1:Z2C', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-05-02 02:00+00', 'LAB1:Z2');
SELECT is((SELECT count(*) FROM ql.case_board), 0::bigint, 'all cleared: the board is empty');
SELECT results_eq(
    $$SELECT sum(nonconforming)::int, sum(cleared)::int, sum(open)::int FROM ql.zero_out_summary$$,
    $$VALUES (3, 3, 0)$$, '清零: every nonconforming result cleared');
SELECT is((SELECT count(*) FROM ql.overdue_actions), 0::bigint, 'and nothing is overdue');
SELECT is((SELECT status FROM ql.enforcement_case), 'CLEARED', 'the case is CLEARED');
SELECT ok((SELECT cleared_at FROM ql.enforcement_case) = '2024-05-02 02:00+00',
          'cleared when the last finding was');

SELECT * FROM finish();
ROLLBACK;
