-- 005_views: what case officers query (docs/officers.md explains every
-- column).  Each view is a security barrier that shows only enterprises whose
-- region_code starts with one of the current login's ql.officer prefixes; a
-- login that is not in ql.officer sees no rows.  The views read the tables
-- with their owner's rights, so ql_officer needs no access to any table.
-- "Today" is the current date in China Standard Time (UTC+8).

-- The current login's regions as ranges of region codes: a prefix P covers
-- the codes from P up to P || ':' (':' sorts right after '9' in collation
-- "C"), and a prefix inside another of the login's prefixes is dropped, so
-- the ranges never overlap and an index on (region_code COLLATE "C") finds
-- them.  Not
-- granted to anyone: the views below use it with their owner's rights.
CREATE VIEW ql.officer_scope WITH (security_barrier) AS
SELECT o.region_prefix COLLATE "C" AS lo, (o.region_prefix || ':') COLLATE "C" AS hi
  FROM ql.officer o
 WHERE o.login = current_user
   AND NOT EXISTS (SELECT 1 FROM ql.officer o2
                    WHERE o2.login = o.login AND o2.region_prefix <> o.region_prefix
                      AND starts_with(o.region_prefix, o2.region_prefix));

CREATE VIEW ql.case_board WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code, c.status,
       c.priority, c.open_findings, c.serious_findings,
       n.action AS next_action, n.due_date AS next_due,
       coalesce(n.due_date < ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date, false) AS overdue,
       c.officer, c.opened_at
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  LEFT JOIN LATERAL (
        SELECT p.action, p.due_date
          FROM ql.plan_action p JOIN ql.action_kind k ON k.action = p.action
         WHERE p.case_no = c.case_no AND p.status = 'PENDING'
         ORDER BY p.due_date, k.sort_order, p.action_id
         LIMIT 1) n ON true;

-- The diagnosis of each case (把脉问诊): one row per cause category found.
CREATE VIEW ql.case_diagnosis WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code,
       d.category, coalesce(k.title, d.category) AS category_title, d.failed_items, d.findings,
       d.open_findings, d.serious_findings, k.diagnosis, k.measures
  FROM ql.enforcement_case c
  JOIN ql.enterprise e ON e.credit_code = c.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN LATERAL (
        SELECT f.category,
               string_agg(DISTINCT f.item_name, '、') AS failed_items,
               count(*) AS findings,
               count(*) FILTER (WHERE f.status = 'OPEN') AS open_findings,
               count(*) FILTER (WHERE f.severity = 'SERIOUS') AS serious_findings
          FROM ql.finding f
         WHERE f.case_no = c.case_no
         GROUP BY f.category) d ON true
  LEFT JOIN ql.cause_category k ON k.category = d.category;

-- Each case's whole 一企一策 plan: one row per dated action, with the case's
-- diagnosis (categories, their failed items, likely causes) and the
-- recommended measures.
CREATE VIEW ql.case_plan WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code,
       c.status AS case_status, c.priority, d.diagnosis, d.measures,
       p.action_id, p.action, k.title AS action_title, p.about_result_id,
       p.due_date, p.not_before, p.status, p.measure, p.basis,
       p.done_at, p.done_by, p.done_by_result, p.note,
       (p.status = 'PENDING'
        AND p.due_date < ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date) AS overdue
  FROM ql.enforcement_case c
  JOIN ql.enterprise e ON e.credit_code = c.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.plan_action p ON p.case_no = c.case_no
  JOIN ql.action_kind k ON k.action = p.action
  LEFT JOIN LATERAL (
        SELECT string_agg(x.title || '（' || x.category || '）：' || x.items || '。' || x.diagnosis,
                          ' ' ORDER BY x.sort_order) AS diagnosis,
               string_agg(x.title || '：' || x.measures, ' ' ORDER BY x.sort_order) AS measures
          FROM (SELECT kc.category, kc.title, kc.sort_order, kc.diagnosis, kc.measures,
                       string_agg(DISTINCT f.item_name, '、') AS items
                  FROM ql.finding f JOIN ql.cause_category kc ON kc.category = f.category
                 WHERE f.case_no = c.case_no
                 GROUP BY kc.category, kc.title, kc.sort_order, kc.diagnosis, kc.measures) x
       ) d ON true;

-- PENDING actions past their due date.  Only open cases have PENDING
-- actions (those of a CLEARED or CLOSED case are DONE or CANCELLED).
CREATE VIEW ql.overdue_actions WITH (security_barrier) AS
SELECT p.action_id, p.case_no, e.name AS enterprise_name, p.action, p.due_date,
       ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date - p.due_date AS days_overdue,
       c.credit_code, e.region_code, c.priority, c.officer, k.title AS action_title
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  JOIN ql.plan_action p
    ON p.case_no = c.case_no
   AND p.due_date < ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date
  JOIN ql.action_kind k ON k.action = p.action
 WHERE p.status = 'PENDING';

-- 清零 progress per region and cause category.  A nonconforming result
-- counts once in each category it has findings in; it is cleared when its
-- findings are cleared (passing recheck) or voided (passing retest).  The
-- region is the one the result reported for the enterprise.
CREATE VIEW ql.zero_out_progress WITH (security_barrier) AS
SELECT a.region_code, a.category, coalesce(k.title, a.category) AS category_title,
       a.nonconforming, a.cleared, a.nonconforming - a.cleared AS open,
       round(a.cleared::numeric / a.nonconforming, 4) AS clear_rate
  FROM (SELECT f.region_code, f.category,
               count(DISTINCT f.result_id) AS nonconforming,
               count(DISTINCT f.result_id) FILTER (WHERE f.status <> 'OPEN') AS cleared
          FROM ql.officer_scope s
          JOIN ql.finding f ON f.region_code COLLATE "C" >= s.lo AND f.region_code COLLATE "C" < s.hi
         GROUP BY f.region_code, f.category) a
  LEFT JOIN ql.cause_category k ON k.category = a.category;

-- The same per region, each nonconforming result counted once.
CREATE VIEW ql.zero_out_summary WITH (security_barrier) AS
SELECT n.region_code, count(*) AS nonconforming,
       count(*) FILTER (WHERE n.status <> 'OPEN') AS cleared,
       count(*) FILTER (WHERE n.status = 'OPEN') AS open,
       round(count(*) FILTER (WHERE n.status <> 'OPEN')::numeric / count(*), 4) AS clear_rate
  FROM ql.officer_scope s
  JOIN ql.nonconformity n ON n.region_code COLLATE "C" >= s.lo AND n.region_code COLLATE "C" < s.hi
 GROUP BY n.region_code;

CREATE VIEW ql.enterprise_dossier WITH (security_barrier) AS
SELECT e.credit_code, e.name AS enterprise_name, e.region_code,
       n.results, nc.nonconforming,
       l.result_id AS last_result_id, l.kind AS last_kind, l.verdict AS last_verdict,
       l.reported_at AS last_reported_at,
       oc.case_no AS open_case, oc.status AS open_case_status, oc.priority AS open_case_priority,
       coalesce(oc.open_findings, 0) AS open_findings,
       cs.cases, cs.cleared_cases
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 CROSS JOIN LATERAL (SELECT count(*) AS results FROM ql.inspection_result r
                      WHERE r.credit_code = e.credit_code) n
 CROSS JOIN LATERAL (SELECT count(*) AS nonconforming FROM ql.nonconformity n
                      WHERE n.credit_code = e.credit_code) nc
  LEFT JOIN LATERAL (SELECT r.result_id, r.kind, r.verdict, r.reported_at
                       FROM ql.inspection_result r
                      WHERE r.credit_code = e.credit_code
                      ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) l ON true
  LEFT JOIN ql.enforcement_case oc
         ON oc.credit_code = e.credit_code AND oc.status IN ('OPEN', 'ESCALATED')
 CROSS JOIN LATERAL (SELECT count(*) AS cases,
                            count(*) FILTER (WHERE c.status = 'CLEARED') AS cleared_cases
                       FROM ql.enforcement_case c WHERE c.credit_code = e.credit_code) cs;

-- Rechecks and retests waiting for their original: the result their
-- refers_to chain leads to is not stored (yet), is not a SUPERVISION result,
-- or belongs to another enterprise.  They are applied as soon as the
-- original arrives.
CREATE VIEW ql.unmatched_recheck WITH (security_barrier) AS
SELECT l.result_id, r.kind, r.verdict, r.refers_to, l.credit_code, e.name AS enterprise_name,
       e.region_code, r.reported_at, l.reason, r.stored_at
  FROM ql.followup_link l
  JOIN ql.inspection_result r ON r.result_id = l.result_id
  JOIN ql.enterprise e ON e.credit_code = l.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 WHERE l.original_result_id IS NULL;
