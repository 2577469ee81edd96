-- 017_case_summary: what the case board shows of each case, derived with
-- the case instead of worked out for every case at every look.
--
-- ql.case_board found each open case's next action (a probe of its plan),
-- its objection state (a probe of its acts) and whether its close waits for
-- a supervisor (a probe of its plan again) for every case of the officer's
-- regions before sorting: some 30 ms for a district of 1,700 open cases,
-- most of the workbench's board page.  None of these depends on the day: the
-- next action and the close request follow the plan's state, the dates of
-- service and objection follow the acts, and all of them change only when
-- ql.recompute runs (a result, an officer's input).  So ql.recompute now
-- stores them on the case (ql.derive_case_summary, after the plans), and
-- the board reads them; only "overdue" and the objection state, which
-- compare with today, are computed in the view.

ALTER TABLE ql.enforcement_case
    ADD COLUMN next_action text,
    ADD COLUMN next_due date,
    ADD COLUMN next_due_provisional boolean,
    ADD COLUMN served_on date,
    ADD COLUMN objection_filed_on date,
    ADD COLUMN close_requested boolean NOT NULL DEFAULT false;

-- The summary of the cases this call derived (the cases of ql_work.case_state
-- and those of the originals whose plans were derived again).
CREATE FUNCTION ql.derive_case_summary() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH touched AS (
        SELECT d.case_no FROM ql_work.case_state d
        UNION
        SELECT n.case_no
          FROM ql_work.replan x
         CROSS JOIN LATERAL (SELECT n.case_no FROM ql.nonconformity n
                              WHERE n.result_id = x.result_id OFFSET 0) n
         WHERE n.case_no IS NOT NULL
    ), s AS (
        SELECT t.case_no, na.action, na.due_date, na.provisional, ax.served_on, ax.filed_on,
               EXISTS (SELECT 1 FROM ql.plan_action p
                        WHERE p.case_no = t.case_no AND p.action = 'LICENSE_REVOCATION'
                          AND p.done_by IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM ql.case_closure cc WHERE cc.case_no = t.case_no)
                   AS close_requested
          FROM touched t
          LEFT JOIN LATERAL (
                SELECT p.action, p.due_date, p.provisional
                  FROM ql.plan_action p JOIN ql.action_kind k ON k.action = p.action
                 WHERE p.case_no = t.case_no AND p.status = 'PENDING'
                   AND p.action <> 'OBJECTION_WINDOW'
                 ORDER BY p.due_date, k.sort_order, p.action_id
                 LIMIT 1) na ON true
         CROSS JOIN LATERAL (
                SELECT max(a.on_date) FILTER (WHERE a.act = 'SERVED') AS served_on,
                       max(a.on_date) FILTER (WHERE a.act = 'OBJECTION_FILED') AS filed_on
                  FROM ql.case_act a
                 WHERE a.case_no = t.case_no AND a.revoked_at IS NULL
                   AND a.act IN ('SERVED', 'OBJECTION_FILED')) ax
    )
    UPDATE ql.enforcement_case c
       SET next_action = s.action, next_due = s.due_date, next_due_provisional = s.provisional,
           served_on = s.served_on, objection_filed_on = s.filed_on,
           close_requested = s.close_requested
      FROM s
     WHERE c.case_no = s.case_no
       AND (c.next_action, c.next_due, c.next_due_provisional, c.served_on,
            c.objection_filed_on, c.close_requested)
           IS DISTINCT FROM
           (s.action, s.due_date, s.provisional, s.served_on, s.filed_on, s.close_requested);
END $$;

-- As in 012, with the summary derived after the plans.
CREATE OR REPLACE FUNCTION ql.recompute(codes text[], full_recompute boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
    PERFORM ql.workspace_trim();
    -- One transaction at a time derives an enterprise's state (see 012).
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (codes)
     ORDER BY e.credit_code FOR NO KEY UPDATE;

    PERFORM ql.derive_links(codes, full_recompute);
    PERFORM ql.derive_new_originals(codes, full_recompute);
    PERFORM ql.derive_folds(codes, full_recompute);
    PERFORM ql.derive_groups();
    PERFORM ql.derive_cases();
    PERFORM ql.derive_plans(full_recompute);
    PERFORM ql.derive_case_summary();
    PERFORM ql.derive_names(codes, full_recompute);

    DELETE FROM ql.triage_pending p WHERE p.credit_code = ANY (codes);
    PERFORM ql.workspace_clear();
END $$;

-- The stored cases' summary, once.
WITH s AS (
    SELECT c.case_no, na.action, na.due_date, na.provisional, ax.served_on, ax.filed_on,
           EXISTS (SELECT 1 FROM ql.plan_action p
                    WHERE p.case_no = c.case_no AND p.action = 'LICENSE_REVOCATION'
                      AND p.done_by IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM ql.case_closure cc WHERE cc.case_no = c.case_no)
               AS close_requested
      FROM ql.enforcement_case c
      LEFT JOIN LATERAL (
            SELECT p.action, p.due_date, p.provisional
              FROM ql.plan_action p JOIN ql.action_kind k ON k.action = p.action
             WHERE p.case_no = c.case_no AND p.status = 'PENDING'
               AND p.action <> 'OBJECTION_WINDOW'
             ORDER BY p.due_date, k.sort_order, p.action_id
             LIMIT 1) na ON true
     CROSS JOIN LATERAL (
            SELECT max(a.on_date) FILTER (WHERE a.act = 'SERVED') AS served_on,
                   max(a.on_date) FILTER (WHERE a.act = 'OBJECTION_FILED') AS filed_on
              FROM ql.case_act a
             WHERE a.case_no = c.case_no AND a.revoked_at IS NULL
               AND a.act IN ('SERVED', 'OBJECTION_FILED')) ax
)
UPDATE ql.enforcement_case c
   SET next_action = s.action, next_due = s.due_date, next_due_provisional = s.provisional,
       served_on = s.served_on, objection_filed_on = s.filed_on, close_requested = s.close_requested
  FROM s WHERE c.case_no = s.case_no;

-- The board from the stored summary (same columns as 015).
CREATE OR REPLACE VIEW ql.case_board WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code, c.status,
       c.priority, c.open_findings, c.serious_findings,
       c.next_action, c.next_due,
       coalesce(c.next_due < ql.cst_today(), false) AS overdue,
       c.officer, c.opened_at,
       ql.region_name(e.region_code) AS region_name,
       ql.title('case_status', c.status) AS status_title,
       ql.title('priority', c.priority) AS priority_title,
       k.title AS next_action_title, c.next_due_provisional,
       o.objection, ql.title('objection', o.objection) AS objection_title,
       c.close_requested,
       c.repeat_offender
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  LEFT JOIN ql.action_kind k ON k.action = c.next_action
 CROSS JOIN LATERAL (
       SELECT CASE WHEN c.objection_filed_on IS NOT NULL THEN
                        CASE WHEN c.objection_filed_on > c.served_on + 15 THEN 'FILED_LATE'
                             ELSE 'FILED' END
                   WHEN c.served_on IS NULL THEN 'NOT_SERVED'
                   WHEN ql.cst_today() <= c.served_on + 15 THEN 'OPEN'
                   ELSE 'CLOSED' END AS objection) o;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.title(text, text), ql.quarter_of(text), ql.region_name(text),
                          ql.cst_today()
   TO ql_officer;
