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
-- The derivation of a chunk of 2,000 enterprises sorts and hashes more than
-- the default work_mem (4 MB) holds; ql.recompute gets 64 MB (one backend
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

ALTER FUNCTION ql.recompute(text[], boolean) SET work_mem = '64MB';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ql.pending_enterprises(integer) TO ql_triage;
