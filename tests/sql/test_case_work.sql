-- Case work (015_case_work): the legal acts officers record and the
-- deadlines the law counts from them, with and without each act; revocation;
-- the objection period (never overdue, late filing flagged); Art. 44's
-- notice to the producer's bureau; no STOP_SALE for a refusal; sellers' and
-- producers' measures; voided results out of the 清零 counts; closing by a
-- supervisor and reopening; the refusals of ql.record_act; the readable
-- detail views; order independence with acts recorded between results; and
-- that an officer of another district sees and changes nothing.
BEGIN;
\ir fixtures.sql
SELECT plan(79);

CREATE ROLE qltap_cw_huli LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_cw_boss LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_cw_siming LOGIN IN ROLE ql_officer;
INSERT INTO ql.officer (login, region_prefix, supervisor)
VALUES ('qltap_cw_huli', '350206', false), ('qltap_cw_boss', '350206', true),
       ('qltap_cw_siming', '350203', true);
SELECT format('GRANT TEMPORARY ON DATABASE %I TO qltap_cw_huli, qltap_cw_boss, qltap_cw_siming',
              current_database()) \gexec

-- A document with a manufacturer (region) and the enterprise's role.
CREATE FUNCTION qltest.made(doc jsonb, role text, maker_region text) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN jsonb_set(jsonb_set(doc, '{enterprise,role}', to_jsonb(role)), '{manufacturer}',
                 CASE WHEN maker_region IS NULL THEN 'null'::jsonb
                      ELSE jsonb_build_object('credit_code', NULL, 'name', '某制造有限公司',
                                              'region_code', maker_region, 'address', '制造路1号') END);

-- The plan of a case as "ACTION@due[~]" (~: provisional), in due order.
CREATE FUNCTION qltest.dated(case_no text) RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT p.action || '@' || p.due_date || CASE WHEN p.provisional THEN '~' ELSE '' END
               FROM ql.plan_action p WHERE p.case_no = dated.case_no
              ORDER BY p.due_date, p.action);

SELECT ql.set_bureau('350206');

-- A 湖里 seller, nonconforming on 2024-03-01 (CST), product made in 泉州.
SELECT qltest.feed(qltest.made(qltest.doc('LAB1:A1', '914403001922038216', 'SUPERVISION',
                                          'NONCONFORMING', '2024-03-01 02:00+00'),
                               'SELLER', '350500'));
SELECT case_no AS a FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:A1' \gset

-- Without acts: every date estimated from the report date; those counted
-- from an act are provisional.
SELECT is(qltest.dated(:'a'),
          ARRAY['STOP_SALE@2024-03-01', 'NOTIFY_PRODUCER_BUREAU@2024-03-16',
                'OBJECTION_WINDOW@2024-03-16~', 'DIAGNOSIS@2024-03-31', 'RECTIFY@2024-04-30~',
                'RECHECK@2024-05-15~'],
          'no act yet: the estimates, provisional where an act is awaited');
SELECT ok((qltest.action(:'a', 'RECTIFY')).measure LIKE '%销售者：%进货查验%',
          'a seller''s RECTIFY names shelf removal, purchase checks and suppliers');
SELECT ok((qltest.action(:'a', 'NOTIFY_PRODUCER_BUREAU')).basis LIKE '%第四十四条第二款%',
          'the notice to the producer''s bureau cites Art. 44 ¶2');
SELECT ok((qltest.action(:'a', 'DIAGNOSIS')).basis NOT LIKE '%第四十六条%'
          AND (qltest.action(:'a', 'DIAGNOSIS')).basis LIKE '%清零%',
          'DIAGNOSIS cites the campaign''s practice, not Art. 46');

SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT is((SELECT objection FROM ql.case_board WHERE case_no = :'a'), 'NOT_SERVED',
          'before SERVED the objection state is NOT_SERVED');
-- Refusals.
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SERVED', ql.cst_today() + 1)$$, :'a'),
                 '22023', NULL, 'a date in the future is refused');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SERVED', '2024-02-28')$$, :'a'),
                 '22023', NULL, 'a date before the result is refused');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'RECTIFY_ORDER', '2024-03-10')$$, :'a'),
                 '22023', NULL, 'an order to rectify without its 文号 is refused');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'ANNOUNCED', '2024-03-10')$$, :'a'),
                 '55000', NULL, 'an announcement before any failed recheck is refused');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SERVED', '2024-03-10', until_date => '2024-05-01')$$, :'a'),
                 '22023', NULL, 'an end of period on another act than a suspension is refused');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'STOPPED', '2024-03-10')$$, :'a'),
                 '22023', NULL, 'an unknown act is refused');
-- SERVED and RECTIFY_ORDER.
SELECT lives_ok(format($$SELECT ql.record_act(%L, 'SERVED', '2024-03-08', note => '直接送达')$$, :'a'),
                'SERVED recorded');
SELECT lives_ok(format($$SELECT ql.record_act(%L, 'RECTIFY_ORDER', '2024-03-20', '湖市监责改〔2024〕12号')$$, :'a'),
                'RECTIFY_ORDER recorded with its 文号');
RESET SESSION AUTHORIZATION;
SELECT is(qltest.dated(:'a'),
          ARRAY['STOP_SALE@2024-03-01', 'NOTIFY_PRODUCER_BUREAU@2024-03-16',
                'OBJECTION_WINDOW@2024-03-23', 'DIAGNOSIS@2024-03-31', 'RECTIFY@2024-05-19',
                'RECHECK@2024-06-03'],
          'the window counts from service (+15), RECTIFY (+60) and RECHECK (+75) from the order, firm');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT is((SELECT count(*) FROM ql.overdue_actions WHERE case_no = :'a' AND action = 'OBJECTION_WINDOW'),
          0::bigint, 'the objection period is never an overdue action');
SELECT cmp_ok((SELECT count(*) FROM ql.overdue_actions WHERE case_no = :'a'), '>', 0::bigint,
              'while the tasks of 2024 are overdue (so the check above could fail)');
SELECT is((SELECT overdue FROM ql.case_plan WHERE case_no = :'a' AND action = 'OBJECTION_WINDOW'), false,
          'case_plan does not call the period overdue either');
SELECT results_eq(format($$SELECT objection, objection_title FROM ql.case_board WHERE case_no = %L$$, :'a'),
                  $$VALUES ('CLOSED', '异议复检期已过')$$, 'served in 2024: the window is closed now');
SELECT isnt((SELECT next_action FROM ql.case_board WHERE case_no = :'a'), 'OBJECTION_WINDOW',
            'the period is never the next action');
-- A late objection is accepted and flagged.
SELECT lives_ok(format($$SELECT ql.record_act(%L, 'OBJECTION_FILED', '2024-03-30')$$, :'a'),
                'an objection filed after the window is accepted');
SELECT is((SELECT objection FROM ql.case_board WHERE case_no = :'a'), 'FILED_LATE', 'and flagged late');
-- A second order: the latest counts.  Revoking it brings the first back.
SELECT ql.record_act(:'a', 'RECTIFY_ORDER', '2024-04-01', '湖市监责改〔2024〕15号') AS second_order \gset
RESET SESSION AUTHORIZATION;
SELECT is((qltest.action(:'a', 'RECTIFY')).due_date, date '2024-05-31', 'the latest order counts');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.revoke_act(%s, '')$$, :second_order), '22023', NULL,
                 'a revocation needs a reason');
SELECT lives_ok(format($$SELECT ql.revoke_act(%s, '文号录入错误')$$, :second_order), 'the second order revoked');
SELECT throws_ok(format($$SELECT ql.revoke_act(%s, '再次')$$, :second_order), '55000', NULL,
                 'an act is revoked once');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'RECTIFY'$$, :'a'),
                  $$VALUES (date '2024-05-19', false)$$, 'the first order counts again');
SELECT results_eq(format($$SELECT revoked_by, revoke_reason FROM ql.case_act WHERE act_id = %s$$, :second_order),
                  $$VALUES ('qltap_cw_huli', '文号录入错误')$$, 'the revoked act is kept, with who and why');
-- Revoking every order makes the dates provisional again.
SELECT act_id AS first_order FROM ql.case_act
 WHERE case_no = :'a' AND act = 'RECTIFY_ORDER' AND revoked_at IS NULL \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT ql.revoke_act(:first_order, '决定撤回');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'RECTIFY'$$, :'a'),
                  $$VALUES (date '2024-04-30', true)$$, 'no order in force: estimated again');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT ql.record_act(:'a', 'RECTIFY_ORDER', '2024-03-20', '湖市监责改〔2024〕12号');
RESET SESSION AUTHORIZATION;

-- A failed recheck: ANNOUNCED dates SECOND_RECHECK (+60 .. +90).
SELECT qltest.put('LAB1:A2', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-06-01 02:00+00', 'LAB1:A1');
SELECT results_eq(format($$SELECT not_before, due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'SECOND_RECHECK'$$, :'a'),
                  $$VALUES (date '2024-07-31', date '2024-08-30', true)$$,
                  'before the announcement: from the failed recheck, provisional');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT lives_ok(format($$SELECT ql.record_act(%L, 'ANNOUNCED', '2024-06-20')$$, :'a'), 'ANNOUNCED recorded');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SUSPENSION_ORDER', '2024-06-25', until_date => '2024-08-25')$$, :'a'),
                 '55000', NULL, 'a suspension before a second failed recheck is refused');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT not_before, due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'SECOND_RECHECK'$$, :'a'),
                  $$VALUES (date '2024-08-19', date '2024-09-18', false)$$,
                  'after it: not before +60, due +90 from the announcement (Art. 48), firm');
SELECT results_eq(format($$SELECT status, done_by, note FROM ql.plan_action
                           WHERE case_no = %L AND action = 'PUBLIC_ANNOUNCEMENT'$$, :'a'),
                  $$VALUES ('DONE', 'qltap_cw_huli', '公告 2024-06-20')$$,
                  'the recorded announcement carries out PUBLIC_ANNOUNCEMENT');
-- A second failure: SUSPENSION_ORDER dates REORGANIZE_RECHECK.
SELECT qltest.put('LAB1:A3', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-09-10 02:00+00', 'LAB1:A1');
SELECT results_eq(format($$SELECT due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'REORGANIZE_RECHECK'$$, :'a'),
                  $$VALUES (date '2024-12-09', true)$$,
                  'REORGANIZE_RECHECK estimated from the second failed recheck, provisional');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SUSPENSION_ORDER', '2024-09-15')$$, :'a'),
                 '22023', NULL, 'a suspension without the end of its period is refused');
SELECT lives_ok(format($$SELECT ql.record_act(%L, 'SUSPENSION_ORDER', '2024-09-15', '湖市监停〔2024〕3号', until_date => '2024-11-15')$$, :'a'),
                'SUSPENSION_ORDER recorded with its period');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT due_date, provisional FROM ql.plan_action
                           WHERE case_no = %L AND action = 'REORGANIZE_RECHECK'$$, :'a'),
                  $$VALUES (date '2024-11-15', false)$$, 'due on the end of the period, firm');
SELECT is((SELECT status FROM ql.plan_action WHERE case_no = :'a' AND action = 'SUSPEND_REORGANIZE'),
          'DONE', 'and the recorded suspension carries out SUSPEND_REORGANIZE');
-- A third failure: LICENSE_REVOCATION; completing it requests the close.
SELECT qltest.put('LAB1:A4', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-11-20 02:00+00', 'LAB1:A1');
SELECT action_id AS revocation FROM ql.plan_action WHERE case_no = :'a' AND action = 'LICENSE_REVOCATION' \gset
SELECT action_id AS notify FROM ql.plan_action WHERE case_no = :'a' AND action = 'NOTIFY_PRODUCER_BUREAU' \gset
SELECT action_id AS window FROM ql.plan_action WHERE case_no = :'a' AND action = 'OBJECTION_WINDOW' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.complete_action(%s, 'x')$$, :window), '55000', NULL,
                 'the objection period is not completed like a task');
SELECT ql.complete_action(:revocation, '已提请登记机关吊销');
SELECT results_eq(format($$SELECT status, close_requested FROM ql.case_board WHERE case_no = %L$$, :'a'),
                  $$VALUES ('ESCALATED', true)$$, 'the case waits for the close to be confirmed');
SELECT throws_ok(format($$SELECT ql.confirm_close(%L)$$, :'a'), '42501', NULL,
                 'an officer who is no supervisor cannot confirm');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qltap_cw_siming;
SELECT throws_ok(format($$SELECT ql.confirm_close(%L)$$, :'a'), '42501', NULL,
                 'nor a supervisor of another district');
RESET SESSION AUTHORIZATION;
UPDATE ql.officer SET supervisor = true WHERE login = 'qltap_cw_huli';
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.confirm_close(%L)$$, :'a'), '42501', NULL,
                 'nor the supervisor who completed the revocation');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qltap_cw_boss;
SELECT lives_ok(format($$SELECT ql.confirm_close(%L)$$, :'a'), 'a second supervisor confirms');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT status, status = 'CLOSED' FROM ql.enforcement_case WHERE case_no = %L$$, :'a'),
                  $$VALUES ('CLOSED', true)$$, 'the case is CLOSED');
SELECT is((SELECT status FROM ql.plan_action WHERE action_id = :notify), 'CANCELLED',
          'its pending actions are cancelled');
-- Reopening the revocation withdraws the close.
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.reopen_action(%s, '')$$, :revocation), '22023', NULL,
                 'a reopening needs a reason');
SELECT lives_ok(format($$SELECT ql.reopen_action(%s, '登记机关退回')$$, :revocation),
                'the revocation reopened');
RESET SESSION AUTHORIZATION;
SELECT results_eq(format($$SELECT c.status, p.status FROM ql.enforcement_case c
                           JOIN ql.plan_action p ON p.case_no = c.case_no
                          WHERE c.case_no = %L AND p.action_id = %s$$, :'a', :revocation),
                  $$VALUES ('ESCALATED', 'PENDING')$$, 'the case is open again, the action pending');
SELECT ok(EXISTS (SELECT 1 FROM ql.officer_log WHERE what = 'REOPEN' AND detail LIKE '%登记机关退回%'
                     AND detail LIKE '%qltap_cw_huli%'),
          'the reopening is logged with who had completed it');
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT throws_ok(format($$SELECT ql.reopen_action(%s, '无')$$, :revocation), '55000', NULL,
                 'an action no officer completed is not reopened');
RESET SESSION AUTHORIZATION;

-- Art. 44: only a seller's product made outside the bureau's region.
SELECT qltest.feed(qltest.made(qltest.doc('LAB1:B1', '91520000214434146R', 'SUPERVISION',
                                          'NONCONFORMING', '2024-03-01 02:00+00'),
                               'SELLER', '350206'),
                   qltest.made(qltest.doc('LAB1:C1', '91440300708461136T', 'SUPERVISION',
                                          'NONCONFORMING', '2024-03-01 02:00+00'),
                               'PRODUCER', NULL));
SELECT case_no AS b FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:B1' \gset
SELECT case_no AS c FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:C1' \gset
SELECT is((qltest.action(:'b', 'NOTIFY_PRODUCER_BUREAU')).action_id, NULL,
          'made inside the bureau''s region: no notice');
SELECT is((qltest.action(:'c', 'NOTIFY_PRODUCER_BUREAU')).action_id, NULL, 'a producer: no notice');
SELECT ok((qltest.action(:'c', 'RECTIFY')).measure LIKE '%生产者：%生产工艺%'
          AND (qltest.action(:'c', 'RECTIFY')).measure NOT LIKE '%销售者：%',
          'a producer''s RECTIFY is about production');
SELECT ql.set_bureau('3505');
SELECT is((qltest.action(:'a', 'NOTIFY_PRODUCER_BUREAU')).action_id, NULL,
          'a 泉州 bureau: the 泉州 product needs no notice (the bureau''s region re-derives every plan)');
SELECT isnt((qltest.action(:'b', 'NOTIFY_PRODUCER_BUREAU')).action_id, NULL,
            'and the 湖里 product does');
SELECT ql.set_bureau('350206');

-- A refusal: ENFORCEMENT_REFERRAL (PQL Art. 56), no STOP_SALE (Art. 45).
SELECT qltest.put('LAB1:D1', '91110108551385082Q', 'SUPERVISION', 'REFUSED', '2024-03-01 02:00+00', items => '[]');
SELECT case_no AS d FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:D1' \gset
SELECT is((qltest.action(:'d', 'STOP_SALE')).action_id, NULL, 'no STOP_SALE for a refusal');
SELECT ok((qltest.action(:'d', 'ENFORCEMENT_REFERRAL')).basis LIKE '%第五十六条%',
          'the refusal goes to ENFORCEMENT_REFERRAL under PQL Art. 56');

-- A result voided by a retest leaves the 清零 counts.
SELECT qltest.put('LAB1:E1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB1:E2', '91350200MA2YJ1XR9G', 'RETEST', 'CONFORMING', '2024-03-10 02:00+00', 'LAB1:E1');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:E1'), 'VOIDED', 'voided by the retest');
SELECT count(*) FILTER (WHERE status <> 'VOIDED') AS nc_huli FROM ql.nonconformity
 WHERE region_code = '350206' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT results_eq($$SELECT nonconforming, voided FROM ql.zero_out_summary WHERE region_code = '350206'$$,
                  format($$VALUES (%s::bigint, 1::bigint)$$, :nc_huli),
                  'zero_out_summary: the voided result is not nonconforming');
SELECT is((SELECT sum(nonconforming) FROM ql.zero_out_progress
            WHERE region_code = '350206' AND category = 'LABELING'),
          (SELECT count(*)::numeric FROM ql.case_findings
            WHERE region_code = '350206' AND category = 'LABELING' AND status <> 'VOIDED'),
          'zero_out_progress: nor per category');

-- What officers read.
SELECT results_eq(format($$SELECT product_name, batch, item_name, requirement, measured, severity_title,
                                  manufacturer_region, region_name
                             FROM ql.case_findings WHERE case_no = %L$$, :'a'),
                  $$VALUES ('塑胶玩具', '20240101', '标志', '应符合标准要求', '不符合', '一般不合格',
                            '350500', '湖里区')$$,
                  'case_findings: product, batch, item, requirement, measured value, titles');
SELECT ok((SELECT count(*) FROM ql.case_history WHERE case_no = :'a' AND event = 'ACT') >= 6
          AND EXISTS (SELECT 1 FROM ql.case_history WHERE case_no = :'a' AND event = 'FOLLOWUP'
                         AND event_title LIKE '复查不合格%')
          AND EXISTS (SELECT 1 FROM ql.case_history WHERE case_no = :'a' AND event = 'REVOKE_ACT'
                         AND caused_by = 'qltap_cw_huli'),
          'case_history: acts, revocations and the rechecks, with who or which lab');
SELECT ok((SELECT bool_and(happened_at IS NOT NULL) FROM ql.case_history WHERE case_no = :'a'),
          'every history entry has its time');
SELECT results_eq(format($$SELECT order_doc_no, ordered_on, rectify_due, rectify_provisional
                             FROM ql.case_notice WHERE case_no = %L$$, :'c'),
                  $$VALUES (NULL::text, NULL::date, date '2024-04-30', true)$$,
                  'case_notice before an order: the deadline is provisional');
RESET SESSION AUTHORIZATION;

-- Due soon and the workload, today: a result reported 55 days ago has its
-- (estimated) RECTIFY due in 5 days.
SELECT qltest.put('LAB1:F1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING',
                  ((ql.cst_today() - 55)::text || ' 02:00+00')::timestamptz);
SELECT case_no AS f FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:F1' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT results_eq(format($$SELECT action, days_left, provisional FROM ql.due_soon
                           WHERE case_no = %L ORDER BY due_date$$, :'f'),
                  $$VALUES ('RECTIFY', 5, true)$$, 'due_soon: RECTIFY within 7 days, provisional');
SELECT ql.assign_case(:'f', 'qltap_cw_boss');
SELECT results_eq($$SELECT open_cases, due_soon_actions FROM ql.officer_workload WHERE officer = 'qltap_cw_boss'$$,
                  $$VALUES (1::bigint, 1::bigint)$$, 'officer_workload: the assigned officer''s case');
RESET SESSION AUTHORIZATION;

-- Quality statistics: results counted as they are stored, nonconforming
-- without the voided one.
SELECT count(*) AS sup, count(*) FILTER (WHERE verdict = 'REFUSED') AS ref
  FROM ql.inspection_result
 WHERE kind = 'SUPERVISION' AND record -> 'enterprise' ->> 'region_code' = '350206' \gset
SELECT count(*) AS ncq FROM ql.nonconformity
 WHERE verdict = 'NONCONFORMING' AND status <> 'VOIDED' AND region_code = '350206' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT results_eq($$SELECT sum(results)::int, sum(refused)::int, sum(nonconforming)::int
                      FROM ql.quality_stats WHERE region_code = '350206'$$,
                  format($$VALUES (%s, %s, %s)$$, :sup, :ref, :ncq),
                  'quality_stats: results, refusals, nonconforming (not voided)');
SELECT is((SELECT count(*) FROM ql.quality_stats WHERE quarter = '2024-Q1' AND level_title = '区级监督抽查'
              AND stage_title = '流通领域' AND product_category = '儿童用品'), 1::bigint,
          'quality_stats: by quarter of sampling, level, stage and category');
RESET SESSION AUTHORIZATION;

-- An officer of another district sees and changes nothing.
SET SESSION AUTHORIZATION qltap_cw_siming;
SELECT is((SELECT count(*) FROM ql.case_findings) + (SELECT count(*) FROM ql.case_history)
          + (SELECT count(*) FROM ql.due_soon) + (SELECT count(*) FROM ql.officer_workload)
          + (SELECT count(*) FROM ql.quality_stats) + (SELECT count(*) FROM ql.case_notice)
          + (SELECT count(*) FROM ql.case_acts), 0::bigint,
          'the 思明 officer sees no row of 湖里 in any new view');
SELECT throws_ok(format($$SELECT ql.record_act(%L, 'SERVED', '2024-03-09')$$, :'b'), '42501', NULL,
                 'records no act on a 湖里 case');
SELECT throws_ok(format($$SELECT ql.revoke_act(%s, '越权')$$, :first_order), '42501', NULL,
                 'revokes no 湖里 act');
SELECT throws_ok(format($$SELECT ql.reopen_action(%s, '越权')$$, :revocation), '42501', NULL,
                 'reopens no 湖里 action');
SELECT throws_ok('SELECT * FROM ql.case_act', '42501', NULL, 'reads no table');
RESET SESSION AUTHORIZATION;

-- Order independence with acts recorded between results.  Enterprise X:
-- an original, the order recorded, then an earlier original of the same
-- case arrives late, then a passing recheck of the first.  Enterprise Y:
-- the same results in order, the order recorded last.  Same plans.
SELECT qltest.put('LAB1:X2', 'QLTEST00000000000X', 'SUPERVISION', 'NONCONFORMING', '2025-02-10 02:00+00');
SELECT case_no AS x FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:X2' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT ql.record_act(:'x', 'RECTIFY_ORDER', '2025-02-20', '湖市监责改〔2025〕1号');
RESET SESSION AUTHORIZATION;
SELECT qltest.put('LAB1:X1', 'QLTEST00000000000X', 'SUPERVISION', 'NONCONFORMING', '2025-02-01 02:00+00');
SELECT qltest.put('LAB1:X3', 'QLTEST00000000000X', 'RECHECK', 'CONFORMING', '2025-04-01 02:00+00', 'LAB1:X2');
SELECT is((SELECT opening_result_id FROM ql.enforcement_case WHERE case_no = :'x'), 'LAB1:X1',
          'X: the late earlier original opens the case, under the same number');
SELECT qltest.put('LAB1:Y1', 'QLTEST00000000000Y', 'SUPERVISION', 'NONCONFORMING', '2025-02-01 02:00+00');
SELECT qltest.put('LAB1:Y2', 'QLTEST00000000000Y', 'SUPERVISION', 'NONCONFORMING', '2025-02-10 02:00+00');
SELECT case_no AS y FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:Y1' \gset
SET SESSION AUTHORIZATION qltap_cw_huli;
SELECT ql.record_act(:'y', 'RECTIFY_ORDER', '2025-02-20', '湖市监责改〔2025〕1号');
RESET SESSION AUTHORIZATION;
SELECT qltest.put('LAB1:Y3', 'QLTEST00000000000Y', 'RECHECK', 'CONFORMING', '2025-04-01 02:00+00', 'LAB1:Y2');
CREATE FUNCTION qltest.shape(case_no text) RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT right(p.about_result_id, 1) || ':' || p.action || '@' || p.due_date || '/'
                    || p.status || CASE WHEN p.provisional THEN '~' ELSE '' END
               FROM ql.plan_action p WHERE p.case_no = shape.case_no
              ORDER BY 1);
SELECT is(qltest.shape(:'x'), qltest.shape(:'y'), 'X and Y have the same plan');
SELECT ok(qltest.shape(:'x') @> ARRAY['1:RECTIFY@2025-04-21/PENDING', '2:RECTIFY@2025-04-21/CANCELLED'],
          'the order counts for both originals (both reported before it)');
SELECT is(ql.retriage(ARRAY['QLTEST00000000000X', 'QLTEST00000000000Y'], true), 2, 'a full re-triage of both');
SELECT is(qltest.shape(:'x'), qltest.shape(:'y'), 'still the same');

SELECT * FROM finish();
ROLLBACK;
