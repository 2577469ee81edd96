-- Rechecks and retests (schemas/sql/012_derive_steps.sql): a passing RECHECK clears, a failing one
-- escalates (PUBLIC_ANNOUNCEMENT, SECOND_RECHECK), a second failure adds
-- SUSPEND_REORGANIZE, a third LICENSE_REVOCATION; a passing RETEST voids, a
-- failing one confirms; a recheck that arrives before its original waits in
-- ql.unmatched_recheck and is applied when the original arrives.
BEGIN;
\ir fixtures.sql
SELECT plan(39);
-- The test's own login may see every region in the views.
INSERT INTO ql.officer VALUES (current_user, '');

-- Passing recheck.
SELECT qltest.put('LAB1:R1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB1:R1C', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-05-10 18:00+00', 'LAB1:R1');
SELECT is((qltest.case_of('LAB1:R1')).status, 'CLEARED', 'a passing recheck clears the case');
SELECT is((qltest.case_of('LAB1:R1')).cleared_at, '2024-05-10 18:00+00'::timestamptz,
          'cleared_at = the recheck''s reported_at');
SELECT is((SELECT status || ' by ' || resolved_by FROM ql.finding WHERE result_id = 'LAB1:R1'),
          'CLEARED by LAB1:R1C', 'its findings are CLEARED by the recheck');
SELECT is((qltest.action((qltest.case_of('LAB1:R1')).case_no, 'RECHECK')).status, 'DONE',
          'the RECHECK action is done by the recheck result');
SELECT is((qltest.action((qltest.case_of('LAB1:R1')).case_no, 'RECTIFY')).status, 'CANCELLED',
          'actions no longer needed are CANCELLED');
SELECT is((SELECT count(*) FROM ql.case_board WHERE credit_code = '914403001922038216'), 0::bigint,
          'a cleared case leaves the board');

-- Failing recheck: escalation.
SELECT qltest.put('LAB1:E1', '91520000214434146R', 'SUPERVISION', 'NONCONFORMING', '2024-01-10 02:00+00');
SELECT qltest.put('LAB1:E2', '91520000214434146R', 'RECHECK', 'NONCONFORMING', '2024-03-20 17:00+00', 'LAB1:E1');
SELECT is((qltest.case_of('LAB1:E1')).status, 'ESCALATED', 'a failed recheck escalates the case');
SELECT is((qltest.case_of('LAB1:E1')).priority, 'P1', 'an escalated case is P1');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'PUBLIC_ANNOUNCEMENT')).due_date,
          '2024-03-21'::date, 'PUBLIC_ANNOUNCEMENT due the failed recheck''s date (CST)');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'SECOND_RECHECK')).due_date,
          '2024-06-19'::date, 'SECOND_RECHECK due +90 from the announcement');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'SECOND_RECHECK')).not_before,
          '2024-05-20'::date, 'SECOND_RECHECK not before +60');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'SECOND_RECHECK')).about_result_id,
          'LAB1:E2', 'escalation steps are about the failed recheck');
SELECT is((SELECT status FROM ql.finding WHERE result_id = 'LAB1:E1'), 'OPEN',
          'the findings stay open');
SELECT is((SELECT effect FROM ql.followup_link WHERE result_id = 'LAB1:E2'), 'FAILED',
          'the recheck is recorded as FAILED');
-- Second failure, referring to the first recheck (the chain leads back).
SELECT qltest.put('LAB1:E3', '91520000214434146R', 'RECHECK', 'NONCONFORMING', '2024-06-01 02:00+00', 'LAB1:E2');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'SUSPEND_REORGANIZE')).due_date,
          '2024-06-01'::date, 'a failed second recheck adds SUSPEND_REORGANIZE');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'SECOND_RECHECK')).status, 'DONE',
          'the second recheck carried out SECOND_RECHECK');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'LICENSE_REVOCATION')).action_id, NULL,
          'no license revocation yet');
-- Third failure.
SELECT qltest.put('LAB1:E4', '91520000214434146R', 'RECHECK', 'REFUSED', '2024-09-01 02:00+00', 'LAB1:E1');
SELECT is((qltest.action((qltest.case_of('LAB1:E1')).case_no, 'LICENSE_REVOCATION')).due_date,
          '2024-09-01'::date, 'a further failure (a refused recheck counts) adds LICENSE_REVOCATION');
SELECT is(qltest.plan_of((qltest.case_of('LAB1:E1')).case_no),
          ARRAY['STOP_SALE@2024-01-10', 'OBJECTION_WINDOW@2024-01-25', 'DIAGNOSIS@2024-02-09',
                'RECTIFY@2024-03-10', 'PUBLIC_ANNOUNCEMENT@2024-03-21', 'RECHECK@2024-03-25',
                'SUSPEND_REORGANIZE@2024-06-01', 'SECOND_RECHECK@2024-06-19',
                'REORGANIZE_RECHECK@2024-08-30', 'LICENSE_REVOCATION@2024-09-01'],
          'the whole escalated plan');
SELECT is((qltest.case_of('LAB1:E1')).status, 'ESCALATED', 'still ESCALATED');
-- And finally a pass.
SELECT qltest.put('LAB1:E5', '91520000214434146R', 'RECHECK', 'CONFORMING', '2024-12-01 02:00+00', 'LAB1:E4');
SELECT is((qltest.case_of('LAB1:E1')).status, 'CLEARED', 'a later passing recheck clears it');

-- Passing retest voids.
SELECT qltest.put('LAB1:V1', '91440300708461136T', 'SUPERVISION', 'NONCONFORMING', '2024-04-01 02:00+00');
SELECT qltest.put('LAB1:V2', '91440300708461136T', 'RETEST', 'CONFORMING', '2024-04-12 02:00+00', 'LAB1:V1');
SELECT is((SELECT status || ' by ' || resolved_by FROM ql.finding WHERE result_id = 'LAB1:V1'),
          'VOIDED by LAB1:V2', 'a passing retest voids the findings');
SELECT is((qltest.case_of('LAB1:V1')).status, 'CLEARED', 'a case with only voided findings is CLEARED');
SELECT is((qltest.action((qltest.case_of('LAB1:V1')).case_no, 'OBJECTION_WINDOW')).status, 'DONE',
          'the retest closes the objection window');

-- Failing retest confirms; a later passing retest does not void (复检 is final).
SELECT qltest.put('LAB1:C1', '91110108551385082Q', 'SUPERVISION', 'NONCONFORMING', '2024-04-01 02:00+00');
SELECT qltest.put('LAB1:C2', '91110108551385082Q', 'RETEST', 'NONCONFORMING', '2024-04-12 02:00+00', 'LAB1:C1');
SELECT is((SELECT status || ' confirmed by ' || confirmed_by FROM ql.finding WHERE result_id = 'LAB1:C1'),
          'OPEN confirmed by LAB1:C2', 'a failing retest confirms the findings');
SELECT is((qltest.case_of('LAB1:C1')).status, 'OPEN', 'the case stays OPEN (not escalated)');
SELECT qltest.put('LAB1:C3', '91110108551385082Q', 'RETEST', 'CONFORMING', '2024-04-20 02:00+00', 'LAB1:C1');
SELECT is((SELECT status FROM ql.finding WHERE result_id = 'LAB1:C1'), 'OPEN',
          'a second retest changes nothing');
SELECT is((SELECT effect || '/' || reason FROM ql.followup_link WHERE result_id = 'LAB1:C3'),
          'IGNORED/LATER_RETEST', 'and is recorded as ignored');

-- A recheck before its original.
SELECT qltest.put('LAB1:U2', '91350200MA2YJ1XR9G', 'RECHECK', 'CONFORMING', '2024-07-01 02:00+00', 'LAB1:U1');
SELECT results_eq($$SELECT result_id, refers_to, reason FROM ql.unmatched_recheck$$,
                  $$VALUES ('LAB1:U2', 'LAB1:U1', 'ORIGINAL_MISSING')$$,
                  'a recheck whose original has not arrived waits in ql.unmatched_recheck');
SELECT is((SELECT count(*) FROM ql.enforcement_case WHERE credit_code = '91350200MA2YJ1XR9G'), 0::bigint,
          'and opens nothing');
SELECT qltest.put('LAB1:U1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING', '2024-04-01 02:00+00');
SELECT is((SELECT count(*) FROM ql.unmatched_recheck), 0::bigint, 'the original arrives: no longer waiting');
SELECT is((qltest.case_of('LAB1:U1')).status, 'CLEARED', 'the waiting recheck is applied: CLEARED');
SELECT is((qltest.case_of('LAB1:U1')).cleared_at, '2024-07-01 02:00+00'::timestamptz,
          'cleared at the recheck''s date');

-- A second recheck that refers to a first recheck still missing waits too.
SELECT qltest.put('LAB1:W1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING', '2025-03-01 02:00+00');
SELECT qltest.put('LAB1:W3', '91350200MA2YJ1XR9G', 'RECHECK', 'CONFORMING', '2025-09-01 02:00+00', 'LAB1:W2');
SELECT is((SELECT result_id FROM ql.unmatched_recheck), 'LAB1:W3', 'a broken chain waits');
SELECT is((qltest.case_of('LAB1:W1')).status, 'OPEN', 'the case is still open');
SELECT qltest.put('LAB1:W2', '91350200MA2YJ1XR9G', 'RECHECK', 'NONCONFORMING', '2025-05-10 02:00+00', 'LAB1:W1');
SELECT is((qltest.case_of('LAB1:W1')).status, 'CLEARED',
          'the missing link arrives: the failed then the passing recheck are applied');
SELECT is((SELECT count(*) FROM ql.plan_action
            WHERE original_result_id = 'LAB1:W1' AND action = 'PUBLIC_ANNOUNCEMENT'), 1::bigint,
          'including the escalation of the failure in between');

-- A recheck referring to another enterprise's result never applies.
SELECT qltest.put('LAB1:X1', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-08-01 02:00+00', 'LAB1:V1');
SELECT is((SELECT reason FROM ql.unmatched_recheck WHERE result_id = 'LAB1:X1'), 'OTHER_ENTERPRISE',
          'a recheck of another enterprise''s result is listed, not applied');
SELECT is((SELECT status FROM ql.finding WHERE result_id = 'LAB1:V1'), 'VOIDED',
          'the other enterprise is untouched');

SELECT * FROM finish();
ROLLBACK;
