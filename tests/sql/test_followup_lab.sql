-- Follow-ups from another lab (013_followup_lab): a recheck or retest from
-- a lab other than the original's applies only if the lab is registered in
-- ql.followup_lab (for any plan, or for the plan concerned) or an officer of
-- the region accepted it; any other waits with reason OTHER_LAB.  Whatever
-- the order of results, registrations and acceptances, the state is the
-- same.
BEGIN;
\ir fixtures.sql
SELECT plan(20);

CREATE ROLE qltap_fl_huli LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_fl_siming LOGIN IN ROLE ql_officer;
INSERT INTO ql.officer VALUES ('qltap_fl_huli', '350206'), ('qltap_fl_siming', '350203');
SELECT format('GRANT TEMPORARY ON DATABASE %I TO qltap_fl_huli, qltap_fl_siming',
              current_database()) \gexec

-- LAB1's original, a passing recheck by LAB2.
SELECT qltest.put('LAB1:F1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB2:F2', '914403001922038216', 'RECHECK', 'CONFORMING', '2024-05-01 02:00+00', 'LAB1:F1');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:F1'), 'OPEN',
          'another lab''s recheck does not clear the findings');
SELECT results_eq($$SELECT reason, effect FROM ql.followup_link WHERE result_id = 'LAB2:F2'$$,
                  $$VALUES ('OTHER_LAB', 'WAITING')$$, 'it waits, reason OTHER_LAB');
-- The original's own lab clears as before.
SELECT qltest.put('LAB1:G1', '91520000214434146R', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB1:G2', '91520000214434146R', 'RECHECK', 'CONFORMING', '2024-05-01 02:00+00', 'LAB1:G1');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:G1'), 'CLEARED',
          'the original''s lab clears its findings');

SET SESSION AUTHORIZATION qltap_fl_huli;
SELECT results_eq($$SELECT result_id, reason, lab_code FROM ql.unmatched_recheck$$,
                  $$VALUES ('LAB2:F2', 'OTHER_LAB', 'LAB2')$$,
                  'the officer sees it waiting, with its lab');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qltap_fl_siming;
SELECT throws_ok($$SELECT ql.accept_followup('LAB2:F2')$$, '42501', NULL,
                 'an officer of another district cannot accept it');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qltap_fl_huli;
SELECT throws_ok($$SELECT ql.accept_followup('LAB1:G2')$$, '55000', NULL,
                 'a follow-up that applies is not accepted again');
SELECT lives_ok($$SELECT ql.accept_followup('LAB2:F2', '区局委托复查')$$,
                'the 湖里 officer accepts it');
SELECT is((SELECT count(*) FROM ql.unmatched_recheck), 0::bigint, 'it waits no more');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:F1'), 'CLEARED',
          'and clears the findings');
SELECT results_eq($$SELECT login, what, result_id, detail, case_no IS NOT NULL FROM ql.officer_log
                    WHERE what = 'ACCEPT'$$,
                  $$VALUES ('qltap_fl_huli', 'ACCEPT', 'LAB2:F2', '区局委托复查', true)$$,
                  'the acceptance is logged with the case');
SELECT is(ql.retriage(ARRAY['914403001922038216'], true), 1, 're-triage from scratch');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:F1'), 'CLEARED',
          'the acceptance survives it');

-- A lab registered for any plan: its retest applies at once.
INSERT INTO ql.followup_lab (lab_code) VALUES ('LAB3');
SELECT qltest.put('LAB1:H1', '91440300708461136T', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB3:H2', '91440300708461136T', 'RETEST', 'CONFORMING', '2024-03-10 02:00+00', 'LAB1:H1');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:H1'), 'VOIDED',
          'a registered lab''s retest voids the findings');
-- Registered for one plan only (qltest.doc uses plan XM-2024-01).
INSERT INTO ql.followup_lab (lab_code, plan_id) VALUES ('LAB4', 'OTHER-PLAN');
SELECT qltest.put('LAB1:K1', '91110108551385082Q', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT qltest.put('LAB4:K2', '91110108551385082Q', 'RECHECK', 'CONFORMING', '2024-05-01 02:00+00', 'LAB1:K1');
SELECT is((SELECT reason FROM ql.followup_link WHERE result_id = 'LAB4:K2'), 'OTHER_LAB',
          'a lab registered for another plan waits');
-- Registering it for the plan afterwards re-derives the enterprise.
INSERT INTO ql.followup_lab (lab_code, plan_id) VALUES ('LAB4', 'XM-2024-01');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:K1'), 'CLEARED',
          'registered for the plan later: the waiting recheck applies');
DELETE FROM ql.followup_lab WHERE lab_code = 'LAB4';
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:K1'), 'OPEN',
          'the registration removed: it waits again');

-- Order: the other lab's recheck first, its original later; registered in
-- between.  The same state as in order.
SELECT qltest.put('LAB5:M2', '91350200MA2YJ1XR9G', 'RECHECK', 'CONFORMING', '2024-05-01 02:00+00', 'LAB1:M1');
SELECT is((SELECT reason FROM ql.followup_link WHERE result_id = 'LAB5:M2'), 'ORIGINAL_MISSING',
          'a recheck before its original waits for it');
INSERT INTO ql.followup_lab (lab_code) VALUES ('LAB5');
SELECT qltest.put('LAB1:M1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:M1'), 'CLEARED',
          'the original arrives: the registered lab''s recheck clears it');
SELECT is(ql.retriage(ARRAY['91350200MA2YJ1XR9G'], true), 1, 'and a full re-triage');
SELECT is((SELECT status FROM ql.nonconformity WHERE result_id = 'LAB1:M1'), 'CLEARED',
          'agrees');

SELECT * FROM finish();
ROLLBACK;
