-- 022_queue_taken: a bulk batch no longer waits for the drain.
--
-- In bulk mode one member of ql-triage may drain the derivation queue
-- while another still stores its backlog.  Until now the storing member's
-- batch waited (ql.register_enterprises, 021) for every chunk of the drain
-- that held one of its enterprises: the drain's ql.recompute, in READ
-- COMMITTED, read the queue in several statements and ended by deleting
-- the enterprises' queued results, so a batch's results committed under it
-- would have been partly seen and then deleted as derived.  With chunks of
-- 4,000 enterprises held 2-4 s, the storing member stored about one batch
-- per chunk: a million-result replay's last 100,000 results went at 0.38
-- of the rate of the second, and of 400,000 at 0.26.
--
-- Now the derivation takes the queue once: right after it has locked its
-- enterprises it copies their queued results into ql_work.taken, reads
-- only those (derive_links, derive_new_originals, derive_names), and
-- deletes only those.  A result queued for one of its enterprises after
-- that is invisible to it: not derived, not deleted, and not followed as
-- the original of a recheck (derive_links treats it as not yet arrived, so
-- the recheck waits for it as it would had it come first); it stays queued
-- for the next derivation.  So a bulk batch need not wait for the drain,
-- and the drain leaves exactly the state it leaves when the batch comes
-- after it.
--
-- Lock modes (no foreign key references ql.enterprise, so nothing else
-- takes KEY SHARE on it):
--
--   the drain (ql.derive_queued)       FOR NO KEY UPDATE, taken with SKIP
--                                      LOCKED by ql.pending_enterprises
--   any other derivation (ql.recompute) FOR UPDATE
--   a bulk batch (ql.register_queued)  FOR KEY SHARE
--
-- KEY SHARE conflicts with UPDATE only: a bulk batch still waits for a
-- batch's own derivation, an officer's function or the retry (which see
-- exactly the queue they take either way), but not for the drain; any two
-- derivations still exclude each other.  Both sides lock in code order.

-- The queued results a derivation took (see above).
CREATE UNLOGGED TABLE ql_work.taken (
    result_id text PRIMARY KEY, credit_code text NOT NULL, kind text NOT NULL,
    verdict text NOT NULL, refers_to text, reported_at timestamptz NOT NULL,
    name text, region_code text) WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);

CREATE OR REPLACE FUNCTION ql.workspace_clear() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM ql_work.taken;
    DELETE FROM ql_work.followup;
    DELETE FROM ql_work.new_original;
    DELETE FROM ql_work.refold;
    DELETE FROM ql_work.fold_event;
    DELETE FROM ql_work.fold;
    DELETE FROM ql_work.regroup;
    DELETE FROM ql_work.case_run;
    DELETE FROM ql_work.case_state;
    DELETE FROM ql_work.replan;
    DELETE FROM ql_work.plan_row;
END $$;

CREATE OR REPLACE FUNCTION ql.workspace_trim() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_relation_size('ql_work.plan_row') + pg_relation_size('ql_work.regroup')
       + pg_relation_size('ql_work.fold_event') + pg_relation_size('ql_work.followup')
       + pg_relation_size('ql_work.taken') <= 4 * 1024 * 1024 THEN
        RETURN;
    END IF;
    BEGIN
        LOCK TABLE ql_work.taken, ql_work.followup, ql_work.new_original, ql_work.refold,
                   ql_work.fold_event, ql_work.fold, ql_work.regroup, ql_work.case_run,
                   ql_work.case_state, ql_work.replan, ql_work.plan_row
            IN ACCESS EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN;
    END;
    TRUNCATE ql_work.taken, ql_work.followup, ql_work.new_original, ql_work.refold,
             ql_work.fold_event, ql_work.fold, ql_work.regroup, ql_work.case_run,
             ql_work.case_state, ql_work.replan, ql_work.plan_row;
END $$;

-- Rechecks and retests to link to their original, as in 013, from the
-- queue taken; a result queued for these enterprises after it was taken is
-- not followed (not yet arrived).
CREATE OR REPLACE FUNCTION ql.derive_links(codes text[], full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql_work.followup (result_id, credit_code, kind, verdict, refers_to, reported_at)
    SELECT p.result_id, p.credit_code, p.kind, p.verdict, p.refers_to, p.reported_at
      FROM ql_work.taken p
     WHERE NOT full_recompute AND p.kind <> 'SUPERVISION'
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
                              WHERE r.result_id = c.target
                                AND NOT EXISTS (SELECT 1 FROM ql.triage_pending p
                                                 WHERE p.result_id = r.result_id AND p.credit_code = ANY (codes)
                                                   AND NOT EXISTS (SELECT 1 FROM ql_work.taken w
                                                                    WHERE w.result_id = p.result_id))
                                OFFSET 0) t
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
                              WHERE r.result_id = e.target
                                AND NOT EXISTS (SELECT 1 FROM ql.triage_pending p
                                                 WHERE p.result_id = r.result_id AND p.credit_code = ANY (codes)
                                                   AND NOT EXISTS (SELECT 1 FROM ql_work.taken w
                                                                    WHERE w.result_id = p.result_id))
                                OFFSET 0) o ON true
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

CREATE OR REPLACE FUNCTION ql.derive_new_originals(codes text[], full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH fresh AS (
        SELECT p.result_id, p.credit_code, p.verdict, p.reported_at
          FROM ql_work.taken p
         WHERE NOT full_recompute
           AND p.kind = 'SUPERVISION' AND p.verdict <> 'CONFORMING'
           AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.result_id = p.result_id)
        UNION ALL
        SELECT r.result_id, r.credit_code, r.verdict, r.reported_at
          FROM ql.inspection_result r
         WHERE full_recompute AND r.credit_code = ANY (codes)
           AND r.kind = 'SUPERVISION' AND r.verdict <> 'CONFORMING'
           AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.result_id = r.result_id)
    )
    INSERT INTO ql_work.new_original (result_id, credit_code, verdict, reported_at, region_code, fails,
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
END $$;

CREATE OR REPLACE FUNCTION ql.derive_names(codes text[], full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE ql.enterprise e
       SET name = coalesce(x.name, e.name), region_code = coalesce(x.region_code, e.region_code),
           name_pos = x.pos, triaged_at = now()
      FROM (SELECT DISTINCT ON (p.credit_code) p.credit_code, p.name, p.region_code,
                   ql.result_pos(p.reported_at, p.result_id) AS pos
              FROM ql_work.taken p
             WHERE NOT full_recompute
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
END $$;

-- The derivation of 017 after the lock: take the queue, derive, delete
-- what was taken.
CREATE FUNCTION ql.derive_taken(codes text[], full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql_work.taken (result_id, credit_code, kind, verdict, refers_to, reported_at,
                               name, region_code)
    SELECT p.result_id, p.credit_code, p.kind, p.verdict, p.refers_to, p.reported_at,
           p.name, p.region_code
      FROM ql.triage_pending p WHERE p.credit_code = ANY (codes);

    PERFORM ql.derive_links(codes, full_recompute);
    PERFORM ql.derive_new_originals(codes, full_recompute);
    PERFORM ql.derive_folds(codes, full_recompute);
    PERFORM ql.derive_groups();
    PERFORM ql.derive_cases();
    PERFORM ql.derive_plans(full_recompute);
    PERFORM ql.derive_case_summary();
    PERFORM ql.derive_names(codes, full_recompute);

    DELETE FROM ql.triage_pending p USING ql_work.taken w WHERE p.result_id = w.result_id;
    PERFORM ql.workspace_clear();
END $$;

-- As in 017: every derivation but the drain's, its enterprises FOR UPDATE.
CREATE OR REPLACE FUNCTION ql.recompute(codes text[], full_recompute boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan SET work_mem = '64MB'
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
    PERFORM ql.workspace_trim();
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (codes)
     ORDER BY e.credit_code FOR UPDATE;
    PERFORM ql.derive_taken(codes, full_recompute);
END $$;

-- The drain's derivation of queued enterprises (ql-triage takes them with
-- ql.pending_enterprises in the same transaction): FOR NO KEY UPDATE, so
-- that bulk batches go on meanwhile.  Returns the number derived.
CREATE FUNCTION ql.derive_queued(credit_codes text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan SET work_mem = '64MB'
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
    codes text[];
BEGIN
    SELECT array_agg(DISTINCT c.code ORDER BY c.code) INTO codes
      FROM unnest(credit_codes) AS c(code) WHERE c.code IS NOT NULL;
    IF codes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM ql.workspace_trim();
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (codes)
     ORDER BY e.credit_code FOR NO KEY UPDATE;
    PERFORM ql.derive_taken(codes, false);
    RETURN cardinality(codes);
END $$;

-- The registration of 021 without its wait, for the two callers below.
CREATE FUNCTION ql.register_new_enterprises(credit_codes text[], full_recompute boolean)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    registered integer;
BEGIN
    -- Register the enterprises seen for the first time, each probed by its
    -- key (a hash anti-join would read every registered enterprise).  One
    -- with results queued gets the name and region of its latest queued
    -- result, as ql.derive_names would set them (it then finds name_pos up
    -- to date); the latest of all its results is read only for the others.
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
    GET DIAGNOSTICS registered = ROW_COUNT;
    RETURN registered;
END $$;

-- As in 021: register, then wait for a derivation of these enterprises in
-- progress (ql.retriage calls it before ql.recompute takes them).
CREATE OR REPLACE FUNCTION ql.register_enterprises(credit_codes text[], full_recompute boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    registered integer := ql.register_new_enterprises(credit_codes, full_recompute);
BEGIN
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (credit_codes)
     ORDER BY e.credit_code FOR NO KEY UPDATE;
    RETURN registered;
END $$;

-- A bulk batch's registration (ql-triage in bulk mode, after storing the
-- batch's rows): register, and wait for a derivation of these enterprises
-- in progress other than the drain's.  Returns the number registered.
CREATE FUNCTION ql.register_queued(credit_codes text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    registered integer := ql.register_new_enterprises(credit_codes, false);
BEGIN
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (credit_codes)
     ORDER BY e.credit_code FOR KEY SHARE;
    RETURN registered;
END $$;

-- The SQL drain of 016 (tests, psql) as ql-triage drains.
CREATE OR REPLACE FUNCTION ql.retriage_pending(max_codes integer DEFAULT 2000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN ql.derive_queued(ql.pending_enterprises(max_codes));
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.register_queued(text[]), ql.derive_queued(text[]) TO ql_triage;
