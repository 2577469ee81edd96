-- Cases and their 一企一策 plans (schemas/sql/012_derive_steps.sql): case numbers, due dates counted
-- from the original result's reported_at date in China Standard Time, the
-- actions for SERIOUS findings and repeat offenders, priorities, and a new
-- case after one was cleared.
BEGIN;
\ir fixtures.sql
SELECT plan(32);

-- 2024-03-10 17:30 UTC is 2024-03-11 01:30 in China: the order date is the
-- 11th, not the 10th.
SELECT qltest.put('LAB1:P1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING',
                  '2024-03-10 17:30+00', items => jsonb_build_array(
                      qltest.item('小零件', 'A', false, 'FAIL'),
                      qltest.item('标志', 'B', false, 'PASS')));
SELECT matches((qltest.case_of('LAB1:P1')).case_no, '^QL-2024-[0-9]{5}$',
               'the case is numbered QL-YYYY-NNNNN');
SELECT is((qltest.case_of('LAB1:P1')).status, 'OPEN', 'the case is OPEN');
SELECT is((qltest.case_of('LAB1:P1')).priority, 'P1', 'an A item makes it P1');
SELECT is((qltest.case_of('LAB1:P1')).opened_at, '2024-03-10 17:30+00'::timestamptz,
          'opened_at is the result''s reported_at');
SELECT is(qltest.plan_of((qltest.case_of('LAB1:P1')).case_no),
          ARRAY['STOP_SALE@2024-03-11', 'ENFORCEMENT_REFERRAL@2024-03-26',
                'OBJECTION_WINDOW@2024-03-26', 'DIAGNOSIS@2024-04-10', 'RECTIFY@2024-05-10',
                'RECHECK@2024-05-25'],
          'due dates +0/+15/+30/+60/+75 days from the CST date, ENFORCEMENT_REFERRAL for SERIOUS');
SELECT is((SELECT count(*) FROM ql.plan_action
            WHERE case_no = (qltest.case_of('LAB1:P1')).case_no
              AND status = 'PENDING' AND measure <> '' AND basis <> ''), 6::bigint,
          'every action is PENDING with a measure and a legal basis');
SELECT matches((qltest.action((qltest.case_of('LAB1:P1')).case_no, 'STOP_SALE')).basis,
               '第四十五条', 'STOP_SALE cites Art. 45 of SAMR Order No. 18');
SELECT matches((qltest.action((qltest.case_of('LAB1:P1')).case_no, 'OBJECTION_WINDOW')).basis,
               '产品质量法》第十五条', 'OBJECTION_WINDOW cites Product Quality Law Art. 15');
SELECT matches((qltest.action((qltest.case_of('LAB1:P1')).case_no, 'RECTIFY')).basis,
               '第四十六条', 'RECTIFY cites Art. 46');
SELECT matches((qltest.action((qltest.case_of('LAB1:P1')).case_no, 'RECHECK')).basis,
               '第四十七条', 'RECHECK cites Art. 47');
SELECT matches((qltest.action((qltest.case_of('LAB1:P1')).case_no, 'DIAGNOSIS')).measure,
               '不合格类别：机械与结构安全（MECHANICAL_SAFETY）', 'DIAGNOSIS names the cause categories');
INSERT INTO ql.officer VALUES (current_user, '');
SELECT matches((SELECT diagnosis FROM ql.case_plan
                 WHERE case_no = (qltest.case_of('LAB1:P1')).case_no AND action = 'DIAGNOSIS'),
               '机械与结构安全（MECHANICAL_SAFETY）：小零件。.*结构设计缺陷',
               'the plan''s diagnosis: each category with its failed items and likely causes');
SELECT matches((SELECT measures FROM ql.case_plan
                 WHERE case_no = (qltest.case_of('LAB1:P1')).case_no AND action = 'RECTIFY'),
               '^机械与结构安全：①', 'the plan''s measures: what the enterprise is to do');

-- Early in the UTC day the CST date is the same day.
SELECT qltest.put('LAB1:P2', '91520000214434146R', 'SUPERVISION', 'NONCONFORMING',
                  '2024-03-10 01:00+00');
SELECT is(qltest.plan_of((qltest.case_of('LAB1:P2')).case_no),
          ARRAY['STOP_SALE@2024-03-10', 'OBJECTION_WINDOW@2024-03-25', 'DIAGNOSIS@2024-04-09',
                'RECTIFY@2024-05-09', 'RECHECK@2024-05-24'],
          'a GENERAL-only case: no ENFORCEMENT_REFERRAL; dates from 2024-03-10');
SELECT is((qltest.case_of('LAB1:P2')).priority, 'P3', 'one open GENERAL finding is P3');

-- The case year is the CST year of the opening result.
SELECT qltest.put('LAB1:P3', '91440300708461136T', 'SUPERVISION', 'NONCONFORMING',
                  '2024-12-31 16:30+00');
SELECT matches((qltest.case_of('LAB1:P3')).case_no, '^QL-2025-', '31 Dec 16:30 UTC opens a 2025 case');
SELECT is((qltest.action((qltest.case_of('LAB1:P3')).case_no, 'STOP_SALE')).due_date,
          '2025-01-01'::date, 'and its STOP_SALE is due on 1 Jan');

-- Two GENERAL findings: P2.
SELECT qltest.put('LAB1:P4', '91110108551385082Q', 'SUPERVISION', 'NONCONFORMING',
                  '2024-06-01 03:00+00', items => jsonb_build_array(
                      qltest.item('标志', 'B', false, 'FAIL'),
                      qltest.item('纤维含量', 'B', false, 'FAIL')));
SELECT is((qltest.case_of('LAB1:P4')).priority, 'P2', 'two open GENERAL findings are P2');
SELECT is((qltest.case_of('LAB1:P4')).open_findings, 2, 'open_findings counts them');

-- A second nonconformity while the case is open joins it; within 365 days it
-- makes the enterprise a repeat offender.
SELECT qltest.put('LAB1:P5', '91110108551385082Q', 'SUPERVISION', 'NONCONFORMING',
                  '2024-07-01 03:00+00');
SELECT is((qltest.case_of('LAB1:P5')).case_no, NULL, 'no second case while one is open');
SELECT is((SELECT case_no FROM ql.finding WHERE result_id = 'LAB1:P5'),
          (qltest.case_of('LAB1:P4')).case_no, 'the new findings join the open case');
SELECT is((qltest.action((qltest.case_of('LAB1:P4')).case_no, 'KEY_SUPERVISION', 'LAB1:P5')).due_date,
          '2024-07-31'::date, 'KEY_SUPERVISION for the repeat offence, due +30');
SELECT is((qltest.case_of('LAB1:P4')).priority, 'P1', 'a repeat offender is P1');
SELECT is((qltest.action((qltest.case_of('LAB1:P4')).case_no, 'RECHECK', 'LAB1:P5')).due_date,
          '2024-09-14'::date, 'the second result has its own dated actions');

-- Clearing both, then a later nonconformity opens a NEW case.
SELECT qltest.put('LAB1:P6', '91110108551385082Q', 'RECHECK', 'CONFORMING', '2024-08-10 03:00+00', 'LAB1:P4');
SELECT is((qltest.case_of('LAB1:P4')).status, 'OPEN', 'one original cleared, the other still open');
SELECT qltest.put('LAB1:P7', '91110108551385082Q', 'RECHECK', 'CONFORMING', '2024-09-10 03:00+00', 'LAB1:P5');
SELECT is((qltest.case_of('LAB1:P4')).status, 'CLEARED', 'all findings cleared: CLEARED');
SELECT is((qltest.case_of('LAB1:P4')).cleared_at, '2024-09-10 03:00+00'::timestamptz,
          'cleared_at is the clearing recheck''s reported_at');
SELECT qltest.put('LAB1:P8', '91110108551385082Q', 'SUPERVISION', 'NONCONFORMING', '2026-01-05 03:00+00');
SELECT isnt((qltest.case_of('LAB1:P8')).case_no, (qltest.case_of('LAB1:P4')).case_no,
            'a nonconformity after CLEARED opens a new case');
SELECT matches((qltest.case_of('LAB1:P8')).case_no, '^QL-2026-', 'numbered in its own year');
SELECT is((qltest.case_of('LAB1:P4')).status, 'CLEARED', 'the old case stays CLEARED');
SELECT is((qltest.action((qltest.case_of('LAB1:P8')).case_no, 'KEY_SUPERVISION')).action_id, NULL,
          'more than 365 days after the last nonconformity: not a repeat offender');
SELECT is((SELECT count(*) FROM ql.plan_action
            WHERE case_no = (qltest.case_of('LAB1:P4')).case_no AND status = 'PENDING'), 0::bigint,
          'a cleared case has no pending action left');

SELECT * FROM finish();
ROLLBACK;
