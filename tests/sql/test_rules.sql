-- Edited rules, applied the one way (012_derive_steps, ql.recategorize; the
-- same function ql-triage runs on SIGHUP): a cause rule moves findings to
-- another category and their plans name it; an edited action kind or
-- category text reaches every stored plan; with nothing edited, nothing is
-- re-derived.
BEGIN;
\ir fixtures.sql
SELECT plan(9);

SELECT qltest.put('LAB1:R1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00');
SELECT case_no AS c FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:R1' \gset

SELECT is((SELECT category FROM ql.finding WHERE result_id = 'LAB1:R1'), 'LABELING',
          '标志 is a labelling finding');
SELECT is(ql.recategorize(), 0, 'nothing edited: nothing recategorized');

UPDATE ql.cause_rule SET category = 'OTHER' WHERE category = 'LABELING';
SELECT is(ql.recategorize(), 1, 'a cause rule edited: its finding recategorized');
SELECT is((SELECT category FROM ql.finding WHERE result_id = 'LAB1:R1'), 'OTHER', 'now OTHER');
SELECT ok((qltest.action(:'c', 'RECTIFY')).measure LIKE '%（OTHER）%',
          'and the plan names the new category');

UPDATE ql.action_kind SET basis = '测试依据', offset_days = 50 WHERE action = 'RECTIFY';
SELECT is(ql.recategorize(), 0, 'an action kind edited: no finding moves');
SELECT is((qltest.action(:'c', 'RECTIFY')).basis, '测试依据', 'but the stored action has the new basis');
SELECT is((qltest.action(:'c', 'RECTIFY')).due_date, date '2024-03-01' + 50,
          'and the new deadline');

UPDATE ql.cause_category SET title = '其他问题' WHERE category = 'OTHER';
SELECT ql.recategorize();
SELECT ok((qltest.action(:'c', 'RECTIFY')).measure LIKE '%其他问题（OTHER）%',
          'an edited category title reaches the stored plan');

SELECT * FROM finish();
ROLLBACK;
