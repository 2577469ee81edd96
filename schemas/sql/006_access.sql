-- 006_access: who may do what.
--   ql_officer  group role of case officers (NOLOGIN; each officer is a login
--               role that is a member and has rows in ql.officer).  May read
--               the views of 005_views and call ql.assign_case and
--               ql.complete_action -- nothing else.
--   ql_triage   group role of the triage daemon's login: stores results,
--               offsets and rejected records and calls ql.retriage.
-- Roles are cluster-wide, so they are created only when missing: several
-- databases in one cluster share them.
-- The officer functions run as the schema owner with a fixed search_path;
-- they act for session_user, the login that connected, and check it
-- against ql.officer on every call.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ql_officer', 'ql_triage'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL; -- created meanwhile by a migration of another database
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % is missing and % may not create it', r, current_user
                        USING HINT = format('Have an administrator run: CREATE ROLE %I NOLOGIN;', r);
            END;
        END IF;
    END LOOP;
END $$;

-- Does this login cover this region?
CREATE FUNCTION ql.officer_covers(login text, region_code text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM ql.officer o
                WHERE o.login = officer_covers.login
                  AND starts_with(officer_covers.region_code, o.region_prefix));

-- Assign an open case to an officer (who must cover the case's region), as
-- an officer covering that region.  Recorded in ql.case_assignment (kept
-- across re-triage) and ql.officer_log.
CREATE FUNCTION ql.assign_case(case_no text, login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    c record;
BEGIN
    SELECT ec.case_no, ec.status, e.region_code INTO c
      FROM ql.enforcement_case ec
      JOIN ql.enterprise e ON e.credit_code = ec.credit_code
     WHERE ec.case_no = assign_case.case_no
       FOR UPDATE OF ec;
    IF NOT FOUND OR NOT ql.officer_covers(caller, c.region_code) THEN
        RAISE EXCEPTION 'case % not found in the regions of %', assign_case.case_no, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF c.status NOT IN ('OPEN', 'ESCALATED') THEN
        RAISE EXCEPTION 'case % is %: only open cases are assigned', c.case_no, c.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF assign_case.login IS NULL OR NOT ql.officer_covers(assign_case.login, c.region_code) THEN
        RAISE EXCEPTION 'officer % does not cover region %', assign_case.login, c.region_code
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO ql.case_assignment AS a (case_no, officer, assigned_by, assigned_at)
    VALUES (c.case_no, assign_case.login, caller, now())
    ON CONFLICT ON CONSTRAINT case_assignment_pkey DO UPDATE
       SET officer = excluded.officer, assigned_by = excluded.assigned_by,
           assigned_at = excluded.assigned_at;
    UPDATE ql.enforcement_case ec SET officer = assign_case.login, updated_at = now()
     WHERE ec.case_no = c.case_no;
    INSERT INTO ql.officer_log (login, what, case_no, detail)
    VALUES (caller, 'ASSIGN', c.case_no, assign_case.login);
END $$;

-- Mark a PENDING plan action done, with a note, as an officer covering the
-- enterprise's region.  Recorded in ql.action_completion (re-applied by every
-- re-triage) and ql.officer_log; the case is re-derived at once (completing
-- LICENSE_REVOCATION closes it).
CREATE FUNCTION ql.complete_action(action_id bigint, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    a record;
BEGIN
    SELECT p.action_id, p.case_no, p.credit_code, p.action, p.about_result_id, p.status,
           e.region_code INTO a
      FROM ql.plan_action p
      JOIN ql.enterprise e ON e.credit_code = p.credit_code
     WHERE p.action_id = complete_action.action_id
       FOR UPDATE OF p;
    IF NOT FOUND OR NOT ql.officer_covers(caller, a.region_code) THEN
        RAISE EXCEPTION 'action % not found in the regions of %', complete_action.action_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF a.status <> 'PENDING' THEN
        RAISE EXCEPTION 'action % (%) is %: only pending actions are completed',
                        a.action_id, a.action, a.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO ql.action_completion (about_result_id, action, note, completed_by, completed_at)
    VALUES (a.about_result_id, a.action, complete_action.note, caller, now());
    INSERT INTO ql.officer_log (login, what, case_no, action_id, detail)
    VALUES (caller, 'COMPLETE', a.case_no, a.action_id, a.action || coalesce(': ' || complete_action.note, ''));
    PERFORM ql.recompute(ARRAY[a.credit_code], true);
END $$;

-- Functions are executable by PUBLIC unless revoked: revoke all, then grant.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA ql REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA ql TO ql_officer, ql_triage;

GRANT SELECT ON ql.case_board, ql.case_plan, ql.case_diagnosis, ql.overdue_actions,
                ql.zero_out_progress, ql.zero_out_summary, ql.enterprise_dossier,
                ql.unmatched_recheck
   TO ql_officer;
GRANT EXECUTE ON FUNCTION ql.assign_case(text, text), ql.complete_action(bigint, text)
   TO ql_officer;

GRANT SELECT, INSERT ON ql.inspection_result TO ql_triage;
GRANT SELECT, INSERT, UPDATE ON ql.consumer_offset TO ql_triage;
GRANT SELECT, INSERT ON ql.rejected_record TO ql_triage;
GRANT USAGE ON SEQUENCE ql.rejected_record_rejected_id_seq TO ql_triage;
-- A dead letter re-driven (ql-triage --redrive) is marked, nothing else.
GRANT UPDATE (redriven_at) ON ql.rejected_record TO ql_triage;
-- SIGHUP re-applies edited cause rules (ql-triage calls ql.recategorize).
GRANT EXECUTE ON FUNCTION ql.retriage(text[], boolean), ql.recategorize()
   TO ql_triage;
DO $$
BEGIN
    IF to_regclass('ql.schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON ql.schema_migrations TO ql_triage;
    END IF;
END $$;

-- Defence in depth: should anyone grant a derived table to a role by
-- mistake, row-level security without a policy still shows it nothing (the
-- owner, and so the views and the functions above, are not subject to it).
ALTER TABLE ql.enterprise ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.finding ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.enforcement_case ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.plan_action ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.followup_link ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.officer ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.case_assignment ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.action_completion ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.officer_log ENABLE ROW LEVEL SECURITY;
