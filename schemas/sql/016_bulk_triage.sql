-- 016_bulk_triage: a backlog derives its cases in bulk.
--
-- ql-triage derives the cases of every batch in the batch's transaction
-- (ql.retriage): an enterprise whose results come in many batches is derived
-- as many times.  When it is far behind -- a replay of a topic into a fresh
-- database, a long outage -- it now stores each batch with only the
-- registration of its enterprises (ql.register_enterprises), leaving the
-- results queued in ql.triage_pending as the trigger of 003 queues them, and
-- derives the queued enterprises in large chunks from time to time and when
-- it has caught up (ql.pending_enterprises, then ql.retriage on them).  The state derived is the same:
-- ql.recompute is incremental and order-independent, the tests check it
-- against full re-derivation; a queue left by a crash is derived when
-- ql-triage starts again.

-- Register the enterprises of a batch that are seen for the first time.
-- What ql.retriage did first (004), on its own: in bulk mode ql-triage calls
-- this alone for each batch and derives the cases later
-- (ql.retriage_pending).  Returns the number registered.
CREATE FUNCTION ql.register_enterprises(credit_codes text[], full_recompute boolean DEFAULT false)
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

    RETURN registered;
END $$;

-- As in 004, with the registration in ql.register_enterprises.
CREATE OR REPLACE FUNCTION ql.retriage(credit_codes text[], full_recompute boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
    dirty text[];
BEGIN
    PERFORM ql.register_enterprises(credit_codes, full_recompute);

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


-- Up to max_codes enterprises with queued results, locked for this
-- transaction, in code order; enterprises another session holds (it is
-- deriving them) are skipped, not waited for, so that group members drain
-- the queue side by side.  ql-triage derives them with ql.retriage in the
-- same transaction (its one-enterprise-at-a-time fallback and the record of
-- failed derivations apply as to any batch).  Queued results of an
-- enterprise not registered (results stored by hand) register it.
CREATE FUNCTION ql.pending_enterprises(max_codes integer DEFAULT 2000) RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    codes text[];
BEGIN
    SELECT array_agg(e.credit_code ORDER BY e.credit_code) INTO codes
      FROM (SELECT e.credit_code
              FROM (SELECT DISTINCT p.credit_code FROM ql.triage_pending p
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

-- Derive up to max_codes queued enterprises in one transaction (the same as
-- ql.retriage(ql.pending_enterprises(max_codes))); returns how many: 0 when
-- nothing is queued, or everything queued is being derived by another
-- session.  For maintenance from psql.
CREATE FUNCTION ql.retriage_pending(max_codes integer DEFAULT 2000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    codes text[] := ql.pending_enterprises(max_codes);
BEGIN
    IF cardinality(codes) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM ql.recompute(codes, false);
    RETURN cardinality(codes);
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.retriage(text[], boolean), ql.recategorize(), ql.set_bureau(text),
                          ql.register_enterprises(text[], boolean), ql.retriage_pending(integer),
                          ql.pending_enterprises(integer)
   TO ql_triage;
