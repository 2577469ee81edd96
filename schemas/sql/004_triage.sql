-- 004_triage: ql.retriage, the 清零 triage itself.  ql-triage calls
--     SELECT ql.retriage($1::text[])
-- in the transaction that inserted a batch of results, with the credit codes
-- of the enterprises whose results it inserted.
--
-- The derived state (findings, originals, cases, plans) is a function of the
-- enterprise's results, ordered by (reported_at, result_id), and of the
-- officers' recorded inputs -- never of the order in which results arrived
-- (only newly allocated case numbers can differ).  ql.recompute keeps it so
-- incrementally: it applies the enterprise's new results, re-derives the
-- originals they touch, re-groups the originals from the earliest one
-- touched onwards into cases, and re-derives the plans of the originals
-- whose state changed; everything is reconciled with the stored rows by
-- natural keys.  With full_recompute it re-derives everything of the
-- enterprise from scratch (the same result by construction; the tests check
-- both against each other).
--
-- The rules, as ql.recompute applies them (now at the head of 012_derive_steps):
--   original   a SUPERVISION result that is NONCONFORMING (one finding per FAIL
--              item) or REFUSED (one SERIOUS finding).  RECHECK and RETEST
--              results open no findings of their own: they act on their
--              original, reached through refers_to (a chain of rechecks is
--              followed back to the SUPERVISION result).
--   fold       the original's rechecks and its first retest (复检 is final)
--              in (reported_at, result_id) order: the first CONFORMING one
--              settles the findings -- a RECHECK clears them, a RETEST voids
--              them; before that, each failing RECHECK is a failure (1st:
--              PUBLIC_ANNOUNCEMENT + SECOND_RECHECK, 2nd: SUSPEND_REORGANIZE,
--              3rd: LICENSE_REVOCATION) and a failing RETEST confirms them.
--              A REFUSED recheck or retest counts as failing.
--   cases      originals in order; one opens a new case unless an earlier
--              original is still unsettled at its position; a case whose
--              findings are all settled is CLEARED at the settling result's
--              reported_at.  ESCALATED while an open original has a failed
--              recheck; CLOSED once an officer completed its
--              LICENSE_REVOCATION.
--   repeat     an original with another non-voided original of the same
--              enterprise up to 365 days (CST dates) before it.
--   plan       per original, dated from its reported_at date in CST:
--              STOP_SALE +0, OBJECTION_WINDOW +15 (not for REFUSED),
--              ENFORCEMENT_REFERRAL +15 (SERIOUS findings), DIAGNOSIS +30,
--              KEY_SUPERVISION +30 (repeat), RECTIFY +60, RECHECK +75; per
--              failed recheck, dated from its date: PUBLIC_ANNOUNCEMENT +0,
--              SECOND_RECHECK +90 (not before +60), SUSPEND_REORGANIZE +0,
--              LICENSE_REVOCATION +0.  An action is DONE when an officer
--              completed it or a result carried it out (RECHECK,
--              SECOND_RECHECK: the next recheck; OBJECTION_WINDOW: the
--              retest), CANCELLED once its original is settled or its case is
--              CLOSED, PENDING otherwise.
--   priority   P1: an open SERIOUS finding, ESCALATED, or a repeat offender;
--              P2: two or more open GENERAL findings; P3 otherwise.  (A
--              settled case keeps the priority its findings gave it.)

-- A result's position among an enterprise's results as a text key that sorts
-- (collation "C") like (reported_at, result_id).  '~' sorts after every
-- position: "never".  STABLE like to_char, not IMMUTABLE (no index
-- uses it), so that it is inlined into the statements that call it
-- rather than called row by row.
CREATE FUNCTION ql.result_pos(reported_at timestamptz, result_id text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN to_char(reported_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || '|' || result_id;

-- The temp tables ql.recompute works in, created once per session and
-- emptied at every call.  They are only ever inserted into (no UPDATE), and
-- emptied with DELETE rather than TRUNCATE, which costs more than the
-- derivation of a whole batch; a TRUNCATE drops the dead rows once they
-- pass a few megabytes.  They are not ANALYZEd: the planner sizes them by
-- their pages, which is close enough to pick index probes into the large
-- tables, and ANALYZE per table and call took nearly a third of the
-- derivation of a batch of 200 results.
CREATE FUNCTION ql.triage_workspace() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regclass('pg_temp.qlt_fu') IS NOT NULL THEN
        IF pg_relation_size('pg_temp.qlt_act') + pg_relation_size('pg_temp.qlt_scope')
           + pg_relation_size('pg_temp.qlt_ev') > 4 * 1024 * 1024 THEN
            TRUNCATE pg_temp.qlt_fu, pg_temp.qlt_new, pg_temp.qlt_aff, pg_temp.qlt_ev,
                     pg_temp.qlt_fold, pg_temp.qlt_scope, pg_temp.qlt_case, pg_temp.qlt_cd,
                     pg_temp.qlt_x, pg_temp.qlt_act;
        ELSE
            DELETE FROM pg_temp.qlt_fu;
            DELETE FROM pg_temp.qlt_new;
            DELETE FROM pg_temp.qlt_aff;
            DELETE FROM pg_temp.qlt_ev;
            DELETE FROM pg_temp.qlt_fold;
            DELETE FROM pg_temp.qlt_scope;
            DELETE FROM pg_temp.qlt_case;
            DELETE FROM pg_temp.qlt_cd;
            DELETE FROM pg_temp.qlt_x;
            DELETE FROM pg_temp.qlt_act;
        END IF;
        RETURN;
    END IF;
    -- RECHECK/RETEST results to link to their original.
    CREATE TEMP TABLE qlt_fu (
        result_id text PRIMARY KEY, credit_code text NOT NULL, kind text NOT NULL,
        verdict text NOT NULL, refers_to text, reported_at timestamptz NOT NULL);
    -- Originals seen for the first time, with their failed items; stored
    -- in ql.nonconformity once their case is known.
    CREATE TEMP TABLE qlt_new (
        result_id text PRIMARY KEY, credit_code text NOT NULL, verdict text NOT NULL,
        reported_at timestamptz NOT NULL, region_code text NOT NULL, fails jsonb NOT NULL,
        has_serious boolean NOT NULL);
    CREATE INDEX ON qlt_new (credit_code);
    -- Originals whose fold is derived again.
    CREATE TEMP TABLE qlt_aff (
        result_id text PRIMARY KEY, credit_code text NOT NULL, pos text COLLATE "C" NOT NULL);
    -- Their rechecks and retests, with what each does.
    CREATE TEMP TABLE qlt_ev (
        result_id text PRIMARY KEY, original_result_id text NOT NULL, kind text NOT NULL,
        verdict text NOT NULL, reported_at timestamptz NOT NULL, pos text COLLATE "C" NOT NULL,
        considered boolean NOT NULL, term_pos text COLLATE "C", failure_no integer,
        next_recheck_id text, next_recheck_at timestamptz);
    CREATE INDEX ON qlt_ev (original_result_id);
    CREATE TEMP TABLE qlt_fold (
        result_id text PRIMARY KEY, status text NOT NULL, settled_by text, settled_at timestamptz,
        eff_pos text COLLATE "C" NOT NULL, confirmed_by text, failed_rechecks integer NOT NULL,
        first_failed_at timestamptz, first_recheck_id text, first_recheck_at timestamptz,
        first_retest_id text, first_retest_at timestamptz);
    -- The originals re-grouped into cases: from the earliest one folded
    -- again on, per enterprise.
    CREATE TEMP TABLE qlt_scope (
        result_id text PRIMARY KEY, credit_code text NOT NULL, pos text COLLATE "C" NOT NULL,
        reported_at timestamptz NOT NULL,
        old_case_no text, old_repeat boolean, old_prefix_max text COLLATE "C",
        repeat_offender boolean NOT NULL, prefix_max_pos text COLLATE "C", run_no integer NOT NULL,
        seed_case_no text);
    CREATE INDEX ON qlt_scope (credit_code, run_no);
    CREATE TEMP TABLE qlt_case (
        credit_code text NOT NULL, run_no integer NOT NULL, opening_result_id text,
        opened_at timestamptz, case_no text, PRIMARY KEY (credit_code, run_no));
    -- The cases derived again, and their status before.
    CREATE TEMP TABLE qlt_cd (
        case_no text PRIMARY KEY, credit_code text NOT NULL, opening_result_id text NOT NULL,
        opened_at timestamptz NOT NULL, status text NOT NULL, priority text NOT NULL,
        escalated_at timestamptz, cleared_at timestamptz, cleared_by text,
        repeat_offender boolean NOT NULL, open_findings integer NOT NULL,
        serious_findings integer NOT NULL, officer text, old_status text);
    -- Originals whose plan is derived again; may_shrink: one of its actions
    -- may have to go.
    CREATE TEMP TABLE qlt_x (result_id text PRIMARY KEY, may_shrink boolean NOT NULL);
    -- The dated actions (static part) of the plans derived again.
    CREATE TEMP TABLE qlt_act (
        about_result_id text NOT NULL, action text NOT NULL, original_result_id text NOT NULL,
        due_date date NOT NULL, not_before date, measure text NOT NULL, basis text NOT NULL,
        case_no text, credit_code text NOT NULL, of_new boolean NOT NULL,
        PRIMARY KEY (about_result_id, action));
END $$;

-- Bring the derived state of the given enterprises up to date with their
-- results (see the top of this file).  Internal: called by ql.retriage,
-- ql.complete_action and the maintenance functions.
-- Most statements join a small set (the batch's originals, actions, cases)
-- to large tables by their keys: the LATERAL ... OFFSET 0 subqueries make
-- those joins index probes whatever the large tables' statistics say (they
-- lag behind while results stream in); random_page_cost says that the
-- pages probed are in memory; JIT is off, its compile time would dwarf
-- these statements.  Every statement is planned at every call
-- (force_custom_plan) for the sizes at hand: a generic plan, kept for the
-- session, would keep the sequential scans chosen while the tables were
-- small.  The update of the actions' state joins by action_id
-- with hash and merge joins off for that statement only (the function's
-- SET clauses restore them on exit): a hash join would read every plan
-- action to update a few thousand.
CREATE FUNCTION ql.recompute(codes text[], full_recompute boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
    PERFORM ql.triage_workspace();

    -- 0. One transaction at a time derives an enterprise's state.  Two
    -- group members that got results of one enterprise through different
    -- partitions, or a batch and an officer's input, would each derive it
    -- without the other's uncommitted results -- a recheck left waiting for
    -- an original that is stored.  The second waits here until the first
    -- commits; every statement below then sees what it committed.  Locked
    -- in code order, so two such transactions cannot deadlock here.
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (codes)
     ORDER BY e.credit_code FOR NO KEY UPDATE;

    -- 1. Rechecks and retests to link to their original: the new ones and
    -- those still waiting (every one, when full).
    INSERT INTO pg_temp.qlt_fu (result_id, credit_code, kind, verdict, refers_to, reported_at)
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
          FROM pg_temp.qlt_fu f
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
                    THEN o.result_id END AS original_result_id,
               CASE WHEN f.refers_to IS NULL THEN 'NO_REFERENCE'
                    WHEN o.result_id IS NULL THEN 'ORIGINAL_MISSING'
                    WHEN o.kind <> 'SUPERVISION' THEN 'CHAIN_BROKEN'
                    WHEN o.credit_code <> f.credit_code THEN 'OTHER_ENTERPRISE'
                    WHEN o.verdict = 'CONFORMING' THEN 'ORIGINAL_CONFORMING' END AS reason
          FROM pg_temp.qlt_fu f
          JOIN ends e USING (result_id)
          LEFT JOIN LATERAL (SELECT r.result_id, r.kind, r.credit_code, r.verdict
                               FROM ql.inspection_result r
                              WHERE r.result_id = e.target OFFSET 0) o ON true
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

    -- 2. Originals seen for the first time.  Their row and their findings
    -- are stored once their fold and case are known (step 5); until then
    -- the steps below take them from qlt_new.
    WITH fresh AS (
        SELECT p.result_id, p.credit_code, p.verdict, p.reported_at
          FROM ql.triage_pending p
         WHERE NOT full_recompute AND p.credit_code = ANY (codes)
           AND p.kind = 'SUPERVISION' AND p.verdict <> 'CONFORMING'
           AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.result_id = p.result_id)
        UNION ALL
        SELECT r.result_id, r.credit_code, r.verdict, r.reported_at
          FROM ql.inspection_result r
         WHERE full_recompute AND r.credit_code = ANY (codes)
           AND r.kind = 'SUPERVISION' AND r.verdict <> 'CONFORMING'
           AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.result_id = r.result_id)
    )
    INSERT INTO pg_temp.qlt_new (result_id, credit_code, verdict, reported_at, region_code, fails,
                                 has_serious)
    SELECT f.result_id, f.credit_code, f.verdict, f.reported_at,
           coalesce(r.record -> 'enterprise' ->> 'region_code', ''), i.fails,
           f.verdict = 'REFUSED' OR coalesce(i.serious, false)
      FROM fresh f
     CROSS JOIN LATERAL (SELECT r.record FROM ql.inspection_result r
                          WHERE r.result_id = f.result_id OFFSET 0) r
     CROSS JOIN LATERAL (
           SELECT coalesce(jsonb_agg(it.item || jsonb_build_object('item_no', it.ord,
                                                                  'is_safety', x.safety)
                                     ORDER BY it.ord), '[]') AS fails,
                  bool_or(it.item ->> 'importance' = 'A' OR x.safety) AS serious
             FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.record -> 'items') = 'array'
                                            THEN r.record -> 'items' ELSE '[]'::jsonb END)
                  WITH ORDINALITY AS it(item, ord)
            CROSS JOIN LATERAL (SELECT coalesce(lower(it.item ->> 'safety'), '')
                                       IN ('true', 't', '1', 'yes', '是') AS safety) x
            WHERE f.verdict = 'NONCONFORMING' AND it.item ->> 'verdict' = 'FAIL') i;

    -- 3. The originals to fold again: the new ones and those with a newly
    -- linked recheck or retest (all of the enterprise's when full).
    INSERT INTO pg_temp.qlt_aff (result_id, credit_code, pos)
    SELECT q.result_id, q.credit_code, ql.result_pos(q.reported_at, q.result_id)
      FROM pg_temp.qlt_new q
    UNION ALL
    SELECT n.result_id, n.credit_code, n.pos
      FROM (SELECT DISTINCT l.original_result_id AS result_id FROM pg_temp.qlt_fu f
             CROSS JOIN LATERAL (SELECT l.original_result_id FROM ql.followup_link l
                                  WHERE l.result_id = f.result_id OFFSET 0) l
             WHERE l.original_result_id IS NOT NULL) x
     CROSS JOIN LATERAL (SELECT n.result_id, n.credit_code, n.pos FROM ql.nonconformity n
                          WHERE n.result_id = x.result_id OFFSET 0) n
     WHERE NOT full_recompute
    UNION ALL
    SELECT n.result_id, n.credit_code, n.pos
      FROM ql.nonconformity n
     WHERE full_recompute AND n.credit_code = ANY (codes);

    INSERT INTO pg_temp.qlt_x (result_id, may_shrink)
    SELECT result_id, full_recompute FROM pg_temp.qlt_aff;

    -- The fold.  Every recheck counts; of the retests only the first (复检
    -- is final).  The first CONFORMING one counted settles the findings
    -- (term_pos); failing rechecks before it are numbered, each with the
    -- recheck that followed it.
    WITH ev AS (
        SELECT l.result_id, l.original_result_id, l.kind, l.verdict, l.reported_at, l.pos,
               l.kind = 'RECHECK'
               OR row_number() OVER (PARTITION BY l.original_result_id, l.kind
                                     ORDER BY l.pos) = 1 AS considered
          FROM pg_temp.qlt_aff a
         CROSS JOIN LATERAL (SELECT l.* FROM ql.followup_link l
                              WHERE l.original_result_id = a.result_id OFFSET 0) l
    ), termed AS (
        SELECT ev.*,
               min(ev.pos) FILTER (WHERE ev.considered AND ev.verdict = 'CONFORMING')
                   OVER (PARTITION BY ev.original_result_id) AS term_pos
          FROM ev
    ), rechecks AS (
        SELECT t.*,
               t.kind = 'RECHECK' AND (t.term_pos IS NULL OR t.pos <= t.term_pos) AS counted
          FROM termed t
    )
    INSERT INTO pg_temp.qlt_ev (result_id, original_result_id, kind, verdict, reported_at, pos,
                                considered, term_pos, failure_no, next_recheck_id,
                                next_recheck_at)
    SELECT r.result_id, r.original_result_id, r.kind, r.verdict, r.reported_at, r.pos,
           r.considered, r.term_pos,
           CASE WHEN r.counted AND r.verdict <> 'CONFORMING' THEN
                count(*) FILTER (WHERE r.counted AND r.verdict <> 'CONFORMING')
                    OVER (PARTITION BY r.original_result_id ORDER BY r.pos
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END,
           CASE WHEN r.counted AND r.verdict <> 'CONFORMING' THEN
                lead(r.result_id) OVER (PARTITION BY r.original_result_id, r.counted
                                        ORDER BY r.pos) END,
           CASE WHEN r.counted AND r.verdict <> 'CONFORMING' THEN
                lead(r.reported_at) OVER (PARTITION BY r.original_result_id, r.counted
                                          ORDER BY r.pos) END
      FROM rechecks r;

    INSERT INTO pg_temp.qlt_fold (result_id, status, settled_by, settled_at, eff_pos,
                                  confirmed_by, failed_rechecks, first_failed_at,
                                  first_recheck_id, first_recheck_at, first_retest_id,
                                  first_retest_at)
    SELECT a.result_id,
           CASE e.settle_kind WHEN 'RECHECK' THEN 'CLEARED' WHEN 'RETEST' THEN 'VOIDED'
                ELSE 'OPEN' END,
           e.settled_by, e.settled_at,
           CASE WHEN e.term_pos IS NULL THEN '~' ELSE greatest(e.term_pos, a.pos) END,
           e.confirmed_by, coalesce(e.failures, 0), e.first_failed_at,
           e.first_recheck_id, e.first_recheck_at, e.first_retest_id, e.first_retest_at
      FROM pg_temp.qlt_aff a
      LEFT JOIN (
            SELECT v.original_result_id, min(v.term_pos) AS term_pos,
                   (array_agg(v.kind) FILTER (WHERE v.pos = v.term_pos))[1] AS settle_kind,
                   (array_agg(v.result_id) FILTER (WHERE v.pos = v.term_pos))[1] AS settled_by,
                   (array_agg(v.reported_at) FILTER (WHERE v.pos = v.term_pos))[1] AS settled_at,
                   count(v.failure_no) AS failures,
                   min(v.reported_at) FILTER (WHERE v.failure_no IS NOT NULL) AS first_failed_at,
                   (array_agg(v.result_id ORDER BY v.pos)
                        FILTER (WHERE v.kind = 'RECHECK'
                                  AND (v.term_pos IS NULL OR v.pos <= v.term_pos)))[1] AS first_recheck_id,
                   (array_agg(v.reported_at ORDER BY v.pos)
                        FILTER (WHERE v.kind = 'RECHECK'
                                  AND (v.term_pos IS NULL OR v.pos <= v.term_pos)))[1] AS first_recheck_at,
                   (array_agg(v.result_id)
                        FILTER (WHERE v.kind = 'RETEST' AND v.considered
                                  AND (v.term_pos IS NULL OR v.pos <= v.term_pos)))[1] AS first_retest_id,
                   (array_agg(v.reported_at)
                        FILTER (WHERE v.kind = 'RETEST' AND v.considered
                                  AND (v.term_pos IS NULL OR v.pos <= v.term_pos)))[1] AS first_retest_at,
                   (array_agg(v.result_id)
                        FILTER (WHERE v.kind = 'RETEST' AND v.considered AND v.verdict <> 'CONFORMING'
                                  AND (v.term_pos IS NULL OR v.pos <= v.term_pos)))[1] AS confirmed_by
              FROM pg_temp.qlt_ev v
             GROUP BY v.original_result_id) e ON e.original_result_id = a.result_id;

    UPDATE ql.followup_link l
       SET effect = x.effect, reason = x.reason, failure_no = x.failure_no,
           next_recheck_id = x.next_recheck_id, next_recheck_at = x.next_recheck_at
      FROM (SELECT e.result_id, e.failure_no, e.next_recheck_id, e.next_recheck_at,
                   CASE WHEN f.settled_by = e.result_id THEN
                             CASE e.kind WHEN 'RECHECK' THEN 'CLEARED' ELSE 'VOIDED' END
                        WHEN e.failure_no IS NOT NULL THEN 'FAILED'
                        WHEN f.confirmed_by = e.result_id THEN 'CONFIRMED'
                        ELSE 'IGNORED' END AS effect,
                   CASE WHEN f.settled_by = e.result_id OR e.failure_no IS NOT NULL
                             OR f.confirmed_by = e.result_id THEN NULL
                        WHEN NOT e.considered THEN 'LATER_RETEST'
                        WHEN f.settled_by IS NOT NULL THEN 'AFTER_SETTLED'
                        ELSE 'NO_EFFECT' END AS reason
              FROM pg_temp.qlt_ev e JOIN pg_temp.qlt_fold f ON f.result_id = e.original_result_id) x
     WHERE l.result_id = x.result_id
       AND (l.effect, l.reason, l.failure_no, l.next_recheck_id, l.next_recheck_at)
           IS DISTINCT FROM (x.effect, x.reason, x.failure_no, x.next_recheck_id, x.next_recheck_at);

    WITH changed AS (
        UPDATE ql.nonconformity n
           SET status = f.status, settled_by = f.settled_by, settled_at = f.settled_at,
               eff_pos = f.eff_pos, confirmed_by = f.confirmed_by,
               failed_rechecks = f.failed_rechecks, first_failed_at = f.first_failed_at,
               first_recheck_id = f.first_recheck_id, first_recheck_at = f.first_recheck_at,
               first_retest_id = f.first_retest_id, first_retest_at = f.first_retest_at
          FROM pg_temp.qlt_fold f JOIN ql.nonconformity old ON old.result_id = f.result_id
         WHERE n.result_id = f.result_id
           AND (n.status, n.settled_by, n.settled_at, n.eff_pos, n.confirmed_by, n.failed_rechecks,
                n.first_failed_at, n.first_recheck_id, n.first_recheck_at, n.first_retest_id,
                n.first_retest_at)
               IS DISTINCT FROM
               (f.status, f.settled_by, f.settled_at, f.eff_pos, f.confirmed_by, f.failed_rechecks,
                f.first_failed_at, f.first_recheck_id, f.first_recheck_at, f.first_retest_id,
                f.first_retest_at)
        RETURNING n.result_id, old.failed_rechecks > 0 AS shrinks
    )
    UPDATE pg_temp.qlt_x x SET may_shrink = true
      FROM changed c WHERE x.result_id = c.result_id AND c.shrinks;

    UPDATE ql.finding fi
       SET status = f.status, resolved_by = f.settled_by,
           resolved_at = CASE WHEN f.status <> 'OPEN' THEN f.settled_at END,
           confirmed_by = f.confirmed_by
      FROM pg_temp.qlt_fold f
     WHERE fi.result_id = f.result_id
       AND (fi.status, fi.resolved_by, fi.resolved_at, fi.confirmed_by)
           IS DISTINCT FROM (f.status, f.settled_by,
                             CASE WHEN f.status <> 'OPEN' THEN f.settled_at END, f.confirmed_by);

    -- 4. Re-group, per enterprise, the originals from the earliest one
    -- folded again; the ones before keep their cases.  The original just
    -- before seeds the running maximum of eff_pos and the case to continue.
    -- The new originals (not stored yet) join the stored ones with their
    -- fold, no case and no repeat offence.
    WITH st AS (
        SELECT a.credit_code, min(a.pos) AS start_pos FROM pg_temp.qlt_aff a GROUP BY a.credit_code
    ), seed AS (
        SELECT st.credit_code, st.start_pos, p.prefix_max_pos AS seed_max, p.case_no AS seed_case_no
          FROM st
          LEFT JOIN LATERAL (SELECT p.prefix_max_pos, p.case_no FROM ql.nonconformity p
                              WHERE p.credit_code = st.credit_code AND p.pos < st.start_pos
                              ORDER BY p.pos DESC LIMIT 1) p ON true
    ), sc AS (
        SELECT n.result_id, n.credit_code, n.pos, n.reported_at, n.order_date, n.eff_pos,
               n.case_no, n.repeat_offender, n.prefix_max_pos, seed.seed_max, seed.seed_case_no
          FROM seed
         CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                              WHERE n.credit_code = seed.credit_code AND n.pos >= seed.start_pos
                              OFFSET 0) n
        UNION ALL
        SELECT q.result_id, q.credit_code, a.pos, q.reported_at, ql.cst_date(q.reported_at),
               f.eff_pos, NULL, false, NULL, seed.seed_max, seed.seed_case_no
          FROM pg_temp.qlt_new q
          JOIN pg_temp.qlt_aff a ON a.result_id = q.result_id
          JOIN pg_temp.qlt_fold f ON f.result_id = q.result_id
          JOIN seed ON seed.credit_code = q.credit_code
    ), w AS (
        SELECT sc.*,
               greatest(sc.seed_max, max(sc.eff_pos) OVER (PARTITION BY sc.credit_code ORDER BY sc.pos
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS new_prefix_max,
               greatest(sc.seed_max, max(sc.eff_pos) OVER (PARTITION BY sc.credit_code ORDER BY sc.pos
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS prev_max
          FROM sc
    )
    INSERT INTO pg_temp.qlt_scope (result_id, credit_code, pos, reported_at, old_case_no,
                                   old_repeat, old_prefix_max, repeat_offender, prefix_max_pos,
                                   run_no, seed_case_no)
    SELECT w.result_id, w.credit_code, w.pos, w.reported_at, w.case_no, w.repeat_offender,
           w.prefix_max_pos,
           -- Repeat offence: another non-voided original up to 365 days before.
           EXISTS (SELECT 1 FROM ql.nonconformity p
                    WHERE p.credit_code = w.credit_code AND p.pos < w.pos
                      AND p.pos >= to_char((w.order_date - 366)::timestamp, 'YYYYMMDD')
                      AND p.order_date >= w.order_date - 365 AND p.status <> 'VOIDED')
           OR EXISTS (SELECT 1 FROM pg_temp.qlt_new q
                        JOIN pg_temp.qlt_fold f ON f.result_id = q.result_id
                       WHERE q.credit_code = w.credit_code
                         AND ql.result_pos(q.reported_at, q.result_id) < w.pos
                         AND ql.cst_date(q.reported_at) >= w.order_date - 365
                         AND f.status <> 'VOIDED'),
           w.new_prefix_max,
           sum(CASE WHEN w.prev_max IS NULL OR w.prev_max < w.pos THEN 1 ELSE 0 END)
               OVER (PARTITION BY w.credit_code ORDER BY w.pos),
           w.seed_case_no
      FROM w;

    -- 5. Cases.  Run 0 continues the case of the original before the scope;
    -- runs 1.. are new cases, identified by their opening original: the
    -- stored case it opened, else a stored case opened by another of the
    -- run's originals (an earlier result arrived late), else a new number.
    INSERT INTO pg_temp.qlt_case (credit_code, run_no, opening_result_id, opened_at, case_no)
    SELECT g.credit_code, g.run_no, g.opening_result_id, g.opened_at,
           CASE WHEN g.run_no = 0 THEN g.seed_case_no ELSE e.case_no END
      FROM (SELECT s.credit_code, s.run_no, min(s.seed_case_no) AS seed_case_no,
                   (array_agg(s.result_id ORDER BY s.pos))[1] AS opening_result_id,
                   (array_agg(s.reported_at ORDER BY s.pos))[1] AS opened_at
              FROM pg_temp.qlt_scope s GROUP BY s.credit_code, s.run_no) g
      LEFT JOIN LATERAL (SELECT e.case_no FROM ql.enforcement_case e
                          WHERE e.opening_result_id = g.opening_result_id OFFSET 0) e ON true;

    IF EXISTS (SELECT 1 FROM pg_temp.qlt_case WHERE case_no IS NULL) THEN
        UPDATE pg_temp.qlt_case c SET case_no = x.case_no
          FROM (SELECT DISTINCT ON (s.credit_code, s.run_no) s.credit_code, s.run_no, e.case_no
                  FROM pg_temp.qlt_case cc
                  JOIN pg_temp.qlt_scope s ON s.credit_code = cc.credit_code AND s.run_no = cc.run_no
                 CROSS JOIN LATERAL (SELECT e.case_no, e.opened_at FROM ql.enforcement_case e
                                      WHERE e.opening_result_id = s.result_id OFFSET 0) e
                 WHERE cc.case_no IS NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_temp.qlt_case t WHERE t.case_no = e.case_no)
                 ORDER BY s.credit_code, s.run_no, e.opened_at, e.case_no) x
         WHERE c.case_no IS NULL AND c.credit_code = x.credit_code AND c.run_no = x.run_no;
    END IF;

    -- New cases get the next numbers of their opening year, the counters
    -- locked in year order so that concurrent batches cannot deadlock.
    IF EXISTS (SELECT 1 FROM pg_temp.qlt_case WHERE case_no IS NULL) THEN
        INSERT INTO ql.case_counter (year, last_no)
        SELECT DISTINCT extract(year FROM ql.cst_date(opened_at))::integer, 0
          FROM pg_temp.qlt_case WHERE case_no IS NULL
        ON CONFLICT (year) DO NOTHING;
        PERFORM 1 FROM ql.case_counter k
         WHERE k.year IN (SELECT extract(year FROM ql.cst_date(opened_at))::integer
                            FROM pg_temp.qlt_case WHERE case_no IS NULL)
         ORDER BY k.year FOR UPDATE;
        WITH need AS (
            SELECT credit_code, run_no, opened_at, opening_result_id,
                   extract(year FROM ql.cst_date(opened_at))::integer AS year
              FROM pg_temp.qlt_case WHERE case_no IS NULL
        ), counts AS (
            SELECT year, count(*)::integer AS n FROM need GROUP BY year
        ), bumped AS (
            UPDATE ql.case_counter k SET last_no = k.last_no + counts.n
              FROM counts WHERE k.year = counts.year
            RETURNING k.year, k.last_no - counts.n AS base
        ), numbered AS (
            SELECT need.credit_code, need.run_no, need.year,
                   bumped.base + row_number() OVER (PARTITION BY need.year
                                                    ORDER BY need.opened_at, need.opening_result_id) AS no
              FROM need JOIN bumped USING (year)
        )
        UPDATE pg_temp.qlt_case c
           SET case_no = 'QL-' || numbered.year || '-' ||
                         CASE WHEN numbered.no < 100000 THEN lpad(numbered.no::text, 5, '0')
                              ELSE numbered.no::text END
          FROM numbered
         WHERE c.credit_code = numbered.credit_code AND c.run_no = numbered.run_no;
    END IF;

    -- Stored originals whose case or repeat offence changed: updated, and
    -- their plan derived again (a repeat offence withdrawn takes KEY_SUPERVISION away).
    WITH moved AS (
        UPDATE ql.nonconformity n
           SET case_no = c.case_no, repeat_offender = s.repeat_offender,
               prefix_max_pos = s.prefix_max_pos
          FROM pg_temp.qlt_scope s
          JOIN pg_temp.qlt_case c ON c.credit_code = s.credit_code AND c.run_no = s.run_no
         WHERE n.result_id = s.result_id
           AND (s.old_case_no, s.old_repeat, s.old_prefix_max)
               IS DISTINCT FROM (c.case_no, s.repeat_offender, s.prefix_max_pos)
        RETURNING n.result_id, n.case_no, s.old_case_no,
                  s.old_repeat AND NOT s.repeat_offender AS shrinks
    ), findings AS (
        UPDATE ql.finding f SET case_no = m.case_no
          FROM moved m
         WHERE f.result_id = m.result_id AND f.case_no IS DISTINCT FROM m.case_no
    )
    INSERT INTO pg_temp.qlt_x (result_id, may_shrink)
    SELECT m.result_id, m.shrinks FROM moved m
     WHERE m.shrinks OR m.case_no IS DISTINCT FROM m.old_case_no
        OR NOT EXISTS (SELECT 1 FROM pg_temp.qlt_x x WHERE x.result_id = m.result_id)
    ON CONFLICT (result_id) DO UPDATE SET may_shrink = true
       WHERE excluded.may_shrink AND NOT qlt_x.may_shrink;

    -- The new originals, with their fold, case and repeat offence.
    INSERT INTO ql.nonconformity (result_id, credit_code, region_code, verdict, reported_at,
                                  order_date, pos, case_no, status, settled_by, settled_at,
                                  eff_pos, prefix_max_pos, confirmed_by, failed_rechecks,
                                  first_failed_at, first_recheck_id, first_recheck_at,
                                  first_retest_id, first_retest_at, repeat_offender, has_serious)
    SELECT q.result_id, q.credit_code, q.region_code, q.verdict, q.reported_at,
           ql.cst_date(q.reported_at), s.pos, c.case_no, f.status, f.settled_by, f.settled_at,
           f.eff_pos, s.prefix_max_pos, f.confirmed_by, f.failed_rechecks, f.first_failed_at,
           f.first_recheck_id, f.first_recheck_at, f.first_retest_id, f.first_retest_at,
           s.repeat_offender, q.has_serious
      FROM pg_temp.qlt_new q
      JOIN pg_temp.qlt_scope s ON s.result_id = q.result_id
      JOIN pg_temp.qlt_case c ON c.credit_code = s.credit_code AND c.run_no = s.run_no
      JOIN pg_temp.qlt_fold f ON f.result_id = q.result_id;

    -- The findings of the new originals, with their case and status.
    INSERT INTO ql.finding (result_id, item_no, credit_code, region_code, case_no, item_name,
                            clause, requirement, measured, unit, importance, safety, severity,
                            category, status, reported_at, confirmed_by, resolved_by, resolved_at)
    SELECT q.result_id, i.item_no, q.credit_code, q.region_code, n.case_no, i.item_name,
           i.clause, i.requirement, i.measured, i.unit, i.importance, i.safety, i.severity,
           i.category, n.status, q.reported_at, n.confirmed_by,
           CASE WHEN n.status <> 'OPEN' THEN n.settled_by END,
           CASE WHEN n.status <> 'OPEN' THEN n.settled_at END
      FROM pg_temp.qlt_new q
     CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                          WHERE n.result_id = q.result_id OFFSET 0) n
     CROSS JOIN LATERAL (
           SELECT (it ->> 'item_no')::integer AS item_no,
                  coalesce(it ->> 'name', '(unnamed item)') AS item_name,
                  it ->> 'clause' AS clause, it ->> 'requirement' AS requirement,
                  it ->> 'measured' AS measured, it ->> 'unit' AS unit,
                  it ->> 'importance' AS importance, (it ->> 'is_safety')::boolean AS safety,
                  CASE WHEN it ->> 'importance' = 'A' OR (it ->> 'is_safety')::boolean
                       THEN 'SERIOUS' ELSE 'GENERAL' END AS severity,
                  ql.classify_item(it ->> 'name') AS category
             FROM jsonb_array_elements(q.fails) AS it
           UNION ALL
           -- A refusal (拒检) is one SERIOUS finding; a NONCONFORMING result
           -- that names no FAIL item (producers validate against this)
           -- still gets one.
           SELECT 0,
                  CASE WHEN q.verdict = 'REFUSED' THEN '拒绝接受监督抽查（拒检）'
                       ELSE '不合格（报告未列明不合格项目）' END,
                  NULL, NULL, NULL, NULL, NULL, NULL,
                  CASE WHEN q.verdict = 'REFUSED' THEN 'SERIOUS' ELSE 'GENERAL' END,
                  CASE WHEN q.verdict = 'REFUSED' THEN 'REFUSAL' ELSE 'OTHER' END
            WHERE jsonb_array_length(q.fails) = 0) i;

    -- The cases touched, derived again from all their originals.
    WITH touched AS (
        SELECT case_no FROM pg_temp.qlt_case WHERE case_no IS NOT NULL
        UNION SELECT old_case_no FROM pg_temp.qlt_scope WHERE old_case_no IS NOT NULL
    ), revoked AS (
        -- Cases whose LICENSE_REVOCATION an officer completed.
        SELECT DISTINCT n.case_no
          FROM ql.action_completion ac
          JOIN ql.followup_link l ON l.result_id = ac.about_result_id AND l.failure_no = 3
          JOIN ql.nonconformity n ON n.result_id = l.original_result_id
         WHERE ac.action = 'LICENSE_REVOCATION'
    ), agg AS (
        SELECT t.case_no, o.*
          FROM touched t
         CROSS JOIN LATERAL (
               SELECT (array_agg(n.result_id ORDER BY n.pos))[1] AS opening_result_id,
                      min(n.reported_at) AS opened_at,
                      bool_and(n.status <> 'OPEN') AS settled,
                      (array_agg(n.settled_at ORDER BY n.eff_pos DESC))[1] AS cleared_at,
                      (array_agg(n.settled_by ORDER BY n.eff_pos DESC))[1] AS cleared_by,
                      bool_or(n.status = 'OPEN' AND n.failed_rechecks > 0) AS escalated,
                      bool_or(n.failed_rechecks > 0) AS ever_failed,
                      min(n.first_failed_at) FILTER (WHERE n.status = 'OPEN'
                                                       AND n.failed_rechecks > 0) AS escalated_at,
                      bool_or(n.repeat_offender) AS repeat_offender,
                      min(n.credit_code) AS credit_code,
                      count(*) AS originals
                 FROM ql.nonconformity n WHERE n.case_no = t.case_no) o
         WHERE o.originals > 0
    ), counts AS (
        SELECT t.case_no, k.*
          FROM touched t
         CROSS JOIN LATERAL (
               SELECT count(*) FILTER (WHERE f.status = 'OPEN') AS open_all,
                      count(*) FILTER (WHERE f.status = 'OPEN' AND f.severity = 'SERIOUS') AS open_serious,
                      count(*) AS all_count,
                      count(*) FILTER (WHERE f.severity = 'SERIOUS') AS all_serious
                 FROM ql.finding f WHERE f.case_no = t.case_no) k
    )
    INSERT INTO pg_temp.qlt_cd (case_no, credit_code, opening_result_id, opened_at, status,
                                priority, escalated_at, cleared_at, cleared_by, repeat_offender,
                                open_findings, serious_findings, officer, old_status)
    SELECT a.case_no, a.credit_code, a.opening_result_id, a.opened_at,
           CASE WHEN a.settled THEN 'CLEARED'
                WHEN a.case_no IN (SELECT case_no FROM revoked) THEN 'CLOSED'
                WHEN a.escalated THEN 'ESCALATED' ELSE 'OPEN' END,
           CASE WHEN NOT a.settled AND a.case_no NOT IN (SELECT case_no FROM revoked) THEN
                    CASE WHEN k.open_serious > 0 OR a.escalated OR a.repeat_offender THEN 'P1'
                         WHEN k.open_all - k.open_serious >= 2 THEN 'P2' ELSE 'P3' END
                ELSE
                    CASE WHEN k.all_serious > 0 OR a.ever_failed OR a.repeat_offender THEN 'P1'
                         WHEN k.all_count - k.all_serious >= 2 THEN 'P2' ELSE 'P3' END
           END,
           a.escalated_at,
           CASE WHEN a.settled THEN a.cleared_at END,
           CASE WHEN a.settled THEN a.cleared_by END,
           a.repeat_offender, k.open_all::integer, k.open_serious::integer,
           (SELECT ca.officer FROM ql.case_assignment ca WHERE ca.case_no = a.case_no),
           (SELECT e.status FROM ql.enforcement_case e WHERE e.case_no = a.case_no)
      FROM agg a JOIN counts k USING (case_no);

    MERGE INTO ql.enforcement_case e
    USING pg_temp.qlt_cd d ON e.case_no = d.case_no
     WHEN MATCHED AND (e.credit_code, e.opening_result_id, e.opened_at, e.status, e.priority,
                       e.escalated_at, e.cleared_at, e.cleared_by, e.repeat_offender,
                       e.open_findings, e.serious_findings, e.officer)
                      IS DISTINCT FROM
                      (d.credit_code, d.opening_result_id, d.opened_at, d.status, d.priority,
                       d.escalated_at, d.cleared_at, d.cleared_by, d.repeat_offender,
                       d.open_findings, d.serious_findings, d.officer) THEN
          UPDATE SET credit_code = d.credit_code, opening_result_id = d.opening_result_id,
                     opened_at = d.opened_at, status = d.status, priority = d.priority,
                     escalated_at = d.escalated_at, cleared_at = d.cleared_at,
                     cleared_by = d.cleared_by, repeat_offender = d.repeat_offender,
                     open_findings = d.open_findings, serious_findings = d.serious_findings,
                     officer = d.officer, updated_at = now()
     WHEN NOT MATCHED THEN
          INSERT (case_no, credit_code, opening_result_id, status, priority, opened_at,
                  escalated_at, cleared_at, cleared_by, repeat_offender, open_findings,
                  serious_findings, officer)
          VALUES (d.case_no, d.credit_code, d.opening_result_id, d.status, d.priority,
                  d.opened_at, d.escalated_at, d.cleared_at, d.cleared_by, d.repeat_offender,
                  d.open_findings, d.serious_findings, d.officer);

    -- A case that became or stopped being CLOSED: all its plans change.
    INSERT INTO pg_temp.qlt_x (result_id, may_shrink)
    SELECT n.result_id, false
      FROM pg_temp.qlt_cd d
     CROSS JOIN LATERAL (SELECT n.result_id FROM ql.nonconformity n
                          WHERE n.case_no = d.case_no OFFSET 0) n
     WHERE (d.old_status = 'CLOSED') <> (d.status = 'CLOSED')
    ON CONFLICT (result_id) DO NOTHING;

    -- Stored cases left without an original (merged into another).
    DELETE FROM ql.enforcement_case e
     WHERE e.case_no IN (SELECT s.old_case_no FROM pg_temp.qlt_scope s
                          WHERE s.old_case_no IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.case_no = e.case_no);

    -- 6. The plans of the originals in qlt_x.  The dated part of an action
    -- (due date, measure, basis) is written once; its state (status, done by
    -- whom or which result, case) follows the original's.  qlt_act holds
    -- the dated part of: every action of the new originals (all, when full,
    -- or when one may have to go), and the escalation and KEY_SUPERVISION
    -- actions of every original in qlt_x, with the case and enterprise of
    -- the original (stored in step 5); of_new: the original is new, so
    -- none of its actions can be stored yet (an action is only ever written
    -- for a stored original, and a stored original stays stored).  The
    -- categories named in the measures of STOP_SALE, DIAGNOSIS and RECTIFY
    -- are looked up once per original whose actions are all written.
    WITH orig AS (
        SELECT n.result_id, n.verdict, n.order_date, n.has_serious, n.repeat_offender,
               n.case_no, n.credit_code, x.is_new, x.all_actions,
               CASE WHEN x.all_actions THEN
                    ' 不合格类别：' || coalesce(
                        (SELECT string_agg(k.title || '（' || k.category || '）', '、'
                                           ORDER BY k.sort_order)
                           FROM ql.cause_category k
                          WHERE k.category IN (SELECT f.category FROM ql.finding f
                                                WHERE f.result_id = n.result_id)), '')
               END AS categories
          FROM (SELECT x.result_id, x.is_new, full_recompute OR x.may_shrink OR x.is_new AS all_actions
                  FROM (SELECT x.result_id, x.may_shrink,
                               EXISTS (SELECT 1 FROM pg_temp.qlt_new q
                                        WHERE q.result_id = x.result_id) AS is_new
                          FROM pg_temp.qlt_x x) x) x
         CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                              WHERE n.result_id = x.result_id OFFSET 0) n
    ), base AS (
        SELECT o.result_id AS about, o.result_id AS original, o.case_no, o.credit_code,
               o.is_new, o.order_date AS anchor, a.action,
               CASE WHEN a.action IN ('STOP_SALE', 'DIAGNOSIS', 'RECTIFY') THEN o.categories
                    ELSE '' END AS detail
          FROM orig o
         CROSS JOIN (VALUES ('STOP_SALE'), ('OBJECTION_WINDOW'), ('DIAGNOSIS'), ('RECTIFY'),
                            ('RECHECK'), ('ENFORCEMENT_REFERRAL'), ('KEY_SUPERVISION')) AS a(action)
         WHERE (o.all_actions OR a.action = 'KEY_SUPERVISION')
           AND (a.action <> 'OBJECTION_WINDOW' OR o.verdict <> 'REFUSED')
           AND (a.action <> 'ENFORCEMENT_REFERRAL' OR o.has_serious)
           AND (a.action <> 'KEY_SUPERVISION' OR o.repeat_offender)
        UNION ALL
        SELECT l.result_id, o.result_id, o.case_no, o.credit_code, o.is_new,
               ql.cst_date(l.reported_at), a.action, ''
          FROM orig o
         CROSS JOIN LATERAL (SELECT l.result_id, l.reported_at, l.failure_no
                               FROM ql.followup_link l
                              WHERE l.original_result_id = o.result_id
                                AND l.failure_no IS NOT NULL OFFSET 0) l
          JOIN (VALUES (1, 'PUBLIC_ANNOUNCEMENT'), (1, 'SECOND_RECHECK'),
                       (2, 'SUSPEND_REORGANIZE'), (3, 'LICENSE_REVOCATION')) AS a(n, action)
            ON a.n = l.failure_no
    )
    INSERT INTO pg_temp.qlt_act (about_result_id, action, original_result_id, due_date,
                                 not_before, measure, basis, case_no, credit_code, of_new)
    SELECT b.about, b.action, b.original, b.anchor + k.offset_days, b.anchor + k.not_before_days,
           k.measure || b.detail, k.basis, b.case_no, b.credit_code, b.is_new
      FROM base b JOIN ql.action_kind k ON k.action = b.action;

    INSERT INTO ql.plan_action (case_no, credit_code, action, about_result_id, original_result_id,
                                due_date, not_before, status, measure, basis)
    SELECT a.case_no, a.credit_code, a.action, a.about_result_id, a.original_result_id,
           a.due_date, a.not_before, 'PENDING', a.measure, a.basis
      FROM (SELECT * FROM pg_temp.qlt_act a WHERE a.of_new AND NOT full_recompute
            UNION ALL
            SELECT * FROM pg_temp.qlt_act a
             WHERE (full_recompute OR NOT a.of_new)
               AND NOT EXISTS (SELECT 1 FROM ql.plan_action p
                                WHERE p.about_result_id = a.about_result_id
                                  AND p.action = a.action)) a
     ORDER BY a.case_no, a.due_date, a.action;

    IF EXISTS (SELECT 1 FROM pg_temp.qlt_x WHERE may_shrink) THEN
        DELETE FROM ql.plan_action p
         WHERE p.action_id IN (
               SELECT pa.action_id
                 FROM pg_temp.qlt_x x
                CROSS JOIN LATERAL (SELECT pa.action_id, pa.about_result_id, pa.action
                                      FROM ql.plan_action pa
                                     WHERE pa.original_result_id = x.result_id OFFSET 0) pa
                WHERE x.may_shrink
                  AND NOT EXISTS (SELECT 1 FROM pg_temp.qlt_act a
                                   WHERE a.about_result_id = pa.about_result_id
                                     AND a.action = pa.action));
    END IF;
    IF full_recompute THEN
        -- Action kinds or categories may have been edited.
        UPDATE ql.plan_action p
           SET original_result_id = a.original_result_id, due_date = a.due_date,
               not_before = a.not_before, measure = a.measure, basis = a.basis
          FROM pg_temp.qlt_act a
         WHERE p.about_result_id = a.about_result_id AND p.action = a.action
           AND (p.original_result_id, p.due_date, p.not_before, p.measure, p.basis)
               IS DISTINCT FROM (a.original_result_id, a.due_date, a.not_before, a.measure, a.basis);
    END IF;

    -- The state of the actions, except those just written for a new
    -- original that nothing has happened to yet (PENDING, as written; an
    -- officer's completion recorded beforehand still counts).
    SET LOCAL enable_hashjoin = off;
    SET LOCAL enable_mergejoin = off;
    WITH o AS (
        SELECT n.result_id, n.case_no, n.credit_code, n.status, c.status AS case_status,
               n.first_recheck_id, n.first_recheck_at, n.first_retest_id, n.first_retest_at
          FROM pg_temp.qlt_x x
         CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                              WHERE n.result_id = x.result_id OFFSET 0) n
         CROSS JOIN LATERAL (SELECT c.status FROM ql.enforcement_case c
                              WHERE c.case_no = n.case_no OFFSET 0) c
         WHERE full_recompute
            OR NOT (n.status = 'OPEN' AND n.failed_rechecks = 0 AND n.first_recheck_id IS NULL
                    AND n.first_retest_id IS NULL AND c.status IN ('OPEN', 'ESCALATED')
                    AND EXISTS (SELECT 1 FROM pg_temp.qlt_new q WHERE q.result_id = n.result_id)
                    AND NOT EXISTS (SELECT 1 FROM ql.action_completion ac0
                                     WHERE ac0.about_result_id = n.result_id))
    ), d AS (
        SELECT pa.action_id, o.case_no, o.credit_code,
               CASE WHEN ac.completed_by IS NOT NULL OR f.done_by_result IS NOT NULL THEN 'DONE'
                    WHEN o.status <> 'OPEN' OR o.case_status IN ('CLEARED', 'CLOSED') THEN 'CANCELLED'
                    ELSE 'PENDING' END AS status,
               f.done_by_result, coalesce(ac.completed_at, f.done_at) AS done_at,
               ac.completed_by AS done_by, ac.note
          FROM o
         CROSS JOIN LATERAL (SELECT pa.action_id, pa.action, pa.about_result_id
                               FROM ql.plan_action pa
                              WHERE pa.original_result_id = o.result_id OFFSET 0) pa
          LEFT JOIN ql.action_completion ac
                 ON ac.about_result_id = pa.about_result_id AND ac.action = pa.action
          LEFT JOIN LATERAL (SELECT l.next_recheck_id, l.next_recheck_at FROM ql.followup_link l
                              WHERE pa.action = 'SECOND_RECHECK'
                                AND l.result_id = pa.about_result_id) sr ON true
         CROSS JOIN LATERAL (SELECT CASE pa.action WHEN 'RECHECK' THEN o.first_recheck_id
                                                   WHEN 'OBJECTION_WINDOW' THEN o.first_retest_id
                                                   WHEN 'SECOND_RECHECK' THEN sr.next_recheck_id
                                    END AS done_by_result,
                                    CASE pa.action WHEN 'RECHECK' THEN o.first_recheck_at
                                                   WHEN 'OBJECTION_WINDOW' THEN o.first_retest_at
                                                   WHEN 'SECOND_RECHECK' THEN sr.next_recheck_at
                                    END AS done_at) f
    )
    UPDATE ql.plan_action p
       SET case_no = d.case_no, credit_code = d.credit_code, status = d.status,
           done_by_result = d.done_by_result, done_at = d.done_at, done_by = d.done_by,
           note = d.note
      FROM d
     WHERE p.action_id = d.action_id
       AND (p.case_no, p.credit_code, p.status, p.done_by_result, p.done_at, p.done_by, p.note)
           IS DISTINCT FROM
           (d.case_no, d.credit_code, d.status, d.done_by_result, d.done_at, d.done_by, d.note);
    SET LOCAL enable_hashjoin = on;
    SET LOCAL enable_mergejoin = on;

    -- 7. The enterprises' name and region: from their latest result that is
    -- not a CONFORMING SUPERVISION result (ql.retriage registers an
    -- enterprise seen for the first time with them already).
    UPDATE ql.enterprise e
       SET name = coalesce(x.name, e.name), region_code = coalesce(x.region_code, e.region_code),
           name_pos = x.pos, triaged_at = now()
      FROM (SELECT DISTINCT ON (p.credit_code) p.credit_code, p.name, p.region_code,
                   ql.result_pos(p.reported_at, p.result_id) AS pos
              FROM ql.triage_pending p
             WHERE NOT full_recompute AND p.credit_code = ANY (codes)
             ORDER BY p.credit_code, p.reported_at DESC, p.result_id DESC) x
     WHERE e.credit_code = x.credit_code AND (e.name_pos IS NULL OR e.name_pos < x.pos);
    IF full_recompute THEN
        UPDATE ql.enterprise e
           SET name = coalesce(l.ent ->> 'name', e.name),
               region_code = coalesce(l.ent ->> 'region_code', e.region_code),
               name_pos = l.pos, triaged_at = now()
          FROM unnest(codes) AS c(code)
         CROSS JOIN LATERAL (SELECT r.record -> 'enterprise' AS ent,
                                    ql.result_pos(r.reported_at, r.result_id) AS pos
                               FROM ql.inspection_result r
                              WHERE r.credit_code = c.code
                                AND (r.kind <> 'SUPERVISION' OR r.verdict <> 'CONFORMING')
                              ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) l
         WHERE e.credit_code = c.code;
    END IF;
    DELETE FROM ql.triage_pending p WHERE p.credit_code = ANY (codes);
END $$;

-- The daemon's entry point: bring the findings, cases and plans of these
-- enterprises up to date after their results were inserted.  Registers
-- enterprises seen for the first time and applies the results queued in
-- ql.triage_pending for them; an enterprise with nothing queued (only
-- CONFORMING SUPERVISION results, or nothing new) costs one index probe.
-- full_recompute re-derives every given enterprise that has results to act
-- on from scratch.  Returns the number of enterprises recomputed.  The
-- registration runs with hash and merge joins off (restored on exit by the
-- SET clauses, as in ql.recompute), so that its look-up is one probe per code.
CREATE FUNCTION ql.retriage(credit_codes text[], full_recompute boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
    dirty text[];
BEGIN
    -- Register the enterprises seen for the first time, each probed by its
    -- key (a hash anti-join would read every registered enterprise).  One
    -- with results queued gets the name and region of its latest queued
    -- result, as step 7 of ql.recompute would set them (it then finds
    -- name_pos up to date); the latest of all its results is read only for
    -- the others.
    SET LOCAL enable_hashjoin = off;
    SET LOCAL enable_mergejoin = off;
    WITH c AS MATERIALIZED (
        SELECT c.code
          FROM (SELECT DISTINCT code FROM unnest(credit_codes) AS u(code)
                 WHERE code IS NOT NULL) c
         WHERE NOT EXISTS (SELECT 1 FROM ql.enterprise e WHERE e.credit_code = c.code)
    )
    INSERT INTO ql.enterprise (credit_code, name, region_code, name_pos, triaged_at)
    SELECT c.code, coalesce(x.name, l.ent ->> 'name', ''),
           coalesce(x.region_code, l.ent ->> 'region_code', ''), x.pos,
           CASE WHEN x.pos IS NOT NULL THEN now() END
      FROM c
      LEFT JOIN LATERAL (SELECT p.name, p.region_code,
                                ql.result_pos(p.reported_at, p.result_id) AS pos
                           FROM ql.triage_pending p
                          WHERE NOT full_recompute AND p.credit_code = c.code
                          ORDER BY p.reported_at DESC, p.result_id DESC LIMIT 1) x ON true
      LEFT JOIN LATERAL (SELECT true AS found, r.record -> 'enterprise' AS ent
                           FROM ql.inspection_result r
                          WHERE r.credit_code = c.code
                            AND (x.pos IS NULL OR x.name IS NULL OR x.region_code IS NULL)
                          ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) l ON true
     WHERE x.pos IS NOT NULL OR l.found
     ORDER BY c.code -- two batches registering the same ones wait in order
    ON CONFLICT (credit_code) DO NOTHING;
    SET LOCAL enable_hashjoin = on;
    SET LOCAL enable_mergejoin = on;

    IF full_recompute THEN
        SELECT array_agg(c.code ORDER BY c.code) INTO dirty
          FROM (SELECT DISTINCT code FROM unnest(credit_codes) AS u(code)) c
         WHERE EXISTS (SELECT 1 FROM ql.inspection_result r
                        WHERE r.credit_code = c.code
                          AND (r.kind <> 'SUPERVISION' OR r.verdict <> 'CONFORMING'));
    ELSE
        -- One probe of the index per code, whatever ql.triage_pending holds
        -- between two autovacuums (the dead rows of the batches before,
        -- besides this batch's queue): at a million results, the join of
        -- the codes with the table that this replaces took 22 ms per batch
        -- of 2,000 results, the probes 4 ms.
        SELECT array_agg(c.code ORDER BY c.code) INTO dirty
          FROM (SELECT DISTINCT code FROM unnest(credit_codes) AS u(code)) c
         WHERE EXISTS (SELECT 1 FROM ql.triage_pending p WHERE p.credit_code = c.code OFFSET 0);
    END IF;

    IF dirty IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM ql.recompute(dirty, full_recompute);
    RETURN cardinality(dirty);
END $$;

-- Maintenance: recompute from scratch every enterprise that has
-- nonconformities, rechecks or retests (after editing ql.action_kind or
-- ql.cause_category, or to repair), in chunks.  Returns the number of
-- enterprises recomputed.
CREATE FUNCTION ql.retriage_all(chunk integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    codes text[];
    total integer := 0;
    last_code text := '';
BEGIN
    LOOP
        SELECT array_agg(code ORDER BY code) INTO codes
          FROM (SELECT DISTINCT r.credit_code AS code FROM ql.inspection_result r
                 WHERE (r.kind <> 'SUPERVISION' OR r.verdict <> 'CONFORMING')
                   AND r.credit_code > last_code
                 ORDER BY 1 LIMIT chunk) x;
        EXIT WHEN codes IS NULL;
        total := total + ql.retriage(codes, true);
        last_code := codes[cardinality(codes)];
    END LOOP;
    RETURN total;
END $$;

-- Maintenance: apply the current cause rules to every finding (after editing
-- ql.cause_rule) and re-derive the plans of the enterprises whose findings
-- changed category.  Returns the number of findings recategorized.
CREATE FUNCTION ql.recategorize() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    changed integer;
    codes text[];
BEGIN
    WITH upd AS (
        UPDATE ql.finding f SET category = ql.classify_item(f.item_name)
         WHERE f.item_no > 0 AND f.category IS DISTINCT FROM ql.classify_item(f.item_name)
        RETURNING f.credit_code
    )
    SELECT count(*), array_agg(DISTINCT credit_code) INTO changed, codes FROM upd;
    IF codes IS NOT NULL THEN
        PERFORM ql.retriage(codes, true);
    END IF;
    RETURN changed;
END $$;
