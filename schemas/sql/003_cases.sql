-- 003_cases: what the 清零 triage derives from the results, and what case
-- officers record.
--
-- Derived (rewritten by ql.retriage from an enterprise's results, never
-- edited by hand): enterprise, finding, nonconformity, enforcement_case,
-- plan_action, followup_link.  Each derived row is reconciled by a natural key so that the
-- identifiers officers hold stay stable across re-triage:
--   finding          (result_id, item_no)
--   enforcement_case (opening_result_id); case_no is allocated once, at first
--                    opening, and kept
--   plan_action      (about_result_id, action); action_id kept
-- Officer inputs live in their own tables (officer, case_assignment,
-- action_completion, officer_log) and are re-applied by every re-triage.
-- Their fill factors leave room on each page for the updates a row gets
-- as its rechecks arrive (HOT updates, no index churn).
-- The derived tables carry no foreign keys: ql.recompute writes them as a
-- whole, in the batch transaction, and per-row reference checks would cost
-- more than the derivation; the tests check their consistency instead.

-- One row per enterprise seen in a triaged batch.  name and region_code are
-- those of its latest result (reported_at, then result_id) that is not a
-- CONFORMING SUPERVISION result -- name_pos is that result's position -- or,
-- for an enterprise without such results, of its latest result when first
-- seen.
CREATE TABLE ql.enterprise (
    credit_code  text PRIMARY KEY,
    name         text NOT NULL,
    region_code  text NOT NULL,
    name_pos     text COLLATE "C",
    triaged_at   timestamptz
) WITH (fillfactor = 90);
CREATE INDEX enterprise_region_idx ON ql.enterprise ((region_code COLLATE "C"));

-- Results the triage acts on, outside the plain CONFORMING SUPERVISION ones.
CREATE INDEX inspection_result_triage_idx
    ON ql.inspection_result (credit_code, reported_at, result_id)
    WHERE kind <> 'SUPERVISION' OR verdict <> 'CONFORMING';

-- Results the triage has yet to apply: every stored result that is not a
-- CONFORMING SUPERVISION result lands here (trigger below, in the inserting
-- transaction) and ql.retriage consumes the rows of the enterprises it is
-- given.  This is what makes a batch cost nothing for enterprises with only
-- conforming results, and only its new results for the others.
CREATE TABLE ql.triage_pending (
    result_id    text PRIMARY KEY,
    credit_code  text NOT NULL,
    kind         text NOT NULL,
    verdict      text NOT NULL,
    refers_to    text,
    reported_at  timestamptz NOT NULL,
    name         text,
    region_code  text
);
CREATE INDEX triage_pending_enterprise_idx ON ql.triage_pending (credit_code);

-- One statement-level trigger per INSERT or COPY: the inserted rows arrive
-- as a transition table, so a batch costs one INSERT ... SELECT instead of a
-- function call per row.
CREATE FUNCTION ql.queue_for_triage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql.triage_pending (result_id, credit_code, kind, verdict, refers_to, reported_at,
                                   name, region_code)
    SELECT n.result_id, n.credit_code, n.kind, n.verdict, n.refers_to, n.reported_at,
           n.record -> 'enterprise' ->> 'name', n.record -> 'enterprise' ->> 'region_code'
      FROM inserted n
     WHERE n.kind <> 'SUPERVISION' OR n.verdict <> 'CONFORMING'
    ON CONFLICT (result_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER inspection_result_queue_for_triage
    AFTER INSERT ON ql.inspection_result
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT
    EXECUTE FUNCTION ql.queue_for_triage();

-- Case numbers QL-YYYY-NNNNN count per year of the opening result (CST).
CREATE TABLE ql.case_counter (
    year     integer PRIMARY KEY,
    last_no  integer NOT NULL
);

CREATE TABLE ql.enforcement_case (
    case_no            text PRIMARY KEY CHECK (case_no ~ '^QL-[0-9]{4}-[0-9]{5,}$'),
    credit_code        text NOT NULL,
    -- The first nonconforming result of the case: its identity.
    opening_result_id  text NOT NULL UNIQUE,
    status             text NOT NULL CHECK (status IN ('OPEN', 'ESCALATED', 'CLEARED', 'CLOSED')),
    priority           text NOT NULL CHECK (priority IN ('P1', 'P2', 'P3')),
    officer            text,
    opened_at          timestamptz NOT NULL,
    escalated_at       timestamptz,
    cleared_at         timestamptz,
    cleared_by         text,
    repeat_offender    boolean NOT NULL DEFAULT false,
    open_findings      integer NOT NULL DEFAULT 0,
    serious_findings   integer NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- One open case per enterprise (checked at commit: a re-triage may close
    -- one case and open the next in the same statement).
    CONSTRAINT enforcement_case_one_open EXCLUDE USING btree (credit_code WITH =)
        WHERE (status IN ('OPEN', 'ESCALATED')) DEFERRABLE INITIALLY DEFERRED,
    CHECK ((status = 'CLEARED') = (cleared_at IS NOT NULL))
) WITH (fillfactor = 60);
CREATE INDEX enforcement_case_enterprise_idx ON ql.enforcement_case (credit_code, opened_at);
CREATE INDEX enforcement_case_open_idx ON ql.enforcement_case (priority, case_no)
    WHERE status IN ('OPEN', 'ESCALATED');

-- One finding per FAIL item of a NONCONFORMING SUPERVISION result
-- (item_no = the item's 1-based position in record.items) and one per
-- REFUSED result (item_no 0).  All findings of a result share its fate:
-- OPEN until a passing RECHECK clears them or a passing RETEST voids them.
CREATE TABLE ql.finding (
    finding_id    bigserial PRIMARY KEY,
    result_id     text NOT NULL,
    item_no       integer NOT NULL CHECK (item_no >= 0),
    credit_code   text NOT NULL,
    -- The region of the enterprise as the result reported it.
    region_code   text NOT NULL,
    case_no       text,
    item_name     text NOT NULL,
    clause        text,
    requirement   text,
    measured      text,
    unit          text,
    importance    text,
    safety        boolean,
    severity      text NOT NULL CHECK (severity IN ('SERIOUS', 'GENERAL')),
    category      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('OPEN', 'CLEARED', 'VOIDED')),
    reported_at   timestamptz NOT NULL,
    -- The failing RETEST that confirmed the finding, if any.
    confirmed_by  text,
    -- The RECHECK that cleared it or the RETEST that voided it, and its date.
    resolved_by   text,
    resolved_at   timestamptz,
    UNIQUE (result_id, item_no),
    CHECK ((status = 'OPEN') = (resolved_at IS NULL))
) WITH (fillfactor = 60);
CREATE INDEX finding_case_idx ON ql.finding (case_no);
CREATE INDEX finding_progress_idx ON ql.finding ((region_code COLLATE "C"), category, result_id);

CREATE TABLE ql.plan_action (
    action_id           bigserial PRIMARY KEY,
    case_no             text NOT NULL,
    credit_code         text NOT NULL,
    action              text NOT NULL,
    -- The result the action is about: the original nonconforming result, or
    -- for PUBLIC_ANNOUNCEMENT, SECOND_RECHECK, SUSPEND_REORGANIZE and
    -- LICENSE_REVOCATION the failed recheck that called for it.
    about_result_id     text NOT NULL,
    original_result_id  text NOT NULL,
    due_date            date NOT NULL,
    not_before          date,
    status              text NOT NULL CHECK (status IN ('PENDING', 'DONE', 'CANCELLED')),
    measure             text NOT NULL,
    basis               text NOT NULL,
    -- Done by a result (the recheck or retest that carried it out) or by an
    -- officer (ql.complete_action: who, when, note).
    done_by_result      text,
    done_at             timestamptz,
    done_by             text,
    note                text,
    UNIQUE (about_result_id, action)
) WITH (fillfactor = 50);
CREATE INDEX plan_action_case_idx ON ql.plan_action (case_no, due_date);
CREATE INDEX plan_action_original_idx ON ql.plan_action (original_result_id);

-- One row per original: a NONCONFORMING or REFUSED SUPERVISION result, with
-- the outcome of its rechecks and retests (the fold) and its place among the
-- enterprise's originals.  Positions are text keys that sort, in collation
-- "C", like (reported_at, result_id): ql.result_pos().  eff_pos is the
-- position from which the original no longer holds its case open ('~',
-- after every position, while it is OPEN); prefix_max_pos is the greatest
-- eff_pos of the enterprise's originals up to and including this one, so an
-- original opens a new case exactly when the prefix_max_pos of the one
-- before it is lower than its own position.
CREATE TABLE ql.nonconformity (
    result_id         text PRIMARY KEY,
    credit_code       text NOT NULL,
    region_code       text NOT NULL,
    verdict           text NOT NULL CHECK (verdict IN ('NONCONFORMING', 'REFUSED')),
    reported_at       timestamptz NOT NULL,
    order_date        date NOT NULL,
    pos               text COLLATE "C" NOT NULL,
    case_no           text,
    status            text NOT NULL CHECK (status IN ('OPEN', 'CLEARED', 'VOIDED')),
    settled_by        text,
    settled_at        timestamptz,
    eff_pos           text COLLATE "C" NOT NULL,
    prefix_max_pos    text COLLATE "C",
    confirmed_by      text,
    failed_rechecks   integer NOT NULL DEFAULT 0,
    first_failed_at   timestamptz,
    first_recheck_id  text,
    first_recheck_at  timestamptz,
    first_retest_id   text,
    first_retest_at   timestamptz,
    repeat_offender   boolean NOT NULL DEFAULT false,
    has_serious       boolean NOT NULL
) WITH (fillfactor = 60);
CREATE INDEX nonconformity_enterprise_idx ON ql.nonconformity (credit_code, pos);
CREATE INDEX nonconformity_case_idx ON ql.nonconformity (case_no);
CREATE INDEX nonconformity_region_idx ON ql.nonconformity ((region_code COLLATE "C"));

-- Every RECHECK and RETEST, with the original SUPERVISION result its
-- refers_to chain leads to (a recheck may refer to the original or to an
-- earlier recheck of it).  original_result_id is NULL while the chain cannot
-- be followed to a stored SUPERVISION result of the same enterprise: such a
-- result waits (ql.unmatched_recheck, reason) and is applied when its
-- original arrives.  effect says what it did: CLEARED, VOIDED, CONFIRMED,
-- FAILED (failure_no: 1st, 2nd, ... failed recheck; next_recheck_id: the
-- recheck that followed it), IGNORED (reason: after the findings were
-- settled, a later retest, or a conforming original) or WAITING.
CREATE TABLE ql.followup_link (
    result_id           text PRIMARY KEY,
    credit_code         text NOT NULL,
    kind                text NOT NULL,
    verdict             text NOT NULL,
    reported_at         timestamptz NOT NULL,
    pos                 text COLLATE "C" NOT NULL,
    original_result_id  text,
    effect              text NOT NULL CHECK (effect IN
                          ('CLEARED', 'VOIDED', 'CONFIRMED', 'FAILED', 'IGNORED', 'WAITING')),
    reason              text,
    failure_no          integer,
    next_recheck_id     text,
    next_recheck_at     timestamptz
) WITH (fillfactor = 60);
CREATE INDEX followup_link_original_idx ON ql.followup_link (original_result_id);
-- Only the waiting ones are looked up by enterprise (ql.recompute, step 1).
CREATE INDEX followup_link_waiting_idx ON ql.followup_link (credit_code) WHERE original_result_id IS NULL;

-- Officers: a login sees the enterprises whose region_code starts with one of
-- its prefixes ('' = every region).
CREATE TABLE ql.officer (
    login          text NOT NULL,
    region_prefix  text NOT NULL CHECK (region_prefix ~ '^[0-9]{0,6}$'),
    PRIMARY KEY (login, region_prefix)
);

CREATE TABLE ql.case_assignment (
    case_no      text PRIMARY KEY REFERENCES ql.enforcement_case ON DELETE CASCADE,
    officer      text NOT NULL,
    assigned_by  text NOT NULL,
    assigned_at  timestamptz NOT NULL
);

-- Actions an officer marked done, keyed like plan_action so that they are
-- re-applied whenever the plan is derived again.
CREATE TABLE ql.action_completion (
    about_result_id  text NOT NULL,
    action           text NOT NULL REFERENCES ql.action_kind,
    note             text,
    completed_by     text NOT NULL,
    completed_at     timestamptz NOT NULL,
    PRIMARY KEY (about_result_id, action)
);

-- Audit trail of every officer input.
CREATE TABLE ql.officer_log (
    log_id     bigserial PRIMARY KEY,
    logged_at  timestamptz NOT NULL DEFAULT now(),
    login      text NOT NULL,
    what       text NOT NULL CHECK (what IN ('ASSIGN', 'COMPLETE')),
    case_no    text NOT NULL,
    action_id  bigint,
    detail     text
);
CREATE INDEX officer_log_case_idx ON ql.officer_log (case_no, logged_at);
