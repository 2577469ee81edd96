-- 004_triage: ql.retriage, the 清零 triage itself.  ql-triage calls
--     SELECT ql.retriage($1::text[])
-- in the transaction that inserted a batch of results, with the credit codes
-- of the enterprises whose results it inserted.  For each enterprise that has
-- anything but CONFORMING SUPERVISION results and got a result since its last
-- triage, ql.recompute derives findings, cases and plans again from ALL its
-- results, and reconciles them with the stored rows by natural keys.  The
-- derivation is a pure function of the enterprise's results and the
-- officers' recorded inputs, so the outcome does not depend on the order in
-- which results arrived (only newly allocated case numbers can).
--
-- The rules (design §5), as ql.recompute applies them:
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
--   cases      originals in order; one opens a new case unless the previous
--              case still has findings open at its time; a case whose
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
--              CLEARED or CLOSED, PENDING otherwise.
--   priority   P1: an open SERIOUS finding, ESCALATED, or a repeat offender;
--              P2: two or more open GENERAL findings; P3 otherwise.  (A
--              settled case keeps the priority its findings gave it.)

-- The temp tables ql.recompute works in, created once per session and
-- emptied at every call.  DELETE rather than TRUNCATE, no ANALYZE and no ON
-- COMMIT action: each of those would invalidate ql.recompute's cached plans
-- or cost a truncation per transaction.  The dead rows are dropped with a
-- TRUNCATE once the tables have grown past a few megabytes.
CREATE FUNCTION ql.triage_workspace() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regclass('pg_temp.qlt_res') IS NOT NULL THEN
        IF pg_relation_size('pg_temp.qlt_res') + pg_relation_size('pg_temp.qlt_act') > 8 * 1024 * 1024 THEN
            TRUNCATE pg_temp.qlt_res, pg_temp.qlt_fu, pg_temp.qlt_orig, pg_temp.qlt_fail,
                     pg_temp.qlt_case, pg_temp.qlt_act;
        ELSE
            DELETE FROM pg_temp.qlt_res;
            DELETE FROM pg_temp.qlt_fu;
            DELETE FROM pg_temp.qlt_orig;
            DELETE FROM pg_temp.qlt_fail;
            DELETE FROM pg_temp.qlt_case;
            DELETE FROM pg_temp.qlt_act;
        END IF;
        RETURN;
    END IF;
    -- Every result of the enterprises that the triage acts on, numbered in
    -- (reported_at, result_id) order per enterprise.
    CREATE TEMP TABLE qlt_res (
        result_id text PRIMARY KEY, credit_code text NOT NULL, kind text NOT NULL,
        verdict text NOT NULL, refers_to text, reported_at timestamptz NOT NULL,
        seq bigint NOT NULL, UNIQUE (credit_code, seq)
    );
    -- RECHECK/RETEST results with the original their chain leads to.
    CREATE TEMP TABLE qlt_fu (
        result_id text PRIMARY KEY, credit_code text NOT NULL, kind text NOT NULL,
        verdict text NOT NULL, seq bigint NOT NULL, reported_at timestamptz NOT NULL,
        original_result_id text, reason text,
        considered boolean NOT NULL DEFAULT false, effect text
    );
    -- Originals and the outcome of their fold.
    CREATE TEMP TABLE qlt_orig (
        result_id text PRIMARY KEY, credit_code text NOT NULL, verdict text NOT NULL,
        seq bigint NOT NULL, reported_at timestamptz NOT NULL, odate date NOT NULL,
        term_seq bigint, term_result_id text, term_kind text, term_at timestamptz,
        eff_seq bigint, first_recheck_id text, first_retest_id text, confirmed_by text,
        fail_count integer NOT NULL DEFAULT 0, first_fail_at timestamptz,
        run_no integer, repeat_offender boolean NOT NULL DEFAULT false,
        has_serious boolean NOT NULL DEFAULT false
    );
    -- Failed rechecks of each original before it was settled, numbered.
    CREATE TEMP TABLE qlt_fail (
        result_id text PRIMARY KEY, original_result_id text NOT NULL, n integer NOT NULL,
        reported_at timestamptz NOT NULL, next_recheck_id text
    );
    CREATE TEMP TABLE qlt_case (
        credit_code text NOT NULL, run_no integer NOT NULL, opening_result_id text NOT NULL,
        opened_at timestamptz NOT NULL, settled boolean NOT NULL, clear_seq bigint,
        cleared_at timestamptz, cleared_by text, escalated boolean NOT NULL,
        ever_failed boolean NOT NULL, escalated_at timestamptz,
        repeat_offender boolean NOT NULL, closed boolean NOT NULL DEFAULT false,
        open_findings integer NOT NULL DEFAULT 0, serious_findings integer NOT NULL DEFAULT 0,
        open_general integer NOT NULL DEFAULT 0, all_serious integer NOT NULL DEFAULT 0,
        all_general integer NOT NULL DEFAULT 0, status text, priority text, case_no text,
        PRIMARY KEY (credit_code, run_no)
    );
    CREATE TEMP TABLE qlt_act (
        about_result_id text NOT NULL, action text NOT NULL, original_result_id text NOT NULL,
        credit_code text NOT NULL, case_no text NOT NULL, due_date date NOT NULL,
        not_before date, status text NOT NULL, measure text NOT NULL, basis text NOT NULL,
        done_by_result text, done_at timestamptz, done_by text, note text,
        PRIMARY KEY (about_result_id, action)
    );
END $$;

-- Derive and reconcile everything of the given enterprises from all their
-- results.  Internal: called by ql.retriage, ql.complete_action and the
-- maintenance functions.
CREATE FUNCTION ql.recompute(codes text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ql.triage_workspace();

    INSERT INTO pg_temp.qlt_res
    SELECT r.result_id, r.credit_code, r.kind, r.verdict, r.refers_to, r.reported_at,
           row_number() OVER (PARTITION BY r.credit_code ORDER BY r.reported_at, r.result_id)
      FROM ql.inspection_result r
     WHERE r.credit_code = ANY (codes)
       AND (r.kind <> 'SUPERVISION' OR r.verdict <> 'CONFORMING');

    -- Follow each RECHECK/RETEST's refers_to chain back to a SUPERVISION
    -- result (bounded, so a cycle cannot loop).
    WITH RECURSIVE chain AS (
        SELECT f.result_id, f.refers_to AS target, 1 AS depth
          FROM pg_temp.qlt_res f
         WHERE f.kind <> 'SUPERVISION'
        UNION ALL
        SELECT c.result_id, t.refers_to, c.depth + 1
          FROM chain c JOIN ql.inspection_result t ON t.result_id = c.target
         WHERE t.kind <> 'SUPERVISION' AND t.refers_to IS NOT NULL AND c.depth < 32
    ), ends AS (
        SELECT DISTINCT ON (result_id) result_id, target
          FROM chain ORDER BY result_id, depth DESC
    )
    INSERT INTO pg_temp.qlt_fu (result_id, credit_code, kind, verdict, seq, reported_at,
                                original_result_id, reason)
    SELECT f.result_id, f.credit_code, f.kind, f.verdict, f.seq, f.reported_at,
           CASE WHEN o.kind = 'SUPERVISION' AND o.credit_code = f.credit_code THEN o.result_id END,
           CASE WHEN f.refers_to IS NULL THEN 'NO_REFERENCE'
                WHEN o.result_id IS NULL THEN 'ORIGINAL_MISSING'
                WHEN o.kind <> 'SUPERVISION' THEN 'CHAIN_BROKEN'
                WHEN o.credit_code <> f.credit_code THEN 'OTHER_ENTERPRISE'
           END
      FROM pg_temp.qlt_res f
      JOIN ends e USING (result_id)
      LEFT JOIN ql.inspection_result o ON o.result_id = e.target;

    INSERT INTO pg_temp.qlt_orig (result_id, credit_code, verdict, seq, reported_at, odate)
    SELECT r.result_id, r.credit_code, r.verdict, r.seq, r.reported_at, ql.cst_date(r.reported_at)
      FROM pg_temp.qlt_res r
     WHERE r.kind = 'SUPERVISION';

    -- Every recheck counts; of the retests only the first (复检 is final).
    UPDATE pg_temp.qlt_fu f SET considered = true
      FROM (SELECT fu.result_id,
                   row_number() OVER (PARTITION BY fu.original_result_id, fu.kind
                                      ORDER BY fu.seq) AS rank_in_kind, fu.kind
              FROM pg_temp.qlt_fu fu
              JOIN pg_temp.qlt_orig o ON o.result_id = fu.original_result_id) x
     WHERE f.result_id = x.result_id AND (x.kind = 'RECHECK' OR x.rank_in_kind = 1);

    -- The settling result: the first considered CONFORMING follow-up.
    UPDATE pg_temp.qlt_orig o
       SET term_seq = t.seq, term_result_id = t.result_id, term_kind = t.kind,
           term_at = t.reported_at, eff_seq = greatest(t.seq, o.seq)
      FROM (SELECT DISTINCT ON (f.original_result_id) f.original_result_id, f.seq,
                   f.result_id, f.kind, f.reported_at
              FROM pg_temp.qlt_fu f
             WHERE f.considered AND f.verdict = 'CONFORMING'
             ORDER BY f.original_result_id, f.seq) t
     WHERE o.result_id = t.original_result_id;

    -- Rechecks up to the settling one: failures numbered, each with the
    -- recheck that followed it.
    INSERT INTO pg_temp.qlt_fail (result_id, original_result_id, n, reported_at, next_recheck_id)
    SELECT rc.result_id, rc.original_result_id,
           row_number() OVER (PARTITION BY rc.original_result_id ORDER BY rc.seq),
           rc.reported_at, rc.next_id
      FROM (SELECT f.result_id, f.original_result_id, f.seq, f.verdict, f.reported_at,
                   lead(f.result_id) OVER (PARTITION BY f.original_result_id ORDER BY f.seq) AS next_id
              FROM pg_temp.qlt_fu f
              JOIN pg_temp.qlt_orig o ON o.result_id = f.original_result_id
             WHERE f.kind = 'RECHECK' AND (o.term_seq IS NULL OR f.seq <= o.term_seq)) rc
     WHERE rc.verdict <> 'CONFORMING';

    UPDATE pg_temp.qlt_orig o
       SET first_recheck_id = x.first_recheck_id, first_retest_id = x.first_retest_id,
           confirmed_by = x.confirmed_by
      FROM (SELECT f.original_result_id,
                   (array_agg(f.result_id ORDER BY f.seq) FILTER (WHERE f.kind = 'RECHECK'))[1] AS first_recheck_id,
                   (array_agg(f.result_id) FILTER (WHERE f.kind = 'RETEST'))[1] AS first_retest_id,
                   (array_agg(f.result_id) FILTER (WHERE f.kind = 'RETEST' AND f.verdict <> 'CONFORMING'))[1] AS confirmed_by
              FROM pg_temp.qlt_fu f
              JOIN pg_temp.qlt_orig oo ON oo.result_id = f.original_result_id
             WHERE f.considered AND (oo.term_seq IS NULL OR f.seq <= oo.term_seq)
             GROUP BY f.original_result_id) x
     WHERE o.result_id = x.original_result_id;

    UPDATE pg_temp.qlt_orig o SET fail_count = x.n, first_fail_at = x.first_at
      FROM (SELECT original_result_id, count(*) AS n, min(reported_at) AS first_at
              FROM pg_temp.qlt_fail GROUP BY original_result_id) x
     WHERE o.result_id = x.original_result_id;

    -- Cases: an original opens a new one unless an earlier original is still
    -- unsettled at its position in the enterprise's sequence.
    UPDATE pg_temp.qlt_orig o SET run_no = x.run_no
      FROM (SELECT y.result_id,
                   sum(CASE WHEN y.prev_max IS NULL OR y.prev_max < y.seq THEN 1 ELSE 0 END)
                       OVER (PARTITION BY y.credit_code ORDER BY y.seq) AS run_no
              FROM (SELECT result_id, credit_code, seq,
                           max(coalesce(eff_seq, 9223372036854775807)) OVER (
                               PARTITION BY credit_code ORDER BY seq
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
                      FROM pg_temp.qlt_orig) y) x
     WHERE o.result_id = x.result_id;

    UPDATE pg_temp.qlt_orig o SET repeat_offender = true
     WHERE EXISTS (SELECT 1 FROM pg_temp.qlt_orig p
                    WHERE p.credit_code = o.credit_code AND p.seq < o.seq
                      AND p.odate >= o.odate - 365
                      AND p.term_kind IS DISTINCT FROM 'RETEST');

    -- Findings of originals seen for the first time.
    WITH fresh AS (
        SELECT o.result_id, o.credit_code, o.verdict, o.reported_at, r.record
          FROM pg_temp.qlt_orig o
          JOIN ql.inspection_result r ON r.result_id = o.result_id
         WHERE NOT EXISTS (SELECT 1 FROM ql.finding f WHERE f.result_id = o.result_id)
    ), failed_items AS (
        SELECT fr.result_id, it.ord::integer AS item_no, it.item,
               coalesce(lower(it.item ->> 'safety'), '') IN ('true', 't', '1', 'yes', '是') AS safety
          FROM fresh fr
         CROSS JOIN LATERAL jsonb_array_elements(
                 CASE WHEN jsonb_typeof(fr.record -> 'items') = 'array'
                      THEN fr.record -> 'items' ELSE '[]'::jsonb END) WITH ORDINALITY AS it(item, ord)
         WHERE fr.verdict = 'NONCONFORMING' AND it.item ->> 'verdict' = 'FAIL'
    )
    INSERT INTO ql.finding (result_id, item_no, credit_code, region_code, item_name, clause,
                            requirement, measured, unit, importance, safety, severity,
                            category, status, reported_at)
    SELECT fr.result_id, fi.item_no, fr.credit_code,
           coalesce(fr.record -> 'enterprise' ->> 'region_code', ''),
           coalesce(fi.item ->> 'name', '(unnamed item)'),
           fi.item ->> 'clause', fi.item ->> 'requirement', fi.item ->> 'measured',
           fi.item ->> 'unit', fi.item ->> 'importance',
           fi.safety,
           CASE WHEN fi.item ->> 'importance' = 'A' OR fi.safety THEN 'SERIOUS' ELSE 'GENERAL' END,
           ql.classify_item(fi.item ->> 'name'), 'OPEN', fr.reported_at
      FROM fresh fr JOIN failed_items fi USING (result_id)
    UNION ALL
    -- A refusal (拒检) is one SERIOUS finding; a NONCONFORMING result that
    -- names no FAIL item (producers validate against this) still gets one.
    SELECT fr.result_id, 0, fr.credit_code,
           coalesce(fr.record -> 'enterprise' ->> 'region_code', ''),
           CASE WHEN fr.verdict = 'REFUSED' THEN '拒绝接受监督抽查（拒检）'
                ELSE '不合格（报告未列明不合格项目）' END,
           NULL, NULL, NULL, NULL, NULL, NULL,
           CASE WHEN fr.verdict = 'REFUSED' THEN 'SERIOUS' ELSE 'GENERAL' END,
           CASE WHEN fr.verdict = 'REFUSED' THEN 'REFUSAL' ELSE 'OTHER' END,
           'OPEN', fr.reported_at
      FROM fresh fr
     WHERE NOT EXISTS (SELECT 1 FROM failed_items fi WHERE fi.result_id = fr.result_id);

    UPDATE pg_temp.qlt_orig o SET has_serious = true
     WHERE EXISTS (SELECT 1 FROM ql.finding f
                    WHERE f.result_id = o.result_id AND f.severity = 'SERIOUS');

    INSERT INTO pg_temp.qlt_case (credit_code, run_no, opening_result_id, opened_at, settled,
                                  clear_seq, escalated, ever_failed, escalated_at, repeat_offender)
    SELECT o.credit_code, o.run_no,
           (array_agg(o.result_id ORDER BY o.seq))[1],
           (array_agg(o.reported_at ORDER BY o.seq))[1],
           bool_and(o.eff_seq IS NOT NULL),
           max(o.eff_seq),
           bool_or(o.fail_count > 0 AND o.eff_seq IS NULL),
           bool_or(o.fail_count > 0),
           min(o.first_fail_at) FILTER (WHERE o.fail_count > 0 AND o.eff_seq IS NULL),
           bool_or(o.repeat_offender)
      FROM pg_temp.qlt_orig o
     GROUP BY o.credit_code, o.run_no;

    UPDATE pg_temp.qlt_case c SET cleared_at = r.reported_at, cleared_by = r.result_id
      FROM pg_temp.qlt_res r
     WHERE c.settled AND r.credit_code = c.credit_code AND r.seq = c.clear_seq;

    UPDATE pg_temp.qlt_case c SET closed = true
     WHERE NOT c.settled
       AND EXISTS (SELECT 1 FROM pg_temp.qlt_fail f
                     JOIN pg_temp.qlt_orig o ON o.result_id = f.original_result_id
                     JOIN ql.action_completion ac
                       ON ac.about_result_id = f.result_id AND ac.action = 'LICENSE_REVOCATION'
                    WHERE o.credit_code = c.credit_code AND o.run_no = c.run_no AND f.n = 3);

    UPDATE pg_temp.qlt_case c
       SET open_findings = x.open_all, serious_findings = x.open_serious,
           open_general = x.open_all - x.open_serious,
           all_serious = x.all_serious, all_general = x.all_count - x.all_serious
      FROM (SELECT o.credit_code, o.run_no,
                   count(*) FILTER (WHERE o.eff_seq IS NULL) AS open_all,
                   count(*) FILTER (WHERE o.eff_seq IS NULL AND f.severity = 'SERIOUS') AS open_serious,
                   count(*) AS all_count,
                   count(*) FILTER (WHERE f.severity = 'SERIOUS') AS all_serious
              FROM pg_temp.qlt_orig o JOIN ql.finding f ON f.result_id = o.result_id
             GROUP BY o.credit_code, o.run_no) x
     WHERE c.credit_code = x.credit_code AND c.run_no = x.run_no;

    UPDATE pg_temp.qlt_case c
       SET status = CASE WHEN c.settled THEN 'CLEARED' WHEN c.closed THEN 'CLOSED'
                         WHEN c.escalated THEN 'ESCALATED' ELSE 'OPEN' END,
           priority = CASE
               WHEN NOT c.settled AND NOT c.closed THEN
                   CASE WHEN c.serious_findings > 0 OR c.escalated OR c.repeat_offender THEN 'P1'
                        WHEN c.open_general >= 2 THEN 'P2' ELSE 'P3' END
               ELSE
                   CASE WHEN c.all_serious > 0 OR c.ever_failed OR c.repeat_offender THEN 'P1'
                        WHEN c.all_general >= 2 THEN 'P2' ELSE 'P3' END
           END;

    -- Case identity: the stored case with the same opening result; failing
    -- that (an earlier result arrived late and now opens the case), the
    -- earliest stored case opened by one of this case's originals.
    UPDATE pg_temp.qlt_case c SET case_no = e.case_no
      FROM ql.enforcement_case e
     WHERE e.opening_result_id = c.opening_result_id;
    UPDATE pg_temp.qlt_case c
       SET case_no = (SELECT e.case_no
                        FROM ql.enforcement_case e
                        JOIN pg_temp.qlt_orig o ON o.result_id = e.opening_result_id
                       WHERE o.credit_code = c.credit_code AND o.run_no = c.run_no
                       ORDER BY e.opened_at, e.case_no LIMIT 1)
     WHERE c.case_no IS NULL;

    -- New cases get the next numbers of their opening year, counters locked
    -- in year order so that concurrent batches cannot deadlock on them.
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

    UPDATE ql.enforcement_case e
       SET credit_code = c.credit_code, opening_result_id = c.opening_result_id,
           status = c.status, priority = c.priority,
           officer = (SELECT a.officer FROM ql.case_assignment a WHERE a.case_no = c.case_no),
           opened_at = c.opened_at, escalated_at = c.escalated_at,
           cleared_at = CASE WHEN c.settled THEN c.cleared_at END,
           cleared_by = CASE WHEN c.settled THEN c.cleared_by END,
           repeat_offender = c.repeat_offender, open_findings = c.open_findings,
           serious_findings = c.serious_findings, updated_at = now()
      FROM pg_temp.qlt_case c
     WHERE e.case_no = c.case_no
       AND (e.credit_code, e.opening_result_id, e.status, e.priority, e.officer, e.opened_at,
            e.escalated_at, e.cleared_at, e.cleared_by, e.repeat_offender, e.open_findings,
            e.serious_findings)
           IS DISTINCT FROM
           (c.credit_code, c.opening_result_id, c.status, c.priority,
            (SELECT a.officer FROM ql.case_assignment a WHERE a.case_no = c.case_no),
            c.opened_at, c.escalated_at, CASE WHEN c.settled THEN c.cleared_at END,
            CASE WHEN c.settled THEN c.cleared_by END, c.repeat_offender, c.open_findings,
            c.serious_findings);

    INSERT INTO ql.enforcement_case (case_no, credit_code, opening_result_id, status, priority,
                                     opened_at, escalated_at, cleared_at, cleared_by,
                                     repeat_offender, open_findings, serious_findings)
    SELECT c.case_no, c.credit_code, c.opening_result_id, c.status, c.priority, c.opened_at,
           c.escalated_at, CASE WHEN c.settled THEN c.cleared_at END,
           CASE WHEN c.settled THEN c.cleared_by END, c.repeat_offender, c.open_findings,
           c.serious_findings
      FROM pg_temp.qlt_case c
     WHERE NOT EXISTS (SELECT 1 FROM ql.enforcement_case e WHERE e.case_no = c.case_no);

    UPDATE ql.finding f
       SET case_no = c.case_no,
           status = CASE o.term_kind WHEN 'RECHECK' THEN 'CLEARED' WHEN 'RETEST' THEN 'VOIDED'
                    ELSE 'OPEN' END,
           resolved_by = o.term_result_id, resolved_at = o.term_at, confirmed_by = o.confirmed_by
      FROM pg_temp.qlt_orig o
      JOIN pg_temp.qlt_case c ON c.credit_code = o.credit_code AND c.run_no = o.run_no
     WHERE f.result_id = o.result_id
       AND (f.case_no, f.status, f.resolved_by, f.resolved_at, f.confirmed_by)
           IS DISTINCT FROM
           (c.case_no, CASE o.term_kind WHEN 'RECHECK' THEN 'CLEARED' WHEN 'RETEST' THEN 'VOIDED'
                       ELSE 'OPEN' END,
            o.term_result_id, o.term_at, o.confirmed_by);

    -- The plan.
    WITH base AS (
        SELECT o.result_id AS about, o.result_id AS original, o.odate AS anchor, a.action,
               CASE a.action WHEN 'RECHECK' THEN o.first_recheck_id
                             WHEN 'OBJECTION_WINDOW' THEN o.first_retest_id END AS fulfilled_by
          FROM pg_temp.qlt_orig o
         CROSS JOIN LATERAL (VALUES ('STOP_SALE'), ('OBJECTION_WINDOW'), ('DIAGNOSIS'),
                                    ('RECTIFY'), ('RECHECK'), ('ENFORCEMENT_REFERRAL'),
                                    ('KEY_SUPERVISION')) AS a(action)
         WHERE (a.action <> 'OBJECTION_WINDOW' OR o.verdict <> 'REFUSED')
           AND (a.action <> 'ENFORCEMENT_REFERRAL' OR o.has_serious)
           AND (a.action <> 'KEY_SUPERVISION' OR o.repeat_offender)
        UNION ALL
        SELECT f.result_id, f.original_result_id, ql.cst_date(f.reported_at), a.action,
               CASE a.action WHEN 'SECOND_RECHECK' THEN f.next_recheck_id END
          FROM pg_temp.qlt_fail f
          JOIN (VALUES (1, 'PUBLIC_ANNOUNCEMENT'), (1, 'SECOND_RECHECK'),
                       (2, 'SUSPEND_REORGANIZE'), (3, 'LICENSE_REVOCATION')) AS a(n, action)
            ON a.n = f.n
    ), cats AS (
        SELECT f.result_id,
               string_agg(DISTINCT k.title || '（' || k.category || '）', '、') AS titles
          FROM ql.finding f JOIN ql.cause_category k ON k.category = f.category
         WHERE f.result_id IN (SELECT result_id FROM pg_temp.qlt_orig)
         GROUP BY f.result_id
    ), cat_text AS (
        SELECT x.result_id,
               string_agg(k.title || '：' || k.diagnosis, ' ' ORDER BY k.sort_order) AS diagnosis,
               string_agg(k.title || '：' || k.measures, ' ' ORDER BY k.sort_order) AS measures
          FROM (SELECT DISTINCT f.result_id, f.category FROM ql.finding f
                 WHERE f.result_id IN (SELECT result_id FROM pg_temp.qlt_orig)) x
          JOIN ql.cause_category k ON k.category = x.category
         GROUP BY x.result_id
    )
    INSERT INTO pg_temp.qlt_act (about_result_id, action, original_result_id, credit_code, case_no,
                                 due_date, not_before, status, measure, basis, done_by_result,
                                 done_at, done_by, note)
    SELECT b.about, b.action, b.original, o.credit_code, c.case_no,
           b.anchor + k.offset_days,
           b.anchor + k.not_before_days,
           CASE WHEN ac.about_result_id IS NOT NULL OR fr.result_id IS NOT NULL THEN 'DONE'
                WHEN o.eff_seq IS NOT NULL OR c.status IN ('CLEARED', 'CLOSED') THEN 'CANCELLED'
                ELSE 'PENDING' END,
           k.measure || CASE b.action
               WHEN 'DIAGNOSIS' THEN ' 诊断：' || coalesce(ct.diagnosis, '')
               WHEN 'RECTIFY' THEN ' 整改措施：' || coalesce(ct.measures, '')
               WHEN 'STOP_SALE' THEN ' 不合格类别：' || coalesce(cs.titles, '')
               ELSE '' END,
           k.basis,
           fr.result_id,
           coalesce(ac.completed_at, fr.reported_at),
           ac.completed_by,
           ac.note
      FROM base b
      JOIN pg_temp.qlt_orig o ON o.result_id = b.original
      JOIN pg_temp.qlt_case c ON c.credit_code = o.credit_code AND c.run_no = o.run_no
      JOIN ql.action_kind k ON k.action = b.action
      LEFT JOIN cats cs ON cs.result_id = b.original
      LEFT JOIN cat_text ct ON ct.result_id = b.original
      LEFT JOIN ql.action_completion ac ON ac.about_result_id = b.about AND ac.action = b.action
      LEFT JOIN ql.inspection_result fr ON fr.result_id = b.fulfilled_by;

    UPDATE ql.plan_action p
       SET case_no = a.case_no, credit_code = a.credit_code,
           original_result_id = a.original_result_id, due_date = a.due_date,
           not_before = a.not_before, status = a.status, measure = a.measure, basis = a.basis,
           done_by_result = a.done_by_result, done_at = a.done_at, done_by = a.done_by,
           note = a.note
      FROM pg_temp.qlt_act a
     WHERE p.about_result_id = a.about_result_id AND p.action = a.action
       AND (p.case_no, p.credit_code, p.original_result_id, p.due_date, p.not_before, p.status,
            p.measure, p.basis, p.done_by_result, p.done_at, p.done_by, p.note)
           IS DISTINCT FROM
           (a.case_no, a.credit_code, a.original_result_id, a.due_date, a.not_before, a.status,
            a.measure, a.basis, a.done_by_result, a.done_at, a.done_by, a.note);

    INSERT INTO ql.plan_action (case_no, credit_code, action, about_result_id, original_result_id,
                                due_date, not_before, status, measure, basis, done_by_result,
                                done_at, done_by, note)
    SELECT a.case_no, a.credit_code, a.action, a.about_result_id, a.original_result_id,
           a.due_date, a.not_before, a.status, a.measure, a.basis, a.done_by_result,
           a.done_at, a.done_by, a.note
      FROM pg_temp.qlt_act a
     WHERE NOT EXISTS (SELECT 1 FROM ql.plan_action p
                        WHERE p.about_result_id = a.about_result_id AND p.action = a.action)
     ORDER BY a.case_no, a.due_date, a.action;

    DELETE FROM ql.plan_action p
     WHERE p.credit_code = ANY (codes)
       AND NOT EXISTS (SELECT 1 FROM pg_temp.qlt_act a
                        WHERE a.about_result_id = p.about_result_id AND a.action = p.action);

    DELETE FROM ql.enforcement_case e
     WHERE e.credit_code = ANY (codes)
       AND NOT EXISTS (SELECT 1 FROM pg_temp.qlt_case c WHERE c.case_no = e.case_no);

    -- What each recheck and retest did.
    UPDATE pg_temp.qlt_fu f
       SET effect = CASE
               WHEN f.original_result_id IS NULL THEN 'WAITING'
               WHEN o.result_id IS NULL THEN 'IGNORED'
               WHEN o.term_result_id = f.result_id THEN
                    CASE o.term_kind WHEN 'RECHECK' THEN 'CLEARED' ELSE 'VOIDED' END
               WHEN EXISTS (SELECT 1 FROM pg_temp.qlt_fail x WHERE x.result_id = f.result_id) THEN 'FAILED'
               WHEN o.confirmed_by = f.result_id THEN 'CONFIRMED'
               ELSE 'IGNORED' END,
           reason = CASE
               WHEN f.original_result_id IS NULL THEN f.reason
               WHEN o.result_id IS NULL THEN 'ORIGINAL_CONFORMING'
               WHEN o.term_result_id = f.result_id
                    OR o.confirmed_by = f.result_id
                    OR EXISTS (SELECT 1 FROM pg_temp.qlt_fail x WHERE x.result_id = f.result_id) THEN NULL
               WHEN o.term_seq IS NOT NULL AND f.seq > o.term_seq THEN 'AFTER_SETTLED'
               WHEN f.kind = 'RETEST' AND NOT f.considered THEN 'LATER_RETEST'
               ELSE 'NO_EFFECT' END
      FROM pg_temp.qlt_fu f2
      LEFT JOIN pg_temp.qlt_orig o ON o.result_id = f2.original_result_id
     WHERE f.result_id = f2.result_id;

    INSERT INTO ql.followup_link AS l (result_id, credit_code, original_result_id, effect, reason)
    SELECT f.result_id, f.credit_code, f.original_result_id, f.effect, f.reason
      FROM pg_temp.qlt_fu f
    ON CONFLICT (result_id) DO UPDATE
       SET original_result_id = excluded.original_result_id, effect = excluded.effect,
           reason = excluded.reason, credit_code = excluded.credit_code
     WHERE (l.original_result_id, l.effect, l.reason, l.credit_code)
           IS DISTINCT FROM (excluded.original_result_id, excluded.effect, excluded.reason,
                             excluded.credit_code);

    -- The enterprise: name and region from its latest result; the count that
    -- tells the next ql.retriage whether anything new arrived.
    UPDATE ql.enterprise e
       SET name = coalesce(x.ent ->> 'name', e.name),
           region_code = coalesce(x.ent ->> 'region_code', e.region_code),
           triaged_results = x.n, triaged_at = now()
      FROM (SELECT c.code,
                   (SELECT count(*) FROM pg_temp.qlt_res r WHERE r.credit_code = c.code) AS n,
                   (SELECT r.record -> 'enterprise' FROM ql.inspection_result r
                     WHERE r.credit_code = c.code
                     ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) AS ent
              FROM unnest(codes) AS c(code)) x
     WHERE e.credit_code = x.code;
END $$;

-- The daemon's entry point: bring the findings, cases and plans of these
-- enterprises up to date after their results were inserted.  Registers
-- enterprises seen for the first time; recomputes those that have
-- nonconformities, rechecks or retests and got such a result since their
-- last triage (full_recompute: every one of them with such results).
-- Returns the number of enterprises recomputed.
CREATE FUNCTION ql.retriage(credit_codes text[], full_recompute boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dirty text[];
BEGIN
    INSERT INTO ql.enterprise (credit_code, name, region_code)
    SELECT c.code, coalesce(l.ent ->> 'name', ''), coalesce(l.ent ->> 'region_code', '')
      FROM (SELECT DISTINCT code FROM unnest(credit_codes) AS u(code) WHERE code IS NOT NULL) c
     CROSS JOIN LATERAL (SELECT r.record -> 'enterprise' AS ent
                           FROM ql.inspection_result r
                          WHERE r.credit_code = c.code
                          ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) l
     WHERE NOT EXISTS (SELECT 1 FROM ql.enterprise e WHERE e.credit_code = c.code)
    ON CONFLICT (credit_code) DO NOTHING;

    SELECT array_agg(x.credit_code ORDER BY x.credit_code) INTO dirty
      FROM (SELECT e.credit_code, e.triaged_results,
                   (SELECT count(*) FROM ql.inspection_result r
                     WHERE r.credit_code = e.credit_code
                       AND (r.kind <> 'SUPERVISION' OR r.verdict <> 'CONFORMING')) AS n
              FROM ql.enterprise e
             WHERE e.credit_code = ANY (credit_codes)) x
     WHERE x.n > 0 AND (full_recompute OR x.n <> x.triaged_results);

    IF dirty IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM ql.recompute(dirty);
    RETURN cardinality(dirty);
END $$;

-- Maintenance: recompute every enterprise that has nonconformities,
-- rechecks or retests (after editing action kinds or categories, or to
-- repair), in chunks.  Returns the number of enterprises recomputed.
CREATE FUNCTION ql.retriage_all(chunk integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
