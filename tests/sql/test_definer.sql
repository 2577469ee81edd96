-- SECURITY DEFINER functions against objects their callers can create
-- (docs/security.md, "An officer runs SQL as the schema owner").  A caller
-- who creates temp tables first -- named like the tables the derivation
-- works in, like every table of the schema, and like the temp tables the
-- derivation used before 011_definer_workspace -- with a trigger of their
-- own on each, must never have that trigger run with the owner's rights.
-- The attack is tried as an officer and as the triage login against every
-- function each may execute, with TEMPORARY granted to them for the test
-- (an officer has none in a deployment).  Against the schema before 011 it
-- fails: the planted trigger ran as the owner.
BEGIN;
SET LOCAL client_min_messages = warning;
\ir fixtures.sql
SELECT plan(38);

CREATE ROLE qltap_def_off LOGIN IN ROLE ql_officer;
CREATE ROLE qltap_def_daemon LOGIN IN ROLE ql_triage;
INSERT INTO ql.officer VALUES ('qltap_def_off', '350206');

-- The privileges a deployment gives: TEMPORARY for the triage login's batch
-- stage, for nobody else.
SELECT ok(NOT has_database_privilege('ql_officer', current_database(), 'TEMPORARY'),
          'ql_officer may not create temp tables');
SELECT ok(has_database_privilege('ql_triage', current_database(), 'TEMPORARY'),
          'ql_triage may (ql-triage stages its batches in one)');
SELECT is((SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a
            WHERE d.datname = current_database() AND a.grantee = 0
              AND a.privilege_type = 'TEMPORARY'), 0::bigint,
          'PUBLIC may not create temp tables');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'ql'::regnamespace AND p.prosecdef
                   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
                 ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');

-- The names to plant: the temp tables the functions create, noted by an
-- event trigger while each is called once (none since 011), every table of
-- ql and ql_work, and the workspace names before 011.
CREATE TABLE qltest.created (relname text PRIMARY KEY, coldefs text, indexdefs text[]);
CREATE FUNCTION qltest.note_created() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qltest.created
    SELECT c.relname,
           (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod),
                              ', ' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid)
      FROM pg_event_trigger_ddl_commands() d
      JOIN pg_class c ON c.oid = d.objid
     WHERE d.command_tag = 'CREATE TABLE' AND c.relpersistence = 't'
    ON CONFLICT (relname) DO NOTHING;
END $$;
CREATE EVENT TRIGGER qltap_note_created ON ddl_command_end EXECUTE FUNCTION qltest.note_created();

SELECT qltest.feed(
    qltest.doc('LAB1:A1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING', '2024-03-01 02:00+00'),
    qltest.doc('LAB1:A2', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-05-01 02:00+00',
               'LAB1:A1'),
    -- Another lab's recheck, waiting for an officer's acceptance.
    qltest.doc('LAB9:A3', '914403001922038216', 'RECHECK', 'NONCONFORMING', '2024-06-01 02:00+00',
               'LAB1:A1'));
SELECT case_no AS the_case FROM ql.enforcement_case WHERE opening_result_id = 'LAB1:A1' \gset
SELECT action_id AS stop_sale FROM ql.plan_action
 WHERE case_no = :'the_case' AND action = 'STOP_SALE' \gset
SELECT action_id AS diagnosis FROM ql.plan_action
 WHERE case_no = :'the_case' AND action = 'DIAGNOSIS' \gset
SELECT action_id AS rectify FROM ql.plan_action
 WHERE case_no = :'the_case' AND action = 'RECTIFY' \gset
SELECT ql.retriage(ARRAY['914403001922038216'], true);
SELECT ql.recategorize();
SET SESSION AUTHORIZATION qltap_def_off;
SELECT ql.complete_action(:stop_sale, 'owner''s run');
SELECT ql.assign_case(:'the_case', 'qltap_def_off');
RESET SESSION AUTHORIZATION;
DROP EVENT TRIGGER qltap_note_created;
SELECT is((SELECT count(*) FROM qltest.created), 0::bigint,
          'the derivation creates no temp table');
INSERT INTO qltest.created
SELECT c.relname,
       (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod),
                          ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       ARRAY(SELECT regexp_replace(pg_get_indexdef(i.indexrelid), ' ON \S+ ', ' ON pg_temp.' || quote_ident(c.relname) || ' ')
               FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique)
  FROM pg_class c
 WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('ql', 'ql_work'))
   AND c.relkind = 'r'
ON CONFLICT (relname) DO NOTHING;
INSERT INTO qltest.created
SELECT 'qlt_' || n, 'result_id text', '{}'
  FROM unnest(ARRAY['fu', 'new', 'aff', 'ev', 'fold', 'scope', 'case', 'cd', 'x', 'act']) AS n
ON CONFLICT (relname) DO NOTHING;

-- The attack.  A caller's tables of those names, with the columns and
-- unique indexes of the originals, and on each a statement trigger whose
-- function lives in pg_temp: were it run by a function, it would raise
-- "hijacked as <user>".
GRANT USAGE ON SCHEMA qltest TO qltap_def_off, qltap_def_daemon;
GRANT SELECT ON qltest.created TO qltap_def_off, qltap_def_daemon;
SELECT format('GRANT TEMPORARY ON DATABASE %I TO qltap_def_off', current_database()) \gexec

-- Runs a statement; what it raised, or 'ok'.
CREATE FUNCTION qltest.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Drops the tables of those names in this session: the owner's workspace
-- left by the calls above (before 011), or the caller's planted tables.
CREATE FUNCTION qltest.drop_tables() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT relname FROM qltest.created LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', t.relname);
    END LOOP;
    DROP FUNCTION IF EXISTS pg_temp.qltap_hijack();
END $$;

-- Plants the caller's tables.
CREATE FUNCTION qltest.plant() RETURNS integer LANGUAGE plpgsql AS $plant$
DECLARE
    t record;
    ix text;
    n integer := 0;
BEGIN
    EXECUTE $f$CREATE OR REPLACE FUNCTION pg_temp.qltap_hijack() RETURNS trigger
               LANGUAGE plpgsql AS $b$
               BEGIN
                   RAISE EXCEPTION 'hijacked as %', current_user USING ERRCODE = 'QLHJK';
               END $b$$f$;
    FOR t IN SELECT * FROM qltest.created LOOP
        EXECUTE format('CREATE TEMP TABLE %I (%s)', t.relname, t.coldefs);
        FOREACH ix IN ARRAY t.indexdefs LOOP
            EXECUTE ix;
        END LOOP;
        EXECUTE format('CREATE TRIGGER qltap_hijack AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                          ON pg_temp.%I FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.qltap_hijack()',
                       t.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END $plant$;

SELECT qltest.drop_tables();

-- As the officer.
SET SESSION AUTHORIZATION qltap_def_off;
SELECT is(qltest.plant(), (SELECT count(*)::integer FROM qltest.created),
          'the officer plants a table for every workspace table');
SELECT is(qltest.outcome(format('DELETE FROM pg_temp.%I', (SELECT min(relname) FROM qltest.created))),
          'QLHJK: hijacked as qltap_def_off', 'control: the planted trigger fires and would be seen');
SELECT is(qltest.outcome(format('SELECT ql.complete_action(%s, %L)', :diagnosis, 'attack')),
          'ok', 'complete_action does not run the officer''s trigger');
SELECT is(qltest.outcome($$SELECT ql.accept_followup('LAB9:A3')$$),
          'ok', 'accept_followup does not run the officer''s trigger');
SELECT is(qltest.outcome(format('SELECT ql.record_act(%L, %L, %L)', :'the_case', 'SERVED', '2024-03-05')),
          'ok', 'record_act does not run the officer''s trigger');
SELECT is(qltest.outcome($$SELECT ql.revoke_act((SELECT max(act_id) FROM ql.case_acts), '测试撤销')$$),
          'ok', 'revoke_act does not run the officer''s trigger');
SELECT is(qltest.outcome(format('SELECT ql.reopen_action(%s, %L)', :diagnosis, '测试重新打开')),
          'ok', 'reopen_action does not run the officer''s trigger');
SELECT unalike(qltest.outcome(format('SELECT ql.confirm_close(%L)', :'the_case')),
               '%hijacked%', 'confirm_close does not run the officer''s trigger');
SELECT is(qltest.outcome(format('SELECT ql.complete_action(%s, %L)', :diagnosis, 'again')),
          'ok', 'complete_action once more, after the reopening');
SELECT is(qltest.outcome(format('SELECT ql.assign_case(%L, %L)', :'the_case', 'qltap_def_off')),
          'ok', 'assign_case does not run the officer''s trigger');
SELECT qltest.drop_tables();
RESET SESSION AUTHORIZATION;
SELECT is((SELECT status FROM ql.plan_action WHERE action_id = :diagnosis), 'DONE',
          'the completion under attack took effect as any other');
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p
                 WHERE p.pronamespace = 'ql'::regnamespace
                   AND has_function_privilege('ql_officer', p.oid, 'EXECUTE')$$,
              ARRAY['assign_case', 'complete_action', 'accept_followup', 'record_act', 'revoke_act',
                    'reopen_action', 'confirm_close', 'title', 'quarter_of', 'region_name',
                    'cst_today'],
              'those are all the functions an officer may execute');

-- As the triage login (which has TEMPORARY in a deployment).
SELECT qltest.drop_tables();
SET SESSION AUTHORIZATION qltap_def_daemon;
SELECT is(qltest.plant(), (SELECT count(*)::integer FROM qltest.created),
          'the triage login plants a table for every workspace table');
SELECT is(qltest.outcome(format('DELETE FROM pg_temp.%I', (SELECT min(relname) FROM qltest.created))),
          'QLHJK: hijacked as qltap_def_daemon', 'control: its trigger fires too');
SELECT is(qltest.outcome($$SELECT ql.retriage(ARRAY['914403001922038216'])$$),
          'ok', 'retriage does not run the triage login''s trigger');
SELECT is(qltest.outcome($$SELECT ql.retriage(ARRAY['914403001922038216'], true)$$),
          'ok', 'nor does a full retriage');
SELECT is(qltest.outcome($$SELECT ql.recategorize()$$),
          'ok', 'nor does recategorize');
SELECT is(qltest.outcome($$SELECT ql.register_enterprises(ARRAY['914403001922038216', 'QLNEW'])$$),
          'ok', 'nor does register_enterprises');
SELECT is(qltest.outcome($$SELECT ql.register_queued(ARRAY['914403001922038216', 'QLNEW2'])$$),
          'ok', 'nor does register_queued');
SELECT is(qltest.outcome($$SELECT ql.retriage_pending(100)$$),
          'ok', 'nor does retriage_pending');
SELECT is(qltest.outcome($$SELECT ql.derive_queued(ql.pending_enterprises(100))$$),
          'ok', 'nor does derive_queued');
SELECT is(qltest.outcome($$SELECT ql.retriage(ql.pending_enterprises(100))$$),
          'ok', 'nor does pending_enterprises');
SELECT is(qltest.outcome($$SELECT ql.set_bureau('350206')$$),
          'ok', 'nor does set_bureau, which derives every enterprise again');
-- With a rule edited, recategorize has work to do and derives.
RESET SESSION AUTHORIZATION;
UPDATE ql.cause_rule SET category = 'OTHER' WHERE category = 'LABELING';
SET SESSION AUTHORIZATION qltap_def_daemon;
SELECT is(qltest.outcome($$SELECT ql.recategorize()$$),
          'ok', 'nor recategorize with findings to move');
SELECT qltest.drop_tables();
RESET SESSION AUTHORIZATION;
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p
                 WHERE p.pronamespace = 'ql'::regnamespace
                   AND has_function_privilege('ql_triage', p.oid, 'EXECUTE')$$,
              ARRAY['retriage', 'recategorize', 'set_bureau', 'register_enterprises',
                    'retriage_pending', 'pending_enterprises', 'register_queued',
                    'derive_queued'],
              'those are all the functions the triage login may execute');

-- Without planted tables the functions work, and leave nothing in the
-- caller's session.
SET SESSION AUTHORIZATION qltap_def_daemon;
SELECT lives_ok($$SELECT ql.retriage(ARRAY['914403001922038216'], true)$$,
                'without planted tables, retriage works as the triage login');
RESET SESSION AUTHORIZATION;
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relpersistence = 't' AND pg_get_userbyid(c.relowner) <> 'qltap_def_daemon'
                   AND c.relname IN (SELECT relname FROM qltest.created)),
          '{}'::text[], 'and leaves no table behind');
SET SESSION AUTHORIZATION qltap_def_off;
SELECT lives_ok(format('SELECT ql.complete_action(%s, %L)', :rectify, '整改报告已提交'),
                'without planted tables, the officer completes an action');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT status FROM ql.plan_action WHERE action_id = :rectify), 'DONE',
          'and it took effect');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relpersistence = 't' AND c.relname IN (SELECT relname FROM qltest.created)),
          '{}'::text[], 'no table left behind in the officer''s session');
SELECT is((SELECT count(*) FROM ql_work.followup) + (SELECT count(*) FROM ql_work.plan_row)
          + (SELECT count(*) FROM ql_work.replan), 0::bigint,
          'and no row left in the workspace');
SELECT ok(NOT has_schema_privilege('ql_officer', 'ql_work', 'USAGE')
          AND NOT has_schema_privilege('ql_triage', 'ql_work', 'USAGE'),
          'nobody but the owner may use the workspace schema');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relpersistence = 't'
              AND pg_get_userbyid(c.relowner) = 'qltap_def_off'), 0::bigint,
          'and the officer owns no temp object');

SELECT * FROM finish();
ROLLBACK;
