-- Officers and access (docs/officers.md, docs/security.md): an officer sees only the enterprises of
-- their region prefixes in every view, may assign and complete only there,
-- cannot touch the tables; a login not in ql.officer sees nothing; the
-- daemon's role can store results and re-triage and nothing of the officers';
-- officer inputs survive re-triage.
BEGIN;
\ir fixtures.sql
SELECT plan(65);

-- Roles are cluster-wide; these disappear with the ROLLBACK.
CREATE ROLE qltap_acc_huli LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_acc_two LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_acc_nobody LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_acc_daemon LOGIN IN ROLE ql_triage;
CREATE ROLE qltap_acc_plain LOGIN;
INSERT INTO ql.officer VALUES ('qltap_acc_huli', '350206'), ('qltap_acc_two', '350206'),
                              ('qltap_acc_two', '350203');
-- pgTAP's set and result comparisons work in temp tables, which officers
-- may not create in a deployment: these test logins may (test_definer
-- shows that even so they gain nothing from it).
SELECT format('GRANT TEMPORARY ON DATABASE %I TO qltap_acc_huli, qltap_acc_two, qltap_acc_nobody',
              current_database()) \gexec

-- Two enterprises in 湖里 350206, one in 思明 350203, one in 集美 350211;
-- reported long ago so that actions are overdue; a recheck waiting in each.
SELECT qltest.feed(
    qltest.doc('LAB1:H1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00',
               items => jsonb_build_array(qltest.item('电气强度', 'A', true, 'FAIL'),
                                          qltest.item('标志', 'B', false, 'FAIL'))),
    qltest.doc('LAB1:H2', '91520000214434146R', 'SUPERVISION', 'NONCONFORMING', '2024-03-02 02:00+00'),
    qltest.doc('LAB1:H3', '91520000214434146R', 'RECHECK', 'CONFORMING', '2024-05-02 02:00+00', 'LAB1:NONE'),
    qltest.doc('LAB1:S1', '91440300708461136T', 'SUPERVISION', 'NONCONFORMING', '2024-03-03 02:00+00',
               region => '350203'),
    qltest.doc('LAB1:S2', '91440300708461136T', 'RETEST', 'CONFORMING', '2024-03-10 02:00+00', 'LAB1:GONE',
               region => '350203'),
    qltest.doc('LAB1:J1', '91110108551385082Q', 'SUPERVISION', 'REFUSED', '2024-03-04 02:00+00',
               items => '[]', region => '350211'));

SELECT case_no AS huli_case FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:H1' \gset
SELECT case_no AS huli_case2 FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:H2' \gset
SELECT case_no AS siming_case FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:S1' \gset
SELECT action_id AS huli_stop FROM ql.plan_action
 WHERE case_no = :'huli_case' AND action = 'STOP_SALE' \gset
SELECT action_id AS huli_diag FROM ql.plan_action
 WHERE case_no = :'huli_case' AND action = 'DIAGNOSIS' \gset
SELECT action_id AS siming_stop FROM ql.plan_action
 WHERE case_no = :'siming_case' AND action = 'STOP_SALE' \gset

-- What the role may do, from the catalogue.
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'ql' AND c.relkind IN ('r', 'p')
                   AND (has_table_privilege('ql_officer', c.oid, 'SELECT')
                        OR has_table_privilege('ql_officer', c.oid, 'INSERT')
                        OR has_table_privilege('ql_officer', c.oid, 'UPDATE')
                        OR has_table_privilege('ql_officer', c.oid, 'DELETE'))),
          '{}'::text[], 'ql_officer has no privilege on any table');
SELECT set_eq($$SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'ql' AND has_table_privilege('ql_officer', c.oid, 'SELECT')$$,
              ARRAY['case_board', 'case_plan', 'case_diagnosis', 'overdue_actions', 'zero_out_progress',
                    'zero_out_summary', 'enterprise_dossier', 'unmatched_recheck', 'case_findings',
                    'case_history', 'due_soon', 'officer_workload', 'quality_stats', 'case_notice',
                    'case_acts'],
              'ql_officer reads exactly the views');
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'ql' AND has_function_privilege('ql_officer', p.oid, 'EXECUTE')$$,
              ARRAY['assign_case', 'complete_action', 'accept_followup', 'record_act', 'revoke_act',
                    'reopen_action', 'confirm_close',
                    -- what the views call: pure functions and region names
                    'title', 'quarter_of', 'region_name', 'cst_today'],
              'ql_officer executes exactly the officer functions and the views'' helpers');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'ql'::regnamespace
                   AND has_function_privilege('qltap_acc_plain', p.oid, 'EXECUTE')),
          '{}'::text[], 'a login in no Qingling role executes no function of the schema');
SELECT ok((SELECT bool_and(p.prosecdef AND array_to_string(p.proconfig, ',') LIKE 'search_path=%')
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'ql' AND p.proname IN ('assign_case', 'complete_action', 'retriage')),
          'the officer functions and retriage are SECURITY DEFINER with a fixed search_path');
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'ql' AND has_function_privilege('ql_triage', p.oid, 'EXECUTE')$$,
              ARRAY['retriage', 'recategorize', 'set_bureau', 'register_enterprises',
                    'retriage_pending', 'pending_enterprises', 'register_queued',
                    'derive_queued'],
              'ql_triage executes only the triage''s functions');
SELECT ok(has_table_privilege('ql_triage', 'ql.inspection_result', 'INSERT')
          AND has_table_privilege('ql_triage', 'ql.inspection_result', 'SELECT')
          AND has_table_privilege('ql_triage', 'ql.consumer_offset', 'UPDATE')
          AND has_table_privilege('ql_triage', 'ql.rejected_record', 'INSERT'),
          'ql_triage stores results, offsets and rejected records');
SELECT ok(NOT has_table_privilege('ql_triage', 'ql.finding', 'SELECT')
          AND NOT has_table_privilege('ql_triage', 'ql.enforcement_case', 'UPDATE')
          AND NOT has_table_privilege('ql_triage', 'ql.inspection_result', 'DELETE')
          AND NOT has_table_privilege('ql_triage', 'ql.case_board', 'SELECT')
          AND NOT has_column_privilege('ql_triage', 'ql.rejected_record', 'error', 'UPDATE')
          AND has_column_privilege('ql_triage', 'ql.rejected_record', 'redriven_at', 'UPDATE'),
          'ql_triage has nothing else');

-- The 湖里 officer.
SET SESSION AUTHORIZATION qltap_acc_huli;
SELECT is((SELECT count(*) FROM ql.case_board), 2::bigint, 'huli: two cases on the board');
SELECT is((SELECT count(*) FROM ql.case_board WHERE region_code <> '350206'), 0::bigint,
          'huli: case_board shows only 350206');
SELECT is((SELECT count(DISTINCT case_no) FROM ql.case_plan), 2::bigint, 'huli: two plans');
SELECT is((SELECT count(*) FROM ql.case_plan WHERE region_code <> '350206'), 0::bigint,
          'huli: case_plan shows only 350206');
SELECT is((SELECT count(*) FROM ql.case_diagnosis WHERE region_code <> '350206'), 0::bigint,
          'huli: case_diagnosis shows only 350206');
SELECT cmp_ok((SELECT count(*) FROM ql.overdue_actions), '>', 0::bigint, 'huli: overdue actions');
SELECT is((SELECT count(*) FROM ql.overdue_actions WHERE region_code <> '350206'), 0::bigint,
          'huli: overdue_actions shows only 350206');
SELECT is((SELECT count(*) FROM ql.overdue_actions WHERE case_no = :'siming_case'), 0::bigint,
          'huli: not even when asked for the 思明 case');
SELECT results_eq($$SELECT region_code, sum(nonconforming)::int FROM ql.zero_out_progress GROUP BY 1$$,
                  $$VALUES ('350206', 3)$$, 'huli: zero_out_progress shows only 350206');
SELECT results_eq($$SELECT region_code, nonconforming::int FROM ql.zero_out_summary$$,
                  $$VALUES ('350206', 2)$$, 'huli: zero_out_summary shows only 350206');
SELECT set_eq($$SELECT credit_code FROM ql.enterprise_dossier$$,
              ARRAY['914403001922038216', '91520000214434146R'],
              'huli: enterprise_dossier shows only the 350206 enterprises');
SELECT results_eq($$SELECT result_id FROM ql.unmatched_recheck$$, $$VALUES ('LAB1:H3')$$,
                  'huli: unmatched_recheck shows only 350206');
SELECT is((SELECT count(*) FROM ql.case_board WHERE case_no = :'siming_case'), 0::bigint,
          'huli: the 思明 case is invisible');
-- Writes outside the functions are refused.
SELECT throws_ok('SELECT * FROM ql.finding', '42501', NULL, 'huli cannot read ql.finding');
SELECT throws_ok('SELECT * FROM ql.enforcement_case', '42501', NULL, 'huli cannot read ql.enforcement_case');
SELECT throws_ok('SELECT * FROM ql.inspection_result', '42501', NULL, 'huli cannot read results');
SELECT throws_ok('SELECT * FROM ql.officer', '42501', NULL, 'huli cannot read ql.officer');
SELECT throws_ok($$UPDATE ql.enforcement_case SET status = 'CLEARED'$$, '42501', NULL,
                 'huli cannot UPDATE cases');
SELECT throws_ok('DELETE FROM ql.plan_action', '42501', NULL, 'huli cannot DELETE actions');
SELECT throws_ok($$INSERT INTO ql.officer VALUES ('qltap_acc_huli', '')$$, '42501', NULL,
                 'huli cannot widen their own regions');
SELECT throws_ok($$INSERT INTO ql.action_completion VALUES ('LAB1:S1', 'STOP_SALE', 'x', 'x', now())$$,
                 '42501', NULL, 'huli cannot INSERT completions directly');
SELECT ok(NOT has_table_privilege('ql.case_board', 'UPDATE')
          AND NOT has_table_privilege('ql.case_plan', 'DELETE'), 'huli cannot write the views');
SELECT throws_ok($$SELECT ql.retriage(ARRAY['914403001922038216'])$$, '42501', NULL,
                 'huli cannot call ql.retriage');
SELECT throws_ok($$SELECT ql.recompute(ARRAY['914403001922038216'])$$, '42501', NULL,
                 'huli cannot call ql.recompute');
-- Assign and complete inside the region.
SELECT lives_ok(format('SELECT ql.assign_case(%L, %L)', :'huli_case', 'qltap_acc_huli'),
                'huli assigns a 湖里 case to themselves');
SELECT is((SELECT officer FROM ql.case_board WHERE case_no = :'huli_case'), 'qltap_acc_huli',
          'the board shows the officer');
SELECT lives_ok(format('SELECT ql.complete_action(%s, %L)', :huli_stop, '已责令停售，现场封存库存 120 件'),
                'huli completes STOP_SALE with a note');
SELECT results_eq(format($$SELECT status, done_by, note FROM ql.case_plan WHERE action_id = %s$$, :huli_stop),
                  $$VALUES ('DONE', 'qltap_acc_huli', '已责令停售，现场封存库存 120 件')$$,
                  'the plan shows it DONE, by whom, with the note');
SELECT throws_ok(format('SELECT ql.complete_action(%s, NULL)', :huli_stop), '55000', NULL,
                 'an action is completed once');
-- ... and outside it.
SELECT throws_ok(format('SELECT ql.assign_case(%L, %L)', :'siming_case', 'qltap_acc_huli'),
                 '42501', NULL, 'huli cannot assign a 思明 case');
SELECT throws_ok(format('SELECT ql.complete_action(%s, %L)', :siming_stop, 'x'),
                 '42501', NULL, 'huli cannot complete a 思明 action');
SELECT throws_ok(format('SELECT ql.assign_case(%L, %L)', :'huli_case2', 'qltap_acc_nobody'),
                 '22023', NULL, 'a case is assigned only to an officer of its region');
RESET SESSION AUTHORIZATION;

-- An officer with two prefixes.
SET SESSION AUTHORIZATION qltap_acc_two;
SELECT set_eq($$SELECT DISTINCT region_code FROM ql.case_board$$, ARRAY['350203', '350206'],
              'an officer with two prefixes sees both regions');
SELECT lives_ok(format('SELECT ql.assign_case(%L, %L)', :'siming_case', 'qltap_acc_two'),
                'and assigns in either');
RESET SESSION AUTHORIZATION;

-- A login in ql_officer but not in ql.officer: nothing at all.
SET SESSION AUTHORIZATION qltap_acc_nobody;
SELECT is((SELECT count(*) FROM ql.case_board) + (SELECT count(*) FROM ql.case_plan)
          + (SELECT count(*) FROM ql.case_diagnosis) + (SELECT count(*) FROM ql.overdue_actions)
          + (SELECT count(*) FROM ql.zero_out_progress) + (SELECT count(*) FROM ql.zero_out_summary)
          + (SELECT count(*) FROM ql.enterprise_dossier) + (SELECT count(*) FROM ql.unmatched_recheck),
          0::bigint, 'a login not in ql.officer sees no row in any view');
SELECT throws_ok(format('SELECT ql.assign_case(%L, %L)', :'huli_case2', 'qltap_acc_huli'),
                 '42501', NULL, 'and may assign nothing');
RESET SESSION AUTHORIZATION;

-- The daemon's role stores a batch and re-triages it.
SET SESSION AUTHORIZATION qltap_acc_daemon;
SELECT lives_ok($$INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, refers_to,
                      reported_at, record, kafka_topic, kafka_partition, kafka_offset)
                  VALUES ('LAB1:D1', '91350200MA2YJ1XR9G', 'SUPERVISION', 'NONCONFORMING', NULL,
                          '2024-04-01 02:00+00',
                          jsonb_build_object('enterprise', jsonb_build_object('name', '厦门甲公司',
                              'region_code', '350206'), 'items', jsonb_build_array(jsonb_build_object(
                              'name', '温升', 'importance', 'A', 'safety', true, 'verdict', 'FAIL'))),
                          'inspection.results', 3, 77)
                  ON CONFLICT (result_id) DO NOTHING$$,
                'ql_triage inserts results');
SELECT is(ql.retriage(ARRAY['91350200MA2YJ1XR9G']), 1, 'ql_triage runs ql.retriage');
SELECT throws_ok('SELECT * FROM ql.case_board', '42501', NULL, 'ql_triage cannot read the views');
RESET SESSION AUTHORIZATION;
SELECT is((qltest.case_of('LAB1:D1')).priority, 'P1', 'the daemon''s batch opened a case');

-- Officer inputs survive re-triage: forced, and after new results.
SELECT is(ql.retriage(ARRAY['914403001922038216'], true), 1, 're-triage the 湖里 enterprise');
SELECT is((qltest.case_of('LAB1:H1')).officer, 'qltap_acc_huli', 'the assignment survives');
SELECT results_eq(format($$SELECT action_id, status, done_by, note FROM ql.plan_action
                            WHERE case_no = %L AND action = 'STOP_SALE'$$, :'huli_case'),
                  format($$VALUES (%s::bigint, 'DONE', 'qltap_acc_huli', '已责令停售，现场封存库存 120 件')$$,
                         :huli_stop),
                  'the completed action keeps its id, status, officer and note');
SELECT qltest.put('LAB1:H4', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-05-20 02:00+00', 'LAB1:H1');
SELECT is((qltest.case_of('LAB1:H1')).status, 'ESCALATED', 'a failed recheck arrives');
SELECT is((qltest.case_of('LAB1:H1')).officer, 'qltap_acc_huli', 'the assignment survives it');
SELECT is((SELECT status FROM ql.plan_action WHERE action_id = :huli_stop), 'DONE',
          'the completion survives it');
SELECT is((SELECT action_id FROM ql.plan_action WHERE case_no = :'huli_case' AND action = 'DIAGNOSIS'),
          :huli_diag::bigint, 'pending actions keep their ids');
-- An earlier nonconformity arrives late and now opens the case: the case
-- keeps its number, officer and completions.
SELECT qltest.put('LAB1:H0', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-02-20 02:00+00');
SELECT is((SELECT opening_result_id FROM ql.enforcement_case WHERE case_no = :'huli_case'), 'LAB1:H0',
          'a late earlier result opens the case now');
SELECT is((SELECT officer FROM ql.enforcement_case WHERE case_no = :'huli_case'), 'qltap_acc_huli',
          'under the same number, still assigned');
SELECT is((SELECT status FROM ql.plan_action WHERE action_id = :huli_stop), 'DONE',
          'and the completion holds');
SELECT is((SELECT count(*) FROM ql.officer_log WHERE login = 'qltap_acc_huli'), 2::bigint,
          'every input is in the officer log');

-- Completing LICENSE_REVOCATION closes the case.
SELECT qltest.put('LAB1:H5', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-08-20 02:00+00', 'LAB1:H1');
SELECT qltest.put('LAB1:H6', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-11-20 02:00+00', 'LAB1:H1');
SELECT action_id AS huli_revoke FROM ql.plan_action
 WHERE case_no = :'huli_case' AND action = 'LICENSE_REVOCATION' \gset
SET SESSION AUTHORIZATION qltap_acc_huli;
SELECT lives_ok(format('SELECT ql.complete_action(%s, %L)', :huli_revoke, '已提请登记机关吊销营业执照'),
                'huli completes LICENSE_REVOCATION');
SELECT results_eq(format($$SELECT status, close_requested FROM ql.case_board WHERE case_no = %L$$,
                         :'huli_case'),
                  $$VALUES ('ESCALATED', true)$$, 'the close waits for a supervisor');
SELECT throws_ok(format('SELECT ql.confirm_close(%L)', :'huli_case'), '42501', NULL,
                 'an officer who is no supervisor cannot confirm it');
RESET SESSION AUTHORIZATION;
UPDATE ql.officer SET supervisor = true WHERE login = 'qltap_acc_two' AND region_prefix = '350206';
SET SESSION AUTHORIZATION qltap_acc_two;
SELECT lives_ok(format('SELECT ql.confirm_close(%L)', :'huli_case'), 'a supervisor of the region confirms');
SELECT is((SELECT count(*) FROM ql.case_board WHERE case_no = :'huli_case'), 0::bigint,
          'the closed case leaves the board');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT status FROM ql.enforcement_case WHERE case_no = :'huli_case'), 'CLOSED',
          'the case is CLOSED');

SELECT * FROM finish();
ROLLBACK;
