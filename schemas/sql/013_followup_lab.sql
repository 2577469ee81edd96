-- 013_followup_lab: a lab cannot clear another lab's findings.
--
-- A RECHECK or RETEST names its original by refers_to; until now only the
-- enterprise was checked, so any lab could clear any lab's findings by
-- naming them.  Rechecks are organised by the bureau and may be done by
-- another lab, so: a follow-up from the original result's lab, or from a
-- lab registered for follow-ups, applies as before; any other waits in
-- ql.unmatched_recheck with reason OTHER_LAB until an officer of the region
-- accepts it with ql.accept_followup(result_id) (logged).  Registrations
-- and acceptances are inputs like the officers' others: the derived state
-- stays a function of the results and the inputs, whatever their order.

-- Labs the bureau has commissioned for follow-ups: lab_code may carry out
-- rechecks and retests of any lab's results (plan_id NULL), or of those
-- under one spot-check plan (the original's plan_id or the follow-up's
-- own).  Kept by the schema owner (administrators); changing it re-derives
-- the enterprises that have follow-ups from the labs concerned.
CREATE TABLE ql.followup_lab (
    lab_code       text NOT NULL CHECK (lab_code <> ''),
    plan_id        text,
    note           text,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (lab_code, plan_id)
);

-- Follow-ups from other labs that an officer accepted.
CREATE TABLE ql.followup_acceptance (
    result_id    text PRIMARY KEY,
    note         text,
    accepted_by  text NOT NULL,
    accepted_at  timestamptz NOT NULL
);

ALTER TABLE ql.followup_lab ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.followup_acceptance ENABLE ROW LEVEL SECURITY;

-- The officer log records acceptances too; an entry may name the result it
-- is about.
ALTER TABLE ql.officer_log DROP CONSTRAINT officer_log_what_check;
ALTER TABLE ql.officer_log ADD CONSTRAINT officer_log_what_check
    CHECK (what IN ('ASSIGN', 'COMPLETE', 'ACCEPT'));
ALTER TABLE ql.officer_log ADD COLUMN result_id text;

-- Rechecks and retests to link to their original: the new ones and
-- those still waiting (every one, when full).  As in 012, and a follow-up
-- applies to its original only if it comes from the original's lab, from a
-- lab registered in ql.followup_lab for it, or an officer accepted it
-- (ql.followup_acceptance); any other waits with reason OTHER_LAB.
CREATE OR REPLACE FUNCTION ql.derive_links(codes text[], full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql_work.followup (result_id, credit_code, kind, verdict, refers_to, reported_at)
    SELECT p.result_id, p.credit_code, p.kind, p.verdict, p.refers_to, p.reported_at
      FROM ql.triage_pending p
     WHERE NOT full_recompute AND p.credit_code = ANY (codes) AND p.kind <> 'SUPERVISION'
    UNION
    SELECT l.result_id, l.credit_code, l.kind, l.verdict, r.refers_to, l.reported_at
      FROM ql.followup_link l
     CROSS JOIN LATERAL (SELECT r.refers_to FROM ql.inspection_result r
                          WHERE r.result_id = l.result_id OFFSET 0) r
     WHERE NOT full_recompute AND l.credit_code = ANY (codes) AND l.original_result_id IS NULL
    UNION ALL
    SELECT r.result_id, r.credit_code, r.kind, r.verdict, r.refers_to, r.reported_at
      FROM ql.inspection_result r
     WHERE full_recompute AND r.credit_code = ANY (codes) AND r.kind <> 'SUPERVISION';

    -- Follow each refers_to chain back to a SUPERVISION result (bounded, so
    -- that a cycle cannot loop), and store the link.
    WITH RECURSIVE chain AS (
        SELECT f.result_id, f.refers_to AS target, 1 AS depth
          FROM ql_work.followup f
        UNION ALL
        SELECT c.result_id, t.refers_to, c.depth + 1
          FROM chain c
         CROSS JOIN LATERAL (SELECT r.refers_to, r.kind FROM ql.inspection_result r
                              WHERE r.result_id = c.target OFFSET 0) t
         WHERE t.kind <> 'SUPERVISION' AND t.refers_to IS NOT NULL AND c.depth < 32
    ), ends AS (
        SELECT DISTINCT ON (result_id) result_id, target FROM chain ORDER BY result_id, depth DESC
    ), resolved AS (
        SELECT f.result_id, f.credit_code, f.kind, f.verdict, f.reported_at,
               CASE WHEN o.kind = 'SUPERVISION' AND o.credit_code = f.credit_code
                         AND (k.lab_ok OR o.verdict = 'CONFORMING')
                    THEN o.result_id END AS original_result_id,
               CASE WHEN f.refers_to IS NULL THEN 'NO_REFERENCE'
                    WHEN o.result_id IS NULL THEN 'ORIGINAL_MISSING'
                    WHEN o.kind <> 'SUPERVISION' THEN 'CHAIN_BROKEN'
                    WHEN o.credit_code <> f.credit_code THEN 'OTHER_ENTERPRISE'
                    WHEN o.verdict = 'CONFORMING' THEN 'ORIGINAL_CONFORMING'
                    WHEN NOT k.lab_ok THEN 'OTHER_LAB' END AS reason
          FROM ql_work.followup f
          JOIN ends e USING (result_id)
          LEFT JOIN LATERAL (SELECT r.result_id, r.kind, r.credit_code, r.verdict,
                                    r.record -> 'lab' ->> 'code' AS lab, r.record ->> 'plan_id' AS plan_id
                               FROM ql.inspection_result r
                              WHERE r.result_id = e.target OFFSET 0) o ON true
          LEFT JOIN LATERAL (SELECT r.record -> 'lab' ->> 'code' AS lab, r.record ->> 'plan_id' AS plan_id
                               FROM ql.inspection_result r
                              WHERE r.result_id = f.result_id OFFSET 0) fr ON true
         CROSS JOIN LATERAL (
               SELECT fr.lab = o.lab
                      OR EXISTS (SELECT 1 FROM ql.followup_lab fl
                                  WHERE fl.lab_code = fr.lab
                                    AND (fl.plan_id IS NULL OR fl.plan_id IN (o.plan_id, fr.plan_id)))
                      OR EXISTS (SELECT 1 FROM ql.followup_acceptance a
                                  WHERE a.result_id = f.result_id) AS lab_ok) k
    )
    INSERT INTO ql.followup_link AS l (result_id, credit_code, kind, verdict, reported_at, pos,
                                       original_result_id, effect, reason)
    SELECT r.result_id, r.credit_code, r.kind, r.verdict, r.reported_at,
           ql.result_pos(r.reported_at, r.result_id), r.original_result_id,
           CASE WHEN r.original_result_id IS NULL THEN 'WAITING' ELSE 'IGNORED' END, r.reason
      FROM resolved r
    ON CONFLICT (result_id) DO UPDATE
       SET original_result_id = excluded.original_result_id, reason = excluded.reason,
           effect = CASE WHEN excluded.original_result_id IS NULL THEN 'WAITING'
                         WHEN l.original_result_id IS NULL THEN 'IGNORED' ELSE l.effect END
     WHERE (l.original_result_id, l.reason) IS DISTINCT FROM
           (excluded.original_result_id, excluded.reason);
END $$;

-- Accept a follow-up from another lab (one waiting with reason OTHER_LAB),
-- as an officer covering its enterprise's region: it then applies to its
-- original like any other.  Recorded in ql.followup_acceptance (kept across
-- re-triage) and ql.officer_log.
CREATE FUNCTION ql.accept_followup(result_id text, note text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    l record;
BEGIN
    SELECT fl.result_id, fl.credit_code, fl.reason, e.region_code INTO l
      FROM ql.followup_link fl
      JOIN ql.enterprise e ON e.credit_code = fl.credit_code
     WHERE fl.result_id = accept_followup.result_id
       FOR UPDATE OF fl;
    IF NOT FOUND OR NOT ql.officer_covers(caller, l.region_code) THEN
        RAISE EXCEPTION 'result % not found in the regions of %', accept_followup.result_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF l.reason IS DISTINCT FROM 'OTHER_LAB' THEN
        RAISE EXCEPTION 'result % is not waiting for acceptance (%)', l.result_id,
                        coalesce(l.reason, 'applied')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO ql.followup_acceptance (result_id, note, accepted_by, accepted_at)
    VALUES (l.result_id, accept_followup.note, caller, now());
    PERFORM ql.recompute(ARRAY[l.credit_code], true);
    INSERT INTO ql.officer_log (login, what, case_no, result_id, detail)
    SELECT caller, 'ACCEPT', n.case_no, l.result_id, accept_followup.note
      FROM ql.followup_link fl
      LEFT JOIN ql.nonconformity n ON n.result_id = fl.original_result_id
     WHERE fl.result_id = l.result_id;
END $$;

-- A registration added, changed or removed: the enterprises with follow-ups
-- from the labs concerned are derived again.
CREATE FUNCTION ql.followup_lab_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    labs text[] := '{}';
    codes text[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        labs := labs || ARRAY(SELECT lab_code FROM new_rows);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        labs := labs || ARRAY(SELECT lab_code FROM old_rows);
    END IF;
    SELECT array_agg(DISTINCT l.credit_code) INTO codes
      FROM ql.followup_link l
      JOIN ql.inspection_result r ON r.result_id = l.result_id
     WHERE r.record -> 'lab' ->> 'code' = ANY (labs);
    IF codes IS NOT NULL THEN
        PERFORM ql.retriage(codes, true);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER followup_lab_inserted AFTER INSERT ON ql.followup_lab
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ql.followup_lab_changed();
CREATE TRIGGER followup_lab_updated AFTER UPDATE ON ql.followup_lab
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ql.followup_lab_changed();
CREATE TRIGGER followup_lab_deleted AFTER DELETE ON ql.followup_lab
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ql.followup_lab_changed();

-- Waiting follow-ups show their lab, so that an officer can judge one
-- waiting for acceptance.
CREATE OR REPLACE VIEW ql.unmatched_recheck WITH (security_barrier) AS
SELECT l.result_id, r.kind, r.verdict, r.refers_to, l.credit_code, e.name AS enterprise_name,
       e.region_code, r.reported_at, l.reason, r.stored_at,
       r.record -> 'lab' ->> 'code' AS lab_code, r.record -> 'lab' ->> 'name' AS lab_name
  FROM ql.followup_link l
  JOIN ql.inspection_result r ON r.result_id = l.result_id
  JOIN ql.enterprise e ON e.credit_code = l.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 WHERE l.original_result_id IS NULL;

REVOKE EXECUTE ON FUNCTION ql.accept_followup(text, text), ql.followup_lab_changed() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.accept_followup(text, text) TO ql_officer;
