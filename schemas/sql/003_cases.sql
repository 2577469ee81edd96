-- 003_cases: what the 清零 triage derives from the results, and what case
-- officers record.
--
-- Derived (rewritten by ql.retriage from an enterprise's results, never
-- edited by hand): enterprise, finding, enforcement_case, plan_action,
-- followup_link.  Each derived row is reconciled by a natural key so that the
-- identifiers officers hold stay stable across re-triage:
--   finding          (result_id, item_no)
--   enforcement_case (opening_result_id); case_no is allocated once, at first
--                    opening, and kept
--   plan_action      (about_result_id, action); action_id kept
-- Officer inputs live in their own tables (officer, case_assignment,
-- action_completion, officer_log) and are re-applied by every re-triage.

-- One row per enterprise seen in a triaged batch.  name and region_code come
-- from the enterprise's latest result (reported_at, then result_id) when it
-- is first seen and at every re-triage of its nonconformities;
-- triaged_results is the number of its results that matter to the triage
-- (anything but a CONFORMING SUPERVISION result) at its last re-triage, so a
-- batch that brought it nothing new costs no work.
CREATE TABLE ql.enterprise (
    credit_code      text PRIMARY KEY,
    name             text NOT NULL,
    region_code      text NOT NULL,
    triaged_results  integer NOT NULL DEFAULT 0,
    triaged_at       timestamptz
);
CREATE INDEX enterprise_region_idx ON ql.enterprise (region_code text_pattern_ops);

-- Results the triage acts on, outside the plain CONFORMING SUPERVISION ones:
-- small, and the fast path of ql.retriage probes it.
CREATE INDEX inspection_result_triage_idx
    ON ql.inspection_result (credit_code, reported_at, result_id)
    WHERE kind <> 'SUPERVISION' OR verdict <> 'CONFORMING';

-- Case numbers QL-YYYY-NNNNN count per year of the opening result (CST).
CREATE TABLE ql.case_counter (
    year     integer PRIMARY KEY,
    last_no  integer NOT NULL
);

CREATE TABLE ql.enforcement_case (
    case_no            text PRIMARY KEY CHECK (case_no ~ '^QL-[0-9]{4}-[0-9]{5,}$'),
    credit_code        text NOT NULL REFERENCES ql.enterprise,
    -- The first nonconforming result of the case: its identity.
    opening_result_id  text NOT NULL UNIQUE REFERENCES ql.inspection_result,
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
);
CREATE INDEX enforcement_case_enterprise_idx ON ql.enforcement_case (credit_code, opened_at);
CREATE INDEX enforcement_case_open_idx ON ql.enforcement_case (priority, case_no)
    WHERE status IN ('OPEN', 'ESCALATED');

-- One finding per FAIL item of a NONCONFORMING SUPERVISION result
-- (item_no = the item's 1-based position in record.items) and one per
-- REFUSED result (item_no 0).  All findings of a result share its fate:
-- OPEN until a passing RECHECK clears them or a passing RETEST voids them.
CREATE TABLE ql.finding (
    finding_id    bigserial PRIMARY KEY,
    result_id     text NOT NULL REFERENCES ql.inspection_result,
    item_no       integer NOT NULL CHECK (item_no >= 0),
    credit_code   text NOT NULL,
    -- The region of the enterprise as the result reported it.
    region_code   text NOT NULL,
    case_no       text REFERENCES ql.enforcement_case DEFERRABLE INITIALLY DEFERRED,
    item_name     text NOT NULL,
    clause        text,
    requirement   text,
    measured      text,
    unit          text,
    importance    text,
    safety        boolean,
    severity      text NOT NULL CHECK (severity IN ('SERIOUS', 'GENERAL')),
    category      text NOT NULL REFERENCES ql.cause_category,
    status        text NOT NULL CHECK (status IN ('OPEN', 'CLEARED', 'VOIDED')),
    reported_at   timestamptz NOT NULL,
    -- The failing RETEST that confirmed the finding, if any.
    confirmed_by  text,
    -- The RECHECK that cleared it or the RETEST that voided it, and its date.
    resolved_by   text,
    resolved_at   timestamptz,
    UNIQUE (result_id, item_no),
    CHECK ((status = 'OPEN') = (resolved_at IS NULL))
);
CREATE INDEX finding_case_idx ON ql.finding (case_no);
CREATE INDEX finding_enterprise_idx ON ql.finding (credit_code);
CREATE INDEX finding_progress_idx ON ql.finding (region_code, category, result_id, status);

CREATE TABLE ql.plan_action (
    action_id           bigserial PRIMARY KEY,
    case_no             text NOT NULL REFERENCES ql.enforcement_case DEFERRABLE INITIALLY DEFERRED,
    credit_code         text NOT NULL,
    action              text NOT NULL REFERENCES ql.action_kind,
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
);
CREATE INDEX plan_action_case_idx ON ql.plan_action (case_no, due_date);
CREATE INDEX plan_action_enterprise_idx ON ql.plan_action (credit_code);
CREATE INDEX plan_action_pending_idx ON ql.plan_action (due_date) WHERE status = 'PENDING';

-- Every RECHECK and RETEST, with the original SUPERVISION result its
-- refers_to chain leads to (a recheck may refer to the original or to an
-- earlier recheck of it).  original_result_id is NULL while the chain cannot
-- be followed to a stored SUPERVISION result of the same enterprise: such a
-- result waits (ql.unmatched_recheck) and is applied when its original
-- arrives.  effect says what it did: CLEARED, VOIDED, CONFIRMED, FAILED
-- (a failed recheck), IGNORED (after the findings were settled, a second
-- retest, or a conforming original) or WAITING.
CREATE TABLE ql.followup_link (
    result_id           text PRIMARY KEY REFERENCES ql.inspection_result,
    credit_code         text NOT NULL,
    original_result_id  text,
    effect              text NOT NULL CHECK (effect IN
                          ('CLEARED', 'VOIDED', 'CONFIRMED', 'FAILED', 'IGNORED', 'WAITING')),
    reason              text
);
CREATE INDEX followup_link_enterprise_idx ON ql.followup_link (credit_code);
CREATE INDEX followup_link_waiting_idx ON ql.followup_link (result_id) WHERE original_result_id IS NULL;

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
