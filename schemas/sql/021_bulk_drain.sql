-- 021_bulk_drain: ql-triage's drain of the derivation queue (016) leaves
-- enterprises whose derivation is failing to the retry of 020.
--
-- In bulk mode ql-triage stores a backlog with only the registration of its
-- enterprises and derives the queued ones afterwards, in chunks taken with
-- ql.pending_enterprises.  An enterprise whose derivation fails keeps its
-- results queued (as after a failed batch) and gets a ql.derivation_failure
-- row; the retry of 020 derives it again on its own schedule, with
-- backoff.  Handing it to the drain again would retry it at once, as many
-- times as the drain asks, so the drain skips enterprises with an open
-- failure; their results stay queued until a retry (or their next results)
-- succeeds.
--
-- A batch stored in bulk mode registers its enterprises and leaves their
-- results queued.  If a drain is deriving one of them meanwhile, the
-- drain's ql.recompute ends by deleting the enterprise's queued results --
-- in READ COMMITTED, those committed by then included -- and a bulk batch
-- committed under it would lose its results' derivation.  So
-- ql.register_enterprises now takes the enterprises as ql.recompute does
-- (FOR NO KEY UPDATE, in code order): the batch waits for the derivation
-- in progress, and its results stay queued for the next.
--
-- The derivation of a chunk of enterprises (ql-triage takes 1,000) sorts
-- and hashes more than the default work_mem (4 MB) holds; ql.recompute gets 64 MB (one backend
-- per ql-triage worker derives at a time; the queued replay of 200,000
-- results measured about a fifth faster).

CREATE OR REPLACE FUNCTION ql.pending_enterprises(max_codes integer DEFAULT 2000) RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    codes text[];
BEGIN
    SELECT array_agg(e.credit_code ORDER BY e.credit_code) INTO codes
      FROM (SELECT e.credit_code
              FROM (SELECT DISTINCT p.credit_code FROM ql.triage_pending p
                     WHERE NOT EXISTS (SELECT 1 FROM ql.derivation_failure f
                                        WHERE f.credit_code = p.credit_code
                                          AND f.resolved_at IS NULL)
                     ORDER BY p.credit_code LIMIT greatest(max_codes, 1) * 2) q
              JOIN ql.enterprise e ON e.credit_code = q.credit_code
             ORDER BY e.credit_code
             LIMIT greatest(max_codes, 1)
               FOR NO KEY UPDATE OF e SKIP LOCKED) e;
    IF codes IS NULL THEN
        SELECT array_agg(DISTINCT p.credit_code) INTO codes
          FROM (SELECT p.credit_code FROM ql.triage_pending p
                 WHERE NOT EXISTS (SELECT 1 FROM ql.enterprise e WHERE e.credit_code = p.credit_code)
                 LIMIT greatest(max_codes, 1)) p;
        IF codes IS NOT NULL THEN
            PERFORM ql.register_enterprises(codes);
        END IF;
    END IF;
    RETURN coalesce(codes, '{}');
END $$;

-- As in 016, and it waits for a derivation of its enterprises in progress.
CREATE OR REPLACE FUNCTION ql.register_enterprises(credit_codes text[], full_recompute boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
    registered integer;
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
    GET DIAGNOSTICS registered = ROW_COUNT;
    SET LOCAL enable_hashjoin = on;
    SET LOCAL enable_mergejoin = on;

    -- Wait for a derivation of these enterprises in progress (it holds
    -- them, ql.recompute), so that its end does not take this batch's
    -- queued results, committed under it, for ones it derived.
    PERFORM 1 FROM ql.enterprise e WHERE e.credit_code = ANY (credit_codes)
     ORDER BY e.credit_code FOR NO KEY UPDATE;

    RETURN registered;
END $$;

ALTER FUNCTION ql.recompute(text[], boolean) SET work_mem = '64MB';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.pending_enterprises(integer),
                          ql.register_enterprises(text[], boolean) TO ql_triage;
