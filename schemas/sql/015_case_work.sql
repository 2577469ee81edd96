-- 014_case_work: case work as officers do it -- the legal acts the bureau
-- records and the deadlines the law counts from them, the producer's
-- bureau, closing by a second officer, and the corrections of the plan.
--
-- SAMR Order No. 18 (2019, 《产品质量监督抽查管理暂行办法》) counts the
-- rectification (Art. 46: 60 days) and the recheck (Art. 47: 75 days) from
-- the day of the order to rectify (自责令之日起), the second recheck
-- (Art. 48: after 60 and before 90 days) from the day of the announcement,
-- and the Product Quality Law (Art. 15) the re-test window (15 days) from
-- the day the enterprise received the result.  Officers record those acts
-- (ql.record_act); until one is recorded, its dates are estimated from the
-- report date as before and marked provisional.
--
--   act               中文              starts
--   SERVED            送达检验结果      OBJECTION_WINDOW: open until on_date + 15
--   RECTIFY_ORDER     责令整改 (文号)   RECTIFY due + 60, RECHECK due + 75
--   OBJECTION_FILED   申请复检          the case waits for the retest; late if
--                                       after the window
--   ANNOUNCED         公告              SECOND_RECHECK not before + 60, due + 90
--   SUSPENSION_ORDER  责令停业整顿      REORGANIZE_RECHECK due on until_date
--                     (until_date)      (Art. 48, PQL Art. 17)
--
-- An act is recorded on a case and counts for the originals of the case
-- reported on or before its date (an order cannot cover a nonconformity
-- found after it); of each kind only the latest unrevoked act counts (by
-- on_date, then the order of recording).  The acts about a failed recheck
-- (ANNOUNCED, SUSPENSION_ORDER) count for the failed rechecks reported on
-- or before their date.  Acts are inputs like the officers' others: kept
-- across re-triage, moved with the originals when cases merge, never
-- deleted (ql.revoke_act marks one revoked, with the reason).
--
-- Also here: OBJECTION_WINDOW is a period, not a task (never overdue; the
-- views show the objection state); STOP_SALE only for NONCONFORMING
-- results (Art. 45), a refusal goes to ENFORCEMENT_REFERRAL (PQL Art. 56);
-- DIAGNOSIS and KEY_SUPERVISION cite what they rest on; sellers' and
-- producers' RECTIFY measures differ; NOTIFY_PRODUCER_BUREAU (Art. 44 ¶2)
-- when a seller's product was made outside the bureau's region; completing
-- LICENSE_REVOCATION requests the close, which a supervisor of the region
-- confirms (ql.confirm_close); ql.reopen_action undoes a completion.

-- ---------------------------------------------------------------------------
-- Inputs

CREATE TABLE ql.case_act (
    act_id         bigserial PRIMARY KEY,
    case_no        text NOT NULL,
    act            text NOT NULL CHECK (act IN ('SERVED', 'RECTIFY_ORDER', 'OBJECTION_FILED',
                                                'ANNOUNCED', 'SUSPENSION_ORDER')),
    on_date        date NOT NULL,
    doc_no         text CHECK (doc_no <> ''),
    until_date     date,
    note           text,
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_by     text,
    revoke_reason  text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
    CHECK (act <> 'RECTIFY_ORDER' OR doc_no IS NOT NULL),
    CHECK ((act = 'SUSPENSION_ORDER') = (until_date IS NOT NULL)),
    CHECK (until_date IS NULL OR until_date > on_date)
);
CREATE INDEX case_act_case_idx ON ql.case_act (case_no, act, on_date) WHERE revoked_at IS NULL;

-- Supervisors confirm closes, in the regions of their rows.
ALTER TABLE ql.officer ADD COLUMN supervisor boolean NOT NULL DEFAULT false;

-- A close a supervisor confirmed: the case is CLOSED while its
-- LICENSE_REVOCATION stays completed.
CREATE TABLE ql.case_closure (
    case_no       text PRIMARY KEY,
    confirmed_by  text NOT NULL,
    confirmed_at  timestamptz NOT NULL
);

-- The bureau whose plans these are: its region (a GB/T 2260 prefix, e.g.
-- 350206 for a district bureau) decides which manufacturers are outside it
-- (Art. 44 ¶2).  Set by ql-triage from QL_BUREAU_REGION (ql.set_bureau);
-- NULL: unknown, and no NOTIFY_PRODUCER_BUREAU is planned.
CREATE TABLE ql.bureau (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    region_prefix  text CHECK (region_prefix ~ '^[0-9]{2,6}$'),
    set_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ql.bureau (region_prefix) VALUES (NULL);

ALTER TABLE ql.case_act ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.case_closure ENABLE ROW LEVEL SECURITY;
ALTER TABLE ql.bureau ENABLE ROW LEVEL SECURITY;

ALTER TABLE ql.officer_log DROP CONSTRAINT officer_log_what_check;
ALTER TABLE ql.officer_log ADD CONSTRAINT officer_log_what_check
    CHECK (what IN ('ASSIGN', 'COMPLETE', 'ACCEPT', 'ACT', 'REVOKE_ACT', 'REOPEN',
                    'CONFIRM_CLOSE'));
ALTER TABLE ql.officer_log ADD COLUMN act_id bigint;

-- Whether a plan action's date counts from a recorded act (false) or is
-- estimated until one is recorded (true).
ALTER TABLE ql.plan_action ADD COLUMN provisional boolean NOT NULL DEFAULT false;
ALTER TABLE ql_work.plan_row ADD COLUMN provisional boolean NOT NULL DEFAULT false;

-- ---------------------------------------------------------------------------
-- The rules: new and corrected action kinds.  A seller's and a producer's
-- RECTIFY differ (Art. 46 binds both; what "改正" means differs):
-- seller_measure / producer_measure are added to the measure by role.

ALTER TABLE ql.action_kind ADD COLUMN seller_measure text;
ALTER TABLE ql.action_kind ADD COLUMN producer_measure text;

UPDATE ql.action_kind SET
    measure = '不合格产品的被抽样生产者、销售者立即停止生产、销售同一产品。',
    seller_measure = '销售者：立即下架、封存同一产品，清点库存和在途批次，暂停进货。',
    producer_measure = '生产者：立即停止生产同一产品，封存成品和半成品，清点已出厂批次，必要时召回。'
 WHERE action = 'STOP_SALE';
UPDATE ql.action_kind SET
    measure = '复检期：企业可自收到检验结果之日起十五日内申请复检；期内不作为逾期事项，期满未申请或复检仍不合格的，依法处理。'
 WHERE action = 'OBJECTION_WINDOW';
UPDATE ql.action_kind SET
    measure = '严重不合格（A类或安全项目不合格）：移送执法机构核查立案，依法查处；拒绝接受监督抽查的，依法查处。'
 WHERE action = 'ENFORCEMENT_REFERRAL';
UPDATE ql.action_kind SET
    measure = '上门走访，会同技术专家分析不合格原因，与企业共同制定“一企一策”整改方案（清零行动工作方法，期限为本局工作安排）。',
    basis = '本地产品质量“清零”行动工作方案（一企一策、把脉问诊）；非法定期限。监督抽查发现区域性、行业性质量问题的，另依《产品质量监督抽查管理暂行办法》第五十条召开质量分析会'
 WHERE action = 'DIAGNOSIS';
UPDATE ql.action_kind SET
    measure = '365日内再次抽查不合格：列为重点监管对象，提高抽查频次，开展专项检查（清零行动工作方法，期限为本局工作安排）。',
    basis = '本地产品质量“清零”行动工作方案（重点监管）；非法定期限'
 WHERE action = 'KEY_SUPERVISION';
UPDATE ql.action_kind SET
    measure = '责令自责令之日起六十日内改正：企业按整改方案落实措施，提交整改报告。',
    seller_measure = '销售者：下架、封存不合格产品并查明来源，落实进货查验和索证索票，追溯供货商和同批次产品流向，向供货商和生产者反馈不合格情况。',
    producer_measure = '生产者：查明不合格原因，整改原材料进货检验、生产工艺和出厂检验，处置库存和已出厂同批次产品。',
    basis = '《产品质量监督抽查管理暂行办法》（市场监管总局令2019年第18号）第四十六条；《中华人民共和国产品质量法》第十七条'
 WHERE action = 'RECTIFY';
UPDATE ql.action_kind SET
    measure = '自责令之日起七十五日内按监督抽查实施细则组织复查；复查合格前，除提供复查样品外不得恢复生产、销售同一产品。',
    basis = '《产品质量监督抽查管理暂行办法》第四十七条、第四十九条'
 WHERE action = 'RECHECK';

INSERT INTO ql.action_kind (action, title, sort_order, offset_days, not_before_days, measure, basis) VALUES
('NOTIFY_PRODUCER_BUREAU', '通报生产者所在地市场监管部门', 25, 15, NULL,
 '不合格产品为本行政区域以外的生产者生产：及时通报生产者所在地同级市场监督管理部门（期限为本局工作安排）。',
 '《产品质量监督抽查管理暂行办法》第四十四条第二款'),
('REORGANIZE_RECHECK', '整顿期满复查', 105, 90, NULL,
 '责令停业整顿的整顿期满后组织复查；经复查仍不合格的，吊销营业执照。未记录责令停业整顿决定时，按复查不合格之日起九十日估计（本局默认值，以决定书载明的整顿期限为准）。',
 '《产品质量监督抽查管理暂行办法》第四十八条；《中华人民共和国产品质量法》第十七条');

-- Cause rules for the items they missed or misplaced (every item of
-- ql-simlab's catalogue is checked by tests/integration/test_cause_rules.py):
-- voltage tests and the protection against live parts are electrical
-- safety (before MECHANICAL_SAFETY's 防护); combustion noise and insulation
-- tensile strength are performance (before FIRE_SAFETY's 燃烧 and
-- ELECTRICAL_SAFETY's 绝缘); carbon monoxide in flue gas and the migration
-- and sensory tests of food-contact materials are hazardous substances; gas tightness
-- and flame-failure devices are fire safety; speed limits, tamper-proofing
-- and hardware are mechanical and structural safety; adhesion and opacity
-- are performance.
INSERT INTO ql.cause_rule (priority, pattern, category, note) VALUES
(15, '噪声|抗张强度|断裂伸长率', 'PERFORMANCE',
 'performance items whose names contain 燃烧 or 绝缘: before FIRE_SAFETY and ELECTRICAL_SAFETY'),
(18, '一氧化碳|烟气中CO|CO含量|脱色|高锰酸钾|迁移量|蒸发残渣|感官', 'HAZARDOUS_SUBSTANCE',
 'CO in flue gas; the migration and sensory tests of food-contact materials (GB 4806: an odour or foreign matter points to residues)'),
(25, '带电部件|电压试验|耐压|击穿', 'ELECTRICAL_SAFETY',
 'voltage tests; protection against access to live parts (before 防护 of MECHANICAL_SAFETY)'),
(38, '熄火保护|气密|漏气|燃气泄漏', 'FIRE_SAFETY', 'gas appliances: tightness, flame-failure devices'),
(48, '车速|防篡改|限速|五金件|连接件|紧固件', 'MECHANICAL_SAFETY',
 'e-bike speed and tamper-proofing; furniture hardware'),
(58, '附着力|对比率|遮盖力|行驶能力|续驶', 'PERFORMANCE', 'coating performance; e-bike pedalling');

-- The rules digest covers the new columns and the bureau's region: a change
-- of either re-derives every plan (ql.recategorize).
CREATE OR REPLACE FUNCTION ql.rules_digest() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN md5(coalesce((SELECT string_agg(format('%s|%s|%s|%s|%s', k.category, k.title, k.diagnosis,
                                              k.measures, k.sort_order), E'\n' ORDER BY k.category)
                       FROM ql.cause_category k), '')
           || E'\n--\n' ||
           coalesce((SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', a.action, a.title,
                                              a.sort_order, a.offset_days, a.not_before_days,
                                              a.measure, a.basis, a.seller_measure,
                                              a.producer_measure),
                                       E'\n' ORDER BY a.action)
                       FROM ql.action_kind a), '')
           || E'\n--\n' || coalesce((SELECT b.region_prefix FROM ql.bureau b), ''));

-- ---------------------------------------------------------------------------
-- Officer functions.  Like ql.assign_case and ql.complete_action (006):
-- SECURITY DEFINER with a fixed search_path, acting for session_user, the
-- login that connected, checked against ql.officer on every call; every
-- input is logged in ql.officer_log and the enterprise derived again at
-- once.  Their messages are in Chinese: officers read them.

-- The case of a case number as a caller covering its region sees it, locked.
CREATE FUNCTION ql.officer_case(case_no text, caller text) RETURNS ql.enforcement_case
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c ql.enforcement_case;
    region text;
BEGIN
    SELECT ec.* INTO c
      FROM ql.enforcement_case ec
     WHERE ec.case_no = officer_case.case_no
       FOR UPDATE;
    SELECT e.region_code INTO region
      FROM ql.enterprise e WHERE e.credit_code = c.credit_code;
    IF c.case_no IS NULL OR NOT ql.officer_covers(caller, region) THEN
        RAISE EXCEPTION '案件 % 不存在或不在 % 的辖区内', officer_case.case_no, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN c;
END $$;

-- Record a legal act on a case (see the top of this file).  Returns its
-- act_id.  Refused: a date in the future (China time) or before the case's
-- first result, a 责令整改 without its 文号, a 责令停业整顿 without the end
-- of the period, a 公告 before any failed recheck, a 责令停业整顿 before a
-- second failed recheck, a case no longer open.
CREATE FUNCTION ql.record_act(case_no text, act text, on_date date, doc_no text DEFAULT NULL,
                              note text DEFAULT NULL, until_date date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    c ql.enforcement_case := ql.officer_case(record_act.case_no, session_user);
    first_date date;
    failures integer;
    new_id bigint;
BEGIN
    IF c.status NOT IN ('OPEN', 'ESCALATED') THEN
        RAISE EXCEPTION '案件 % 已%，不能再记录执法行为', c.case_no,
                        CASE c.status WHEN 'CLEARED' THEN '清零' ELSE '结案' END
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF record_act.act IS NULL OR record_act.act NOT IN
       ('SERVED', 'RECTIFY_ORDER', 'OBJECTION_FILED', 'ANNOUNCED', 'SUSPENSION_ORDER') THEN
        RAISE EXCEPTION '未知的执法行为：%', record_act.act
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SERVED, RECTIFY_ORDER, OBJECTION_FILED, ANNOUNCED or SUSPENSION_ORDER';
    END IF;
    IF record_act.on_date IS NULL OR record_act.on_date > ql.cst_today() THEN
        RAISE EXCEPTION '日期 % 晚于今天（北京时间 %），不能记录', record_act.on_date, ql.cst_today()
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(n.order_date), max(n.failed_rechecks) INTO first_date, failures
      FROM ql.nonconformity n WHERE n.case_no = c.case_no;
    IF record_act.on_date < first_date THEN
        RAISE EXCEPTION '日期 % 早于本案首份不合格报告的日期 %', record_act.on_date, first_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF record_act.act = 'RECTIFY_ORDER' AND coalesce(btrim(record_act.doc_no), '') = '' THEN
        RAISE EXCEPTION '责令整改须填写文号'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF record_act.act = 'SUSPENSION_ORDER'
       AND (record_act.until_date IS NULL OR record_act.until_date <= record_act.on_date) THEN
        RAISE EXCEPTION '责令停业整顿须填写整顿期限（晚于决定日期）'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF record_act.act <> 'SUSPENSION_ORDER' AND record_act.until_date IS NOT NULL THEN
        RAISE EXCEPTION '只有责令停业整顿有整顿期限'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF record_act.act = 'ANNOUNCED' AND coalesce(failures, 0) < 1 THEN
        RAISE EXCEPTION '案件 % 尚无复查不合格，不能记录公告', c.case_no
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF record_act.act = 'SUSPENSION_ORDER' AND coalesce(failures, 0) < 2 THEN
        RAISE EXCEPTION '案件 % 尚无公告后复查不合格，不能记录责令停业整顿', c.case_no
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO ql.case_act (case_no, act, on_date, doc_no, until_date, note, recorded_by)
    VALUES (c.case_no, record_act.act, record_act.on_date, nullif(btrim(record_act.doc_no), ''),
            record_act.until_date, record_act.note, caller)
    RETURNING act_id INTO new_id;
    INSERT INTO ql.officer_log (login, what, case_no, act_id, detail)
    VALUES (caller, 'ACT', c.case_no, new_id,
            record_act.act || ' ' || record_act.on_date
            || coalesce(' ' || nullif(btrim(record_act.doc_no), ''), '')
            || coalesce(' until ' || record_act.until_date, '')
            || coalesce(': ' || record_act.note, ''));
    PERFORM ql.recompute(ARRAY[c.credit_code], true);
    RETURN new_id;
END $$;

-- Revoke a recorded act (kept, marked revoked, with the reason); the act of
-- its kind recorded before it counts again, or the estimate.
CREATE FUNCTION ql.revoke_act(act_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    a ql.case_act;
    c ql.enforcement_case;
BEGIN
    SELECT * INTO a FROM ql.case_act ca WHERE ca.act_id = revoke_act.act_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '执法行为记录 % 不存在或不在 % 的辖区内', revoke_act.act_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    c := ql.officer_case(a.case_no, caller);
    IF a.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION '执法行为记录 % 已于 % 撤销', a.act_id, a.revoked_at
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF coalesce(btrim(revoke_act.reason), '') = '' THEN
        RAISE EXCEPTION '撤销须说明理由'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE ql.case_act ca SET revoked_at = now(), revoked_by = caller, revoke_reason = revoke_act.reason
     WHERE ca.act_id = a.act_id;
    INSERT INTO ql.officer_log (login, what, case_no, act_id, detail)
    VALUES (caller, 'REVOKE_ACT', a.case_no, a.act_id, a.act || ': ' || revoke_act.reason);
    PERFORM ql.recompute(ARRAY[c.credit_code], true);
END $$;

-- Undo an officer's completion of an action: it is PENDING again (or
-- CANCELLED, if its original was settled meanwhile).  Reopening
-- LICENSE_REVOCATION withdraws a confirmed close as well.  Actions a result
-- carried out (a recheck did the RECHECK) are not reopened.
CREATE FUNCTION ql.reopen_action(action_id bigint, reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    a record;
    done record;
BEGIN
    SELECT p.action_id, p.case_no, p.credit_code, p.action, p.about_result_id, p.status,
           e.region_code INTO a
      FROM ql.plan_action p
      JOIN ql.enterprise e ON e.credit_code = p.credit_code
     WHERE p.action_id = reopen_action.action_id
       FOR UPDATE OF p;
    IF NOT FOUND OR NOT ql.officer_covers(caller, a.region_code) THEN
        RAISE EXCEPTION '事项 % 不存在或不在 % 的辖区内', reopen_action.action_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO done FROM ql.action_completion ac
     WHERE ac.about_result_id = a.about_result_id AND ac.action = a.action FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '事项 %（%）不是由执法人员办结的，不能重新打开', a.action_id, a.action
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF coalesce(btrim(reopen_action.reason), '') = '' THEN
        RAISE EXCEPTION '重新打开须说明理由'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM ql.action_completion ac
     WHERE ac.about_result_id = a.about_result_id AND ac.action = a.action;
    IF a.action = 'LICENSE_REVOCATION' THEN
        DELETE FROM ql.case_closure cc WHERE cc.case_no = a.case_no;
    END IF;
    INSERT INTO ql.officer_log (login, what, case_no, action_id, detail)
    VALUES (caller, 'REOPEN', a.case_no, a.action_id,
            a.action || ': ' || reopen_action.reason || '（原由 ' || done.completed_by || ' 于 '
            || to_char(done.completed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
            || ' 办结' || coalesce('：' || done.note, '') || '）');
    PERFORM ql.recompute(ARRAY[a.credit_code], true);
END $$;

-- Confirm the close of a case whose LICENSE_REVOCATION an officer completed,
-- as a supervisor of the region who is not that officer.  The case is then
-- CLOSED (its pending actions cancelled).
CREATE FUNCTION ql.confirm_close(case_no text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    c ql.enforcement_case := ql.officer_case(confirm_close.case_no, session_user);
    region text := (SELECT e.region_code FROM ql.enterprise e WHERE e.credit_code = c.credit_code);
    completed_by text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ql.officer o
                    WHERE o.login = caller AND o.supervisor
                      AND starts_with(region, o.region_prefix)) THEN
        RAISE EXCEPTION '只有本辖区的审核人员可以确认结案'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM ql.case_closure cc WHERE cc.case_no = c.case_no) THEN
        RAISE EXCEPTION '案件 % 已确认结案', c.case_no
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT ac.completed_by INTO completed_by
      FROM ql.plan_action p
      JOIN ql.action_completion ac ON ac.about_result_id = p.about_result_id AND ac.action = p.action
     WHERE p.case_no = c.case_no AND p.action = 'LICENSE_REVOCATION'
     ORDER BY ac.completed_at DESC LIMIT 1;
    IF completed_by IS NULL THEN
        RAISE EXCEPTION '案件 % 的“吊销营业执照”尚未办结，不能结案', c.case_no
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF completed_by = caller THEN
        RAISE EXCEPTION '结案须由另一名审核人员确认（“吊销营业执照”由 % 办结）', caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO ql.case_closure (case_no, confirmed_by, confirmed_at) VALUES (c.case_no, caller, now());
    INSERT INTO ql.officer_log (login, what, case_no, detail)
    VALUES (caller, 'CONFIRM_CLOSE', c.case_no, 'LICENSE_REVOCATION completed by ' || completed_by);
    PERFORM ql.recompute(ARRAY[c.credit_code], true);
END $$;

-- As in 011, with its messages in Chinese, and OBJECTION_WINDOW, a period,
-- is not completed: its state follows the acts SERVED and OBJECTION_FILED.
CREATE OR REPLACE FUNCTION ql.complete_action(action_id bigint, note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    a record;
BEGIN
    SELECT p.action_id, p.case_no, p.credit_code, p.action, p.about_result_id, p.status,
           e.region_code INTO a
      FROM ql.plan_action p
      JOIN ql.enterprise e ON e.credit_code = p.credit_code
     WHERE p.action_id = complete_action.action_id
       FOR UPDATE OF p;
    IF NOT FOUND OR NOT ql.officer_covers(caller, a.region_code) THEN
        RAISE EXCEPTION '事项 % 不存在或不在 % 的辖区内', complete_action.action_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF a.status <> 'PENDING' THEN
        RAISE EXCEPTION '事项 %（%）已%，只有待办事项可以办结', a.action_id, a.action,
                        CASE a.status WHEN 'DONE' THEN '完成' ELSE '取消' END
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF a.action = 'OBJECTION_WINDOW' THEN
        RAISE EXCEPTION '异议复检期是期间而非待办事项：请记录“送达检验结果”或“申请复检”'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO ql.action_completion (about_result_id, action, note, completed_by, completed_at)
    VALUES (a.about_result_id, a.action, complete_action.note, caller, now());
    INSERT INTO ql.officer_log (login, what, case_no, action_id, detail)
    VALUES (caller, 'COMPLETE', a.case_no, a.action_id, a.action || coalesce(': ' || complete_action.note, ''));
    PERFORM ql.recompute(ARRAY[a.credit_code], true);
END $$;

-- As in 006, with its messages in Chinese.
CREATE OR REPLACE FUNCTION ql.assign_case(case_no text, login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    c ql.enforcement_case := ql.officer_case(assign_case.case_no, session_user);
    region text := (SELECT e.region_code FROM ql.enterprise e WHERE e.credit_code = c.credit_code);
BEGIN
    IF c.status NOT IN ('OPEN', 'ESCALATED') THEN
        RAISE EXCEPTION '案件 % 已%，只有未结案件可以分派', c.case_no,
                        CASE c.status WHEN 'CLEARED' THEN '清零' ELSE '结案' END
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF assign_case.login IS NULL OR NOT ql.officer_covers(assign_case.login, region) THEN
        RAISE EXCEPTION '执法人员 % 不负责辖区 %', coalesce(assign_case.login, '（空）'), region
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO ql.case_assignment AS a (case_no, officer, assigned_by, assigned_at)
    VALUES (c.case_no, assign_case.login, caller, now())
    ON CONFLICT ON CONSTRAINT case_assignment_pkey DO UPDATE
       SET officer = excluded.officer, assigned_by = excluded.assigned_by,
           assigned_at = excluded.assigned_at;
    UPDATE ql.enforcement_case ec SET officer = assign_case.login, updated_at = now()
     WHERE ec.case_no = c.case_no;
    INSERT INTO ql.officer_log (login, what, case_no, detail)
    VALUES (caller, 'ASSIGN', c.case_no, assign_case.login);
END $$;

-- As in 013, with its messages in Chinese.
CREATE OR REPLACE FUNCTION ql.accept_followup(result_id text, note text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    caller text := session_user;
    l record;
BEGIN
    SELECT fl.result_id, fl.credit_code, fl.reason, e.region_code INTO l
      FROM ql.followup_link fl
      JOIN ql.enterprise e ON e.credit_code = fl.credit_code
     WHERE fl.result_id = accept_followup.result_id
       FOR UPDATE OF fl;
    IF NOT FOUND OR NOT ql.officer_covers(caller, l.region_code) THEN
        RAISE EXCEPTION '检验结果 % 不存在或不在 % 的辖区内', accept_followup.result_id, caller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF l.reason IS DISTINCT FROM 'OTHER_LAB' THEN
        RAISE EXCEPTION '检验结果 % 无需确认（%）', l.result_id,
                        coalesce(ql.title('reason', l.reason), '已生效')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO ql.followup_acceptance (result_id, note, accepted_by, accepted_at)
    VALUES (l.result_id, accept_followup.note, caller, now());
    PERFORM ql.recompute(ARRAY[l.credit_code], true);
    INSERT INTO ql.officer_log (login, what, case_no, result_id, detail)
    SELECT caller, 'ACCEPT', n.case_no, l.result_id, accept_followup.note
      FROM ql.followup_link fl
      LEFT JOIN ql.nonconformity n ON n.result_id = fl.original_result_id
     WHERE fl.result_id = l.result_id;
END $$;

-- ql-triage sets the bureau's region from QL_BUREAU_REGION at start; a
-- change re-derives every plan (through the rules digest).  Returns whether
-- it changed.
CREATE FUNCTION ql.set_bureau(region_prefix text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    IF set_bureau.region_prefix IS NOT NULL AND set_bureau.region_prefix !~ '^[0-9]{2,6}$' THEN
        RAISE EXCEPTION 'bureau region %: a GB/T 2260 prefix of 2 to 6 digits', set_bureau.region_prefix
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT b.region_prefix FROM ql.bureau b FOR UPDATE) IS NOT DISTINCT FROM set_bureau.region_prefix THEN
        RETURN false;
    END IF;
    UPDATE ql.bureau SET region_prefix = set_bureau.region_prefix, set_at = now();
    PERFORM ql.recategorize();
    RETURN true;
END $$;

-- ql.derive_cases as in 012, and: a case is CLOSED only once a supervisor
-- confirmed the close its LICENSE_REVOCATION requested; an original that
-- moves to another case has its whole plan dated again (the acts of its new
-- case); the acts of a case merged into another move with its originals.
CREATE OR REPLACE FUNCTION ql.derive_cases() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql_work.case_run (credit_code, run_no, opening_result_id, opened_at, case_no)
    SELECT g.credit_code, g.run_no, g.opening_result_id, g.opened_at,
           CASE WHEN g.run_no = 0 THEN g.seed_case_no ELSE e.case_no END
      FROM (SELECT s.credit_code, s.run_no, min(s.seed_case_no) AS seed_case_no,
                   (array_agg(s.result_id ORDER BY s.pos))[1] AS opening_result_id,
                   (array_agg(s.reported_at ORDER BY s.pos))[1] AS opened_at
              FROM ql_work.regroup s GROUP BY s.credit_code, s.run_no) g
      LEFT JOIN LATERAL (SELECT e.case_no FROM ql.enforcement_case e
                          WHERE e.opening_result_id = g.opening_result_id OFFSET 0) e ON true;

    IF EXISTS (SELECT 1 FROM ql_work.case_run WHERE case_no IS NULL) THEN
        UPDATE ql_work.case_run c SET case_no = x.case_no
          FROM (SELECT DISTINCT ON (s.credit_code, s.run_no) s.credit_code, s.run_no, e.case_no
                  FROM ql_work.case_run cc
                  JOIN ql_work.regroup s ON s.credit_code = cc.credit_code AND s.run_no = cc.run_no
                 CROSS JOIN LATERAL (SELECT e.case_no, e.opened_at FROM ql.enforcement_case e
                                      WHERE e.opening_result_id = s.result_id OFFSET 0) e
                 WHERE cc.case_no IS NULL
                   AND NOT EXISTS (SELECT 1 FROM ql_work.case_run t WHERE t.case_no = e.case_no)
                 ORDER BY s.credit_code, s.run_no, e.opened_at, e.case_no) x
         WHERE c.case_no IS NULL AND c.credit_code = x.credit_code AND c.run_no = x.run_no;
    END IF;

    -- New cases get the next numbers of their opening year, the counters
    -- locked in year order so that concurrent batches cannot deadlock.
    IF EXISTS (SELECT 1 FROM ql_work.case_run WHERE case_no IS NULL) THEN
        INSERT INTO ql.case_counter (year, last_no)
        SELECT DISTINCT extract(year FROM ql.cst_date(opened_at))::integer, 0
          FROM ql_work.case_run WHERE case_no IS NULL
        ON CONFLICT (year) DO NOTHING;
        PERFORM 1 FROM ql.case_counter k
         WHERE k.year IN (SELECT extract(year FROM ql.cst_date(opened_at))::integer
                            FROM ql_work.case_run WHERE case_no IS NULL)
         ORDER BY k.year FOR UPDATE;
        WITH need AS (
            SELECT credit_code, run_no, opened_at, opening_result_id,
                   extract(year FROM ql.cst_date(opened_at))::integer AS year
              FROM ql_work.case_run WHERE case_no IS NULL
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
        UPDATE ql_work.case_run c
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
          FROM ql_work.regroup s
          JOIN ql_work.case_run c ON c.credit_code = s.credit_code AND c.run_no = s.run_no
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
    INSERT INTO ql_work.replan (result_id, may_shrink)
    SELECT m.result_id, m.shrinks OR m.case_no IS DISTINCT FROM m.old_case_no FROM moved m
     WHERE m.shrinks OR m.case_no IS DISTINCT FROM m.old_case_no
        OR NOT EXISTS (SELECT 1 FROM ql_work.replan x WHERE x.result_id = m.result_id)
    ON CONFLICT (result_id) DO UPDATE SET may_shrink = true
       WHERE excluded.may_shrink AND NOT replan.may_shrink;

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
      FROM ql_work.new_original q
      JOIN ql_work.regroup s ON s.result_id = q.result_id
      JOIN ql_work.case_run c ON c.credit_code = s.credit_code AND c.run_no = s.run_no
      JOIN ql_work.fold f ON f.result_id = q.result_id;

    -- The findings of the new originals, with their case and status.
    INSERT INTO ql.finding (result_id, item_no, credit_code, region_code, case_no, item_name,
                            clause, requirement, measured, unit, importance, safety, severity,
                            category, status, reported_at, confirmed_by, resolved_by, resolved_at)
    SELECT q.result_id, i.item_no, q.credit_code, q.region_code, n.case_no, i.item_name,
           i.clause, i.requirement, i.measured, i.unit, i.importance, i.safety, i.severity,
           i.category, n.status, q.reported_at, n.confirmed_by,
           CASE WHEN n.status <> 'OPEN' THEN n.settled_by END,
           CASE WHEN n.status <> 'OPEN' THEN n.settled_at END
      FROM ql_work.new_original q
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
        SELECT case_no FROM ql_work.case_run WHERE case_no IS NOT NULL
        UNION SELECT old_case_no FROM ql_work.regroup WHERE old_case_no IS NOT NULL
    ), revoked AS (
        -- Cases whose LICENSE_REVOCATION an officer completed and whose
        -- close a supervisor confirmed.
        SELECT DISTINCT n.case_no
          FROM ql.action_completion ac
          JOIN ql.followup_link l ON l.result_id = ac.about_result_id AND l.failure_no = 3
          JOIN ql.nonconformity n ON n.result_id = l.original_result_id
          JOIN ql.case_closure cc ON cc.case_no = n.case_no
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
    INSERT INTO ql_work.case_state (case_no, credit_code, opening_result_id, opened_at, status,
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
    USING ql_work.case_state d ON e.case_no = d.case_no
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
    INSERT INTO ql_work.replan (result_id, may_shrink)
    SELECT n.result_id, false
      FROM ql_work.case_state d
     CROSS JOIN LATERAL (SELECT n.result_id FROM ql.nonconformity n
                          WHERE n.case_no = d.case_no OFFSET 0) n
     WHERE (d.old_status = 'CLOSED') <> (d.status = 'CLOSED')
    ON CONFLICT (result_id) DO NOTHING;

    -- The acts recorded on a case that is merged into another go with its
    -- originals.
    UPDATE ql.case_act a SET case_no = m.new_case_no
      FROM (SELECT DISTINCT ON (s.old_case_no) s.old_case_no, c.case_no AS new_case_no
              FROM ql_work.regroup s
              JOIN ql_work.case_run c ON c.credit_code = s.credit_code AND c.run_no = s.run_no
             WHERE s.old_case_no IS NOT NULL AND s.old_case_no <> c.case_no
               AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.case_no = s.old_case_no)
             ORDER BY s.old_case_no, s.pos) m
     WHERE a.case_no = m.old_case_no;

    -- Stored cases left without an original (merged into another).
    DELETE FROM ql.enforcement_case e
     WHERE e.case_no IN (SELECT s.old_case_no FROM ql_work.regroup s
                          WHERE s.old_case_no IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM ql.nonconformity n WHERE n.case_no = e.case_no);
END $$;

-- ---------------------------------------------------------------------------
-- The derivation.  ql.derive_plans as in 012, and: dates count from the
-- acts (provisional until one is recorded); no STOP_SALE for a refusal;
-- NOTIFY_PRODUCER_BUREAU; REORGANIZE_RECHECK; the role's measure; the
-- dated part of stored actions follows the acts at every call; the
-- announcement and the suspension, recorded as acts, carry out
-- PUBLIC_ANNOUNCEMENT and SUSPEND_REORGANIZE (DONE by the officer who
-- recorded them).
CREATE OR REPLACE FUNCTION ql.derive_plans(full_recompute boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
    WITH orig AS (
        SELECT n.result_id, n.verdict, n.order_date, n.has_serious, n.repeat_offender,
               n.case_no, n.credit_code, x.is_new, x.all_actions, w.role, w.notify,
               act.served_on, act.ordered_on, act.announced_on, act.suspended_on, act.suspended_until,
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
                               EXISTS (SELECT 1 FROM ql_work.new_original q
                                        WHERE q.result_id = x.result_id) AS is_new
                          FROM ql_work.replan x) x) x
         CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                              WHERE n.result_id = x.result_id OFFSET 0) n
          -- Who was sampled, and whether the product was made outside the
          -- bureau's region (read for the originals whose actions are all
          -- written).
          LEFT JOIN LATERAL (
                SELECT r.record -> 'enterprise' ->> 'role' AS role,
                       n.verdict = 'NONCONFORMING'
                       AND r.record -> 'enterprise' ->> 'role' = 'SELLER'
                       AND coalesce(r.record -> 'manufacturer' ->> 'region_code', '') <> ''
                       AND NOT starts_with(r.record -> 'manufacturer' ->> 'region_code',
                                           b.region_prefix) AS notify
                  FROM ql.inspection_result r, ql.bureau b
                 WHERE x.all_actions AND r.result_id = n.result_id
                   AND b.region_prefix IS NOT NULL OFFSET 0) w0 ON true
         CROSS JOIN LATERAL (SELECT coalesce(w0.role, '') AS role, coalesce(w0.notify, false) AS notify) w
          -- The latest unrevoked act of each kind on the original's case.
         CROSS JOIN LATERAL (
               SELECT (SELECT a.on_date FROM ql.case_act a
                        WHERE a.case_no = n.case_no AND a.act = 'SERVED' AND a.revoked_at IS NULL
                        ORDER BY a.on_date DESC, a.act_id DESC LIMIT 1) AS served_on,
                      (SELECT a.on_date FROM ql.case_act a
                        WHERE a.case_no = n.case_no AND a.act = 'RECTIFY_ORDER' AND a.revoked_at IS NULL
                        ORDER BY a.on_date DESC, a.act_id DESC LIMIT 1) AS ordered_on,
                      (SELECT a.on_date FROM ql.case_act a
                        WHERE a.case_no = n.case_no AND a.act = 'ANNOUNCED' AND a.revoked_at IS NULL
                        ORDER BY a.on_date DESC, a.act_id DESC LIMIT 1) AS announced_on,
                      s.on_date AS suspended_on, s.until_date AS suspended_until
                 FROM (SELECT NULL) one
                 LEFT JOIN LATERAL (SELECT a.on_date, a.until_date FROM ql.case_act a
                                     WHERE a.case_no = n.case_no AND a.act = 'SUSPENSION_ORDER'
                                       AND a.revoked_at IS NULL
                                     ORDER BY a.on_date DESC, a.act_id DESC LIMIT 1) s ON true) act
    ), base AS (
        -- Per original, from its report date, or from the act the law
        -- counts from when one is recorded on or after that date.
        SELECT o.result_id AS about, o.result_id AS original, o.case_no, o.credit_code,
               o.is_new, a.action, o.role,
               CASE WHEN t.act_on >= o.order_date THEN t.act_on ELSE o.order_date END AS anchor,
               NULL::date AS due,
               t.counts_from_act AND NOT coalesce(t.act_on >= o.order_date, false) AS provisional,
               CASE WHEN a.action IN ('STOP_SALE', 'DIAGNOSIS', 'RECTIFY') THEN o.categories
                    ELSE '' END AS detail
          FROM orig o
         CROSS JOIN (VALUES ('STOP_SALE'), ('OBJECTION_WINDOW'), ('NOTIFY_PRODUCER_BUREAU'),
                            ('DIAGNOSIS'), ('RECTIFY'), ('RECHECK'), ('ENFORCEMENT_REFERRAL'),
                            ('KEY_SUPERVISION')) AS a(action)
         CROSS JOIN LATERAL (SELECT CASE a.action WHEN 'OBJECTION_WINDOW' THEN o.served_on
                                                  WHEN 'RECTIFY' THEN o.ordered_on
                                                  WHEN 'RECHECK' THEN o.ordered_on END AS act_on,
                                    a.action IN ('OBJECTION_WINDOW', 'RECTIFY', 'RECHECK')
                                        AS counts_from_act) t
         WHERE (o.all_actions OR a.action = 'KEY_SUPERVISION')
           AND (a.action NOT IN ('STOP_SALE', 'OBJECTION_WINDOW') OR o.verdict <> 'REFUSED')
           AND (a.action <> 'NOTIFY_PRODUCER_BUREAU' OR o.notify)
           AND (a.action <> 'ENFORCEMENT_REFERRAL' OR o.has_serious)
           AND (a.action <> 'KEY_SUPERVISION' OR o.repeat_offender)
        UNION ALL
        -- Per failed recheck, from its date, or from the act about it.
        SELECT l.result_id, o.result_id, o.case_no, o.credit_code, o.is_new, a.action, '',
               CASE WHEN t.act_on >= l.failed_on THEN t.act_on ELSE l.failed_on END,
               CASE WHEN a.action = 'REORGANIZE_RECHECK' AND o.suspended_on >= l.failed_on
                    THEN o.suspended_until END,
               t.counts_from_act AND NOT coalesce(t.act_on >= l.failed_on, false),
               ''
          FROM orig o
         CROSS JOIN LATERAL (SELECT l.result_id, ql.cst_date(l.reported_at) AS failed_on, l.failure_no
                               FROM ql.followup_link l
                              WHERE l.original_result_id = o.result_id
                                AND l.failure_no IS NOT NULL OFFSET 0) l
          JOIN (VALUES (1, 'PUBLIC_ANNOUNCEMENT'), (1, 'SECOND_RECHECK'),
                       (2, 'SUSPEND_REORGANIZE'), (2, 'REORGANIZE_RECHECK'),
                       (3, 'LICENSE_REVOCATION')) AS a(n, action)
            ON a.n = l.failure_no
         CROSS JOIN LATERAL (SELECT CASE a.action WHEN 'SECOND_RECHECK' THEN o.announced_on
                                                  WHEN 'REORGANIZE_RECHECK' THEN o.suspended_on
                                    END AS act_on,
                                    a.action IN ('SECOND_RECHECK', 'REORGANIZE_RECHECK')
                                        AS counts_from_act) t
    )
    INSERT INTO ql_work.plan_row (about_result_id, action, original_result_id, due_date,
                                 not_before, provisional, measure, basis, case_no, credit_code,
                                 of_new)
    SELECT b.about, b.action, b.original, coalesce(b.due, b.anchor + k.offset_days),
           b.anchor + k.not_before_days, b.provisional,
           k.measure || CASE b.role WHEN 'SELLER' THEN coalesce(k.seller_measure, '')
                                    WHEN 'PRODUCER' THEN coalesce(k.producer_measure, '')
                                    ELSE '' END || b.detail,
           k.basis, b.case_no, b.credit_code, b.is_new
      FROM base b JOIN ql.action_kind k ON k.action = b.action;

    INSERT INTO ql.plan_action (case_no, credit_code, action, about_result_id, original_result_id,
                                due_date, not_before, provisional, status, measure, basis)
    SELECT a.case_no, a.credit_code, a.action, a.about_result_id, a.original_result_id,
           a.due_date, a.not_before, a.provisional, 'PENDING', a.measure, a.basis
      FROM (SELECT * FROM ql_work.plan_row a WHERE a.of_new AND NOT full_recompute
            UNION ALL
            SELECT * FROM ql_work.plan_row a
             WHERE (full_recompute OR NOT a.of_new)
               AND NOT EXISTS (SELECT 1 FROM ql.plan_action p
                                WHERE p.about_result_id = a.about_result_id
                                  AND p.action = a.action)) a
     ORDER BY a.case_no, a.due_date, a.action;

    IF EXISTS (SELECT 1 FROM ql_work.replan WHERE may_shrink) THEN
        DELETE FROM ql.plan_action p
         WHERE p.action_id IN (
               SELECT pa.action_id
                 FROM ql_work.replan x
                CROSS JOIN LATERAL (SELECT pa.action_id, pa.about_result_id, pa.action
                                      FROM ql.plan_action pa
                                     WHERE pa.original_result_id = x.result_id OFFSET 0) pa
                WHERE x.may_shrink
                  AND NOT EXISTS (SELECT 1 FROM ql_work.plan_row a
                                   WHERE a.about_result_id = pa.about_result_id
                                     AND a.action = pa.action));
    END IF;
    -- The dated part of stored actions: an act recorded or revoked, a case
    -- merged, the rules edited (a full re-derivation).
    UPDATE ql.plan_action p
       SET original_result_id = a.original_result_id, due_date = a.due_date,
           not_before = a.not_before, provisional = a.provisional, measure = a.measure,
           basis = a.basis
      FROM ql_work.plan_row a
     WHERE NOT a.of_new AND p.about_result_id = a.about_result_id AND p.action = a.action
       AND (p.original_result_id, p.due_date, p.not_before, p.provisional, p.measure, p.basis)
           IS DISTINCT FROM
           (a.original_result_id, a.due_date, a.not_before, a.provisional, a.measure, a.basis);

    -- The state of the actions, except those just written for a new
    -- original that nothing has happened to yet (PENDING, as written; an
    -- officer's completion recorded beforehand still counts).
    SET LOCAL enable_hashjoin = off;
    SET LOCAL enable_mergejoin = off;
    WITH o AS (
        SELECT n.result_id, n.case_no, n.credit_code, n.status, c.status AS case_status,
               n.first_recheck_id, n.first_recheck_at, n.first_retest_id, n.first_retest_at
          FROM ql_work.replan x
         CROSS JOIN LATERAL (SELECT n.* FROM ql.nonconformity n
                              WHERE n.result_id = x.result_id OFFSET 0) n
         CROSS JOIN LATERAL (SELECT c.status FROM ql.enforcement_case c
                              WHERE c.case_no = n.case_no OFFSET 0) c
         WHERE full_recompute
            OR NOT (n.status = 'OPEN' AND n.failed_rechecks = 0 AND n.first_recheck_id IS NULL
                    AND n.first_retest_id IS NULL AND c.status IN ('OPEN', 'ESCALATED')
                    AND EXISTS (SELECT 1 FROM ql_work.new_original q WHERE q.result_id = n.result_id)
                    AND NOT EXISTS (SELECT 1 FROM ql.action_completion ac0
                                     WHERE ac0.about_result_id = n.result_id))
    ), d AS (
        SELECT pa.action_id, o.case_no, o.credit_code,
               CASE WHEN ac.completed_by IS NOT NULL OR f.done_by_result IS NOT NULL
                         OR ax.recorded_by IS NOT NULL THEN 'DONE'
                    WHEN o.status <> 'OPEN' OR o.case_status IN ('CLEARED', 'CLOSED') THEN 'CANCELLED'
                    ELSE 'PENDING' END AS status,
               f.done_by_result, coalesce(ac.completed_at, f.done_at, ax.recorded_at) AS done_at,
               coalesce(ac.completed_by, ax.recorded_by) AS done_by, coalesce(ac.note, ax.note) AS note
          FROM o
         CROSS JOIN LATERAL (SELECT pa.action_id, pa.action, pa.about_result_id
                               FROM ql.plan_action pa
                              WHERE pa.original_result_id = o.result_id OFFSET 0) pa
          LEFT JOIN ql.action_completion ac
                 ON ac.about_result_id = pa.about_result_id AND ac.action = pa.action
          LEFT JOIN LATERAL (SELECT l.next_recheck_id, l.next_recheck_at, l.reported_at
                               FROM ql.followup_link l
                              WHERE pa.action IN ('SECOND_RECHECK', 'REORGANIZE_RECHECK',
                                                  'PUBLIC_ANNOUNCEMENT', 'SUSPEND_REORGANIZE')
                                AND l.result_id = pa.about_result_id) sr ON true
          -- The act that carried out an escalation step: the announcement,
          -- the suspension, recorded on or after the failed recheck.
          LEFT JOIN LATERAL (SELECT a.recorded_by, a.recorded_at,
                                    ql.title('act', a.act) || ' ' || a.on_date
                                    || coalesce(' ' || a.doc_no, '') AS note
                               FROM ql.case_act a
                              WHERE pa.action IN ('PUBLIC_ANNOUNCEMENT', 'SUSPEND_REORGANIZE')
                                AND a.case_no = o.case_no AND a.revoked_at IS NULL
                                AND a.act = CASE pa.action WHEN 'PUBLIC_ANNOUNCEMENT' THEN 'ANNOUNCED'
                                                           ELSE 'SUSPENSION_ORDER' END
                                AND a.on_date >= ql.cst_date(sr.reported_at)
                              ORDER BY a.on_date DESC, a.act_id DESC LIMIT 1) ax ON true
         CROSS JOIN LATERAL (SELECT CASE pa.action WHEN 'RECHECK' THEN o.first_recheck_id
                                                   WHEN 'OBJECTION_WINDOW' THEN o.first_retest_id
                                                   WHEN 'SECOND_RECHECK' THEN sr.next_recheck_id
                                                   WHEN 'REORGANIZE_RECHECK' THEN sr.next_recheck_id
                                    END AS done_by_result,
                                    CASE pa.action WHEN 'RECHECK' THEN o.first_recheck_at
                                                   WHEN 'OBJECTION_WINDOW' THEN o.first_retest_at
                                                   WHEN 'SECOND_RECHECK' THEN sr.next_recheck_at
                                                   WHEN 'REORGANIZE_RECHECK' THEN sr.next_recheck_at
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
END $$;

-- ---------------------------------------------------------------------------
-- What officers read.  The views of 005 gain region names, Chinese titles
-- beside codes, the provisional flag and the objection state (columns
-- appended); OBJECTION_WINDOW is no longer a next action nor overdue; a
-- result voided by a retest leaves the 清零 counts.  New views: case_findings,
-- case_history, due_soon, officer_workload, quality_stats, case_notice.
-- Every view shows only the enterprises of the current login's regions
-- (ql.officer_scope, 005).

-- The Chinese title of a code an officer reads (the codes are fixed; the
-- titles of actions and cause categories live in their tables).  A CASE
-- expression, so that it is inlined into the views.
CREATE FUNCTION ql.title(domain text, code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE domain || ':' || code
    WHEN 'case_status:OPEN' THEN '整改中'
    WHEN 'case_status:ESCALATED' THEN '已升级（复查不合格）'
    WHEN 'case_status:CLEARED' THEN '已清零'
    WHEN 'case_status:CLOSED' THEN '已结案'
    WHEN 'priority:P1' THEN '一级（紧急）'
    WHEN 'priority:P2' THEN '二级'
    WHEN 'priority:P3' THEN '三级'
    WHEN 'action_status:PENDING' THEN '待办'
    WHEN 'action_status:DONE' THEN '已完成'
    WHEN 'action_status:CANCELLED' THEN '已取消'
    WHEN 'finding_status:OPEN' THEN '未清零'
    WHEN 'finding_status:CLEARED' THEN '已清零（复查合格）'
    WHEN 'finding_status:VOIDED' THEN '已撤销（复检合格）'
    WHEN 'severity:SERIOUS' THEN '严重不合格'
    WHEN 'severity:GENERAL' THEN '一般不合格'
    WHEN 'act:SERVED' THEN '送达检验结果'
    WHEN 'act:RECTIFY_ORDER' THEN '责令整改'
    WHEN 'act:OBJECTION_FILED' THEN '申请复检'
    WHEN 'act:ANNOUNCED' THEN '公告'
    WHEN 'act:SUSPENSION_ORDER' THEN '责令停业整顿'
    WHEN 'objection:NOT_SERVED' THEN '检验结果未送达'
    WHEN 'objection:OPEN' THEN '异议复检期内'
    WHEN 'objection:CLOSED' THEN '异议复检期已过'
    WHEN 'objection:FILED' THEN '已申请复检'
    WHEN 'objection:FILED_LATE' THEN '逾期申请复检'
    WHEN 'kind:SUPERVISION' THEN '监督抽查'
    WHEN 'kind:RECHECK' THEN '复查'
    WHEN 'kind:RETEST' THEN '复检'
    WHEN 'verdict:CONFORMING' THEN '合格'
    WHEN 'verdict:NONCONFORMING' THEN '不合格'
    WHEN 'verdict:REFUSED' THEN '拒检'
    WHEN 'level:NATIONAL' THEN '国家监督抽查'
    WHEN 'level:PROVINCIAL' THEN '省级监督抽查'
    WHEN 'level:MUNICIPAL' THEN '市级监督抽查'
    WHEN 'level:DISTRICT' THEN '区级监督抽查'
    WHEN 'stage:PRODUCTION' THEN '生产领域'
    WHEN 'stage:CIRCULATION' THEN '流通领域'
    WHEN 'stage:ECOMMERCE' THEN '电子商务'
    WHEN 'role:PRODUCER' THEN '生产者'
    WHEN 'role:SELLER' THEN '销售者'
    WHEN 'effect:CLEARED' THEN '复查合格，清零'
    WHEN 'effect:VOIDED' THEN '复检合格，撤销原结论'
    WHEN 'effect:CONFIRMED' THEN '复检维持不合格'
    WHEN 'effect:FAILED' THEN '复查不合格'
    WHEN 'effect:IGNORED' THEN '不影响处理'
    WHEN 'effect:WAITING' THEN '待匹配原报告'
    WHEN 'reason:ORIGINAL_MISSING' THEN '原报告尚未收到'
    WHEN 'reason:CHAIN_BROKEN' THEN '引用的复查无原报告'
    WHEN 'reason:OTHER_ENTERPRISE' THEN '原报告属其他企业'
    WHEN 'reason:NO_REFERENCE' THEN '未填原报告编号'
    WHEN 'reason:ORIGINAL_CONFORMING' THEN '原报告合格'
    WHEN 'reason:OTHER_LAB' THEN '他检验机构的复查，待确认'
    WHEN 'reason:AFTER_SETTLED' THEN '已清零后收到'
    WHEN 'reason:LATER_RETEST' THEN '复检以首次为准'
    WHEN 'reason:NO_EFFECT' THEN '不影响处理'
    END;

-- The objection (复检) state of a case, today (the views compute it inline,
-- as OBJECTION_STATE below): FILED / FILED_LATE once an OBJECTION_FILED act
-- is recorded (late: more than 15 days after SERVED); otherwise NOT_SERVED
-- before a SERVED act, then OPEN for 15 days (PQL Art. 15), then CLOSED.
-- Latest unrevoked acts only.  close_requested: an officer completed the
-- case's LICENSE_REVOCATION and the close waits for a supervisor
-- (ql.confirm_close).  Inline, not functions: a function a view calls runs
-- with the officer's rights, who may not read ql.case_act.

CREATE OR REPLACE VIEW ql.case_board WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code, c.status,
       c.priority, c.open_findings, c.serious_findings,
       n.action AS next_action, n.due_date AS next_due,
       coalesce(n.due_date < ql.cst_today(), false) AS overdue,
       c.officer, c.opened_at,
       ql.region_name(e.region_code) AS region_name,
       ql.title('case_status', c.status) AS status_title,
       ql.title('priority', c.priority) AS priority_title,
       n.title AS next_action_title, n.provisional AS next_due_provisional,
       o.objection, ql.title('objection', o.objection) AS objection_title,
       (EXISTS (SELECT 1 FROM ql.plan_action p
                 WHERE p.case_no = c.case_no AND p.action = 'LICENSE_REVOCATION'
                   AND p.done_by IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM ql.case_closure cc WHERE cc.case_no = c.case_no))
           AS close_requested,
       c.repeat_offender
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  LEFT JOIN LATERAL (
        SELECT p.action, p.due_date, p.provisional, k.title
          FROM ql.plan_action p JOIN ql.action_kind k ON k.action = p.action
         WHERE p.case_no = c.case_no AND p.status = 'PENDING' AND p.action <> 'OBJECTION_WINDOW'
         ORDER BY p.due_date, k.sort_order, p.action_id
         LIMIT 1) n ON true
 CROSS JOIN LATERAL (
       SELECT CASE WHEN x.filed_on IS NOT NULL THEN
                        CASE WHEN x.filed_on > x.served_on + 15 THEN 'FILED_LATE' ELSE 'FILED' END
                   WHEN x.served_on IS NULL THEN 'NOT_SERVED'
                   WHEN ql.cst_today() <= x.served_on + 15 THEN 'OPEN' ELSE 'CLOSED' END AS objection
         FROM (SELECT max(a.on_date) FILTER (WHERE a.act = 'SERVED') AS served_on,
                      max(a.on_date) FILTER (WHERE a.act = 'OBJECTION_FILED') AS filed_on
                 FROM ql.case_act a
                WHERE a.case_no = c.case_no AND a.revoked_at IS NULL
                  AND a.act IN ('SERVED', 'OBJECTION_FILED')) x) o;

CREATE OR REPLACE VIEW ql.case_diagnosis WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code,
       d.category, coalesce(k.title, d.category) AS category_title, d.failed_items, d.findings,
       d.open_findings, d.serious_findings, k.diagnosis, k.measures,
       ql.region_name(e.region_code) AS region_name
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

CREATE OR REPLACE VIEW ql.case_plan WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code,
       c.status AS case_status, c.priority, d.diagnosis, d.measures,
       p.action_id, p.action, k.title AS action_title, p.about_result_id,
       p.due_date, p.not_before, p.status, p.measure, p.basis,
       p.done_at, p.done_by, p.done_by_result, p.note,
       (p.status = 'PENDING' AND p.action <> 'OBJECTION_WINDOW'
        AND p.due_date < ql.cst_today()) AS overdue,
       ql.region_name(e.region_code) AS region_name,
       ql.title('case_status', c.status) AS case_status_title,
       ql.title('priority', c.priority) AS priority_title,
       ql.title('action_status', p.status) AS status_title,
       p.provisional, p.original_result_id,
       p.action = 'OBJECTION_WINDOW' AS is_period,
       o.objection, ql.title('objection', o.objection) AS objection_title,
       k.sort_order AS action_sort
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
       ) d ON true
 CROSS JOIN LATERAL (
       SELECT CASE WHEN x.filed_on IS NOT NULL THEN
                        CASE WHEN x.filed_on > x.served_on + 15 THEN 'FILED_LATE' ELSE 'FILED' END
                   WHEN x.served_on IS NULL THEN 'NOT_SERVED'
                   WHEN ql.cst_today() <= x.served_on + 15 THEN 'OPEN' ELSE 'CLOSED' END AS objection
         FROM (SELECT max(a.on_date) FILTER (WHERE a.act = 'SERVED') AS served_on,
                      max(a.on_date) FILTER (WHERE a.act = 'OBJECTION_FILED') AS filed_on
                 FROM ql.case_act a
                WHERE a.case_no = c.case_no AND a.revoked_at IS NULL
                  AND a.act IN ('SERVED', 'OBJECTION_FILED')) x) o;

-- PENDING actions past their due date; a period (OBJECTION_WINDOW) is never
-- overdue.
CREATE OR REPLACE VIEW ql.overdue_actions WITH (security_barrier) AS
SELECT p.action_id, p.case_no, e.name AS enterprise_name, p.action, p.due_date,
       ql.cst_today() - p.due_date AS days_overdue,
       c.credit_code, e.region_code, c.priority, c.officer, k.title AS action_title,
       ql.region_name(e.region_code) AS region_name, p.provisional,
       ql.title('priority', c.priority) AS priority_title
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  JOIN ql.plan_action p
    ON p.case_no = c.case_no AND p.due_date < ql.cst_today()
  JOIN ql.action_kind k ON k.action = p.action
 WHERE p.status = 'PENDING' AND p.action <> 'OBJECTION_WINDOW';

-- PENDING actions due today or within the next 7 days (China time).
CREATE VIEW ql.due_soon WITH (security_barrier) AS
SELECT p.action_id, p.case_no, e.name AS enterprise_name, p.action, k.title AS action_title,
       p.due_date, p.due_date - ql.cst_today() AS days_left, p.provisional,
       c.credit_code, e.region_code, ql.region_name(e.region_code) AS region_name,
       c.priority, ql.title('priority', c.priority) AS priority_title, c.officer
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
  JOIN ql.plan_action p
    ON p.case_no = c.case_no AND p.due_date >= ql.cst_today() AND p.due_date <= ql.cst_today() + 7
  JOIN ql.action_kind k ON k.action = p.action
 WHERE p.status = 'PENDING' AND p.action <> 'OBJECTION_WINDOW';

-- 清零 progress per region and cause category.  A nonconforming result
-- counts once in each category it has findings in; it is cleared when its
-- findings are cleared (passing recheck).  A result a passing retest voided
-- was not nonconforming and is not counted.
CREATE OR REPLACE VIEW ql.zero_out_progress WITH (security_barrier) AS
SELECT a.region_code, a.category, coalesce(k.title, a.category) AS category_title,
       a.nonconforming, a.cleared, a.nonconforming - a.cleared AS open,
       round(a.cleared::numeric / a.nonconforming, 4) AS clear_rate,
       ql.region_name(a.region_code) AS region_name, a.voided
  FROM (SELECT f.region_code, f.category,
               count(DISTINCT f.result_id) FILTER (WHERE f.status <> 'VOIDED') AS nonconforming,
               count(DISTINCT f.result_id) FILTER (WHERE f.status = 'CLEARED') AS cleared,
               count(DISTINCT f.result_id) FILTER (WHERE f.status = 'VOIDED') AS voided
          FROM ql.officer_scope s
          JOIN ql.finding f ON f.region_code COLLATE "C" >= s.lo AND f.region_code COLLATE "C" < s.hi
         GROUP BY f.region_code, f.category) a
  LEFT JOIN ql.cause_category k ON k.category = a.category
 WHERE a.nonconforming > 0;

CREATE OR REPLACE VIEW ql.zero_out_summary WITH (security_barrier) AS
SELECT n.region_code, count(*) FILTER (WHERE n.status <> 'VOIDED') AS nonconforming,
       count(*) FILTER (WHERE n.status = 'CLEARED') AS cleared,
       count(*) FILTER (WHERE n.status = 'OPEN') AS open,
       round(count(*) FILTER (WHERE n.status = 'CLEARED')::numeric
             / count(*) FILTER (WHERE n.status <> 'VOIDED'), 4) AS clear_rate,
       ql.region_name(n.region_code) AS region_name,
       count(*) FILTER (WHERE n.status = 'VOIDED') AS voided
  FROM ql.officer_scope s
  JOIN ql.nonconformity n ON n.region_code COLLATE "C" >= s.lo AND n.region_code COLLATE "C" < s.hi
 GROUP BY n.region_code
HAVING count(*) FILTER (WHERE n.status <> 'VOIDED') > 0;

-- Per enterprise; nonconforming counts the results not voided by a retest.
-- Address and contact: of the enterprise's latest result that gives them
-- (record schema v2).
CREATE OR REPLACE VIEW ql.enterprise_dossier WITH (security_barrier) AS
SELECT e.credit_code, e.name AS enterprise_name, e.region_code,
       n.results, nc.nonconforming,
       l.result_id AS last_result_id, l.kind AS last_kind, l.verdict AS last_verdict,
       l.reported_at AS last_reported_at,
       oc.case_no AS open_case, oc.status AS open_case_status, oc.priority AS open_case_priority,
       coalesce(oc.open_findings, 0) AS open_findings,
       cs.cases, cs.cleared_cases,
       ql.region_name(e.region_code) AS region_name,
       ql.title('kind', l.kind) AS last_kind_title, ql.title('verdict', l.verdict) AS last_verdict_title,
       ql.title('case_status', oc.status) AS open_case_status_title,
       a.address, a.contact, nc.voided
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 CROSS JOIN LATERAL (SELECT count(*) AS results FROM ql.inspection_result r
                      WHERE r.credit_code = e.credit_code) n
 CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE n.status <> 'VOIDED') AS nonconforming,
                            count(*) FILTER (WHERE n.status = 'VOIDED') AS voided
                       FROM ql.nonconformity n
                      WHERE n.credit_code = e.credit_code) nc
  LEFT JOIN LATERAL (SELECT r.result_id, r.kind, r.verdict, r.reported_at
                       FROM ql.inspection_result r
                      WHERE r.credit_code = e.credit_code
                      ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) l ON true
  LEFT JOIN ql.enforcement_case oc
         ON oc.credit_code = e.credit_code AND oc.status IN ('OPEN', 'ESCALATED')
 CROSS JOIN LATERAL (SELECT count(*) AS cases,
                            count(*) FILTER (WHERE c.status = 'CLEARED') AS cleared_cases
                       FROM ql.enforcement_case c WHERE c.credit_code = e.credit_code) cs
  LEFT JOIN LATERAL (SELECT r.record -> 'enterprise' ->> 'address' AS address,
                            r.record -> 'enterprise' ->> 'contact' AS contact
                       FROM ql.inspection_result r
                      WHERE r.credit_code = e.credit_code
                        AND r.record -> 'enterprise' ->> 'address' IS NOT NULL
                      ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) a ON true;

CREATE OR REPLACE VIEW ql.unmatched_recheck WITH (security_barrier) AS
SELECT l.result_id, r.kind, r.verdict, r.refers_to, l.credit_code, e.name AS enterprise_name,
       e.region_code, r.reported_at, l.reason, r.stored_at,
       r.record -> 'lab' ->> 'code' AS lab_code, r.record -> 'lab' ->> 'name' AS lab_name,
       ql.region_name(e.region_code) AS region_name, ql.title('reason', l.reason) AS reason_title,
       ql.title('kind', r.kind) AS kind_title, ql.title('verdict', r.verdict) AS verdict_title
  FROM ql.followup_link l
  JOIN ql.inspection_result r ON r.result_id = l.result_id
  JOIN ql.enterprise e ON e.credit_code = l.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 WHERE l.original_result_id IS NULL;

-- One row per finding, with what the lab reported about it: the product,
-- the batch, the item, the requirement and the measured value.
CREATE VIEW ql.case_findings WITH (security_barrier) AS
SELECT f.case_no, f.finding_id, f.result_id, r.record ->> 'report_no' AS report_no,
       r.record -> 'lab' ->> 'name' AS lab_name, r.record ->> 'level' AS level,
       r.record ->> 'stage' AS stage, (r.record ->> 'sampled_on')::date AS sampled_on,
       r.record -> 'product' ->> 'category' AS product_category,
       r.record -> 'product' ->> 'name' AS product_name,
       r.record -> 'product' ->> 'brand' AS brand, r.record -> 'product' ->> 'model' AS model,
       r.record -> 'product' ->> 'batch' AS batch,
       r.record -> 'product' ->> 'production_date' AS production_date,
       f.item_name, f.clause, f.requirement, f.measured, f.unit, f.importance, f.safety,
       f.severity, f.category, f.status,
       r.record -> 'manufacturer' ->> 'name' AS manufacturer_name,
       r.record -> 'manufacturer' ->> 'region_code' AS manufacturer_region,
       f.credit_code, e.name AS enterprise_name, e.region_code,
       ql.region_name(e.region_code) AS region_name, f.reported_at,
       ql.title('severity', f.severity) AS severity_title, k.title AS category_title,
       ql.title('finding_status', f.status) AS status_title,
       ql.title('level', r.record ->> 'level') AS level_title,
       ql.title('stage', r.record ->> 'stage') AS stage_title,
       ql.region_name(r.record -> 'manufacturer' ->> 'region_code') AS manufacturer_region_name,
       r.record -> 'manufacturer' ->> 'address' AS manufacturer_address,
       r.record -> 'enterprise' ->> 'role' AS role,
       ql.title('role', r.record -> 'enterprise' ->> 'role') AS role_title,
       f.resolved_by, f.resolved_at, f.confirmed_by, f.item_no
  FROM ql.finding f
  JOIN ql.enterprise e ON e.credit_code = f.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.inspection_result r ON r.result_id = f.result_id
  LEFT JOIN ql.cause_category k ON k.category = f.category;

-- Everything that happened to a case, in time order: every officer input
-- (acts and their revocation, assignments, completions, reopenings,
-- acceptances, the close) with who did it, and every state change a result
-- caused (a nonconforming result opening or joining the case, each recheck
-- and retest and what it did, the case escalated, cleared), with the lab.
CREATE VIEW ql.case_history WITH (security_barrier) AS
SELECT c.case_no, h.happened_at, h.event, h.event_title, h.caused_by, h.detail,
       h.result_id, h.action_id, h.act_id, c.credit_code, e.name AS enterprise_name,
       e.region_code
  FROM ql.enforcement_case c
  JOIN ql.enterprise e ON e.credit_code = c.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
 CROSS JOIN LATERAL (
       SELECT g.logged_at AS happened_at, g.what AS event,
              CASE g.what WHEN 'ASSIGN' THEN '分派案件' WHEN 'COMPLETE' THEN '办结事项'
                          WHEN 'ACCEPT' THEN '确认他检验机构的复查' WHEN 'ACT' THEN '记录执法行为'
                          WHEN 'REVOKE_ACT' THEN '撤销执法行为记录'
                          WHEN 'REOPEN' THEN '重新打开事项' WHEN 'CONFIRM_CLOSE' THEN '确认结案'
              END AS event_title,
              g.login AS caused_by, g.detail, g.result_id, g.action_id, g.act_id
         FROM ql.officer_log g WHERE g.case_no = c.case_no
       UNION ALL
       SELECT n.reported_at, 'RESULT',
              CASE WHEN n.pos = (SELECT min(n2.pos) FROM ql.nonconformity n2 WHERE n2.case_no = c.case_no)
                   THEN '监督抽查' || ql.title('verdict', n.verdict) || '，立案'
                   ELSE '监督抽查' || ql.title('verdict', n.verdict) || '，并入本案' END,
              r.record -> 'lab' ->> 'name',
              (r.record ->> 'report_no') || ' ' || coalesce(r.record -> 'product' ->> 'name', ''),
              n.result_id, NULL, NULL
         FROM ql.nonconformity n
         JOIN ql.inspection_result r ON r.result_id = n.result_id
        WHERE n.case_no = c.case_no
       UNION ALL
       SELECT l.reported_at, 'FOLLOWUP',
              ql.title('kind', l.kind) || ql.title('verdict', l.verdict) || '：'
              || ql.title('effect', l.effect),
              r.record -> 'lab' ->> 'name',
              (r.record ->> 'report_no') || coalesce('（' || ql.title('reason', l.reason) || '）', ''),
              l.result_id, NULL, NULL
         FROM ql.nonconformity n
         JOIN ql.followup_link l ON l.original_result_id = n.result_id
         JOIN ql.inspection_result r ON r.result_id = l.result_id
        WHERE n.case_no = c.case_no
       UNION ALL
       SELECT c.escalated_at, 'ESCALATED', '复查不合格，案件升级', NULL, NULL, NULL, NULL, NULL
        WHERE c.escalated_at IS NOT NULL
       UNION ALL
       SELECT c.cleared_at, 'CLEARED', '全部不合格项已清零', c.cleared_by, NULL, c.cleared_by, NULL, NULL
        WHERE c.cleared_at IS NOT NULL
       ) h;

-- Per officer (the officer a case is assigned to; NULL: not assigned), the
-- open cases of the current login's regions: how many, how many with an
-- overdue action, the actions overdue and due within 7 days.
CREATE VIEW ql.officer_workload WITH (security_barrier) AS
SELECT c.officer, count(*) AS open_cases,
       count(*) FILTER (WHERE a.overdue > 0) AS overdue_cases,
       coalesce(sum(a.overdue), 0)::bigint AS overdue_actions,
       coalesce(sum(a.due_soon), 0)::bigint AS due_soon_actions,
       count(*) FILTER (WHERE c.priority = 'P1') AS p1_cases
  FROM ql.officer_scope s
  JOIN ql.enterprise e ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  JOIN ql.enforcement_case c
    ON c.credit_code = e.credit_code AND c.status IN ('OPEN', 'ESCALATED')
 CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE p.due_date < ql.cst_today()) AS overdue,
              count(*) FILTER (WHERE p.due_date >= ql.cst_today()
                                 AND p.due_date <= ql.cst_today() + 7) AS due_soon
         FROM ql.plan_action p
        WHERE p.case_no = c.case_no AND p.status = 'PENDING' AND p.action <> 'OBJECTION_WINDOW') a
 GROUP BY c.officer;

-- ---------------------------------------------------------------------------
-- Quality statistics (抽查质量统计) per region, quarter of sampling,
-- product category, level and stage.  The number of spot-checked batches is
-- counted as results are stored, into ql.result_tally (a row per key and
-- stored batch, summed up now and then), so that the statistics do not read
-- every stored result; the nonconforming ones come from ql.nonconformity.

-- The quarter of a sampling date, '2024-Q1'; '' for anything else.
CREATE FUNCTION ql.quarter_of(sampled_on text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN sampled_on ~ '^[0-9]{4}-(0[1-9]|1[0-2])-'
            THEN left(sampled_on, 4) || '-Q' || ((substr(sampled_on, 6, 2)::integer + 2) / 3)
            ELSE '' END;

CREATE TABLE ql.result_tally (
    region_code       text NOT NULL,
    quarter           text NOT NULL,
    product_category  text NOT NULL,
    level             text NOT NULL,
    stage             text NOT NULL,
    results           bigint NOT NULL,
    refused           bigint NOT NULL
);
CREATE INDEX result_tally_region_idx ON ql.result_tally ((region_code COLLATE "C"));
ALTER TABLE ql.result_tally ENABLE ROW LEVEL SECURITY;
CREATE SEQUENCE ql.result_tally_batches;

INSERT INTO ql.result_tally
SELECT coalesce(r.record -> 'enterprise' ->> 'region_code', ''), ql.quarter_of(r.record ->> 'sampled_on'),
       coalesce(r.record -> 'product' ->> 'category', ''), coalesce(r.record ->> 'level', ''),
       coalesce(r.record ->> 'stage', ''), count(*), count(*) FILTER (WHERE r.verdict = 'REFUSED')
  FROM ql.inspection_result r
 WHERE r.kind = 'SUPERVISION'
 GROUP BY 1, 2, 3, 4, 5;

-- As in 003, and the stored batch's SUPERVISION results counted into
-- ql.result_tally; every 64th batch sums the tally up (the rows it sees, in
-- one statement: concurrent batches' rows are left for the next time).
CREATE OR REPLACE FUNCTION ql.queue_for_triage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ql.triage_pending (result_id, credit_code, kind, verdict, refers_to, reported_at,
                                   name, region_code)
    SELECT n.result_id, n.credit_code, n.kind, n.verdict, n.refers_to, n.reported_at,
           n.record -> 'enterprise' ->> 'name', n.record -> 'enterprise' ->> 'region_code'
      FROM inserted n
     WHERE n.kind <> 'SUPERVISION' OR n.verdict <> 'CONFORMING'
    ON CONFLICT (result_id) DO NOTHING;
    INSERT INTO ql.result_tally
    SELECT coalesce(n.record -> 'enterprise' ->> 'region_code', ''),
           ql.quarter_of(n.record ->> 'sampled_on'),
           coalesce(n.record -> 'product' ->> 'category', ''), coalesce(n.record ->> 'level', ''),
           coalesce(n.record ->> 'stage', ''), count(*),
           count(*) FILTER (WHERE n.verdict = 'REFUSED')
      FROM inserted n
     WHERE n.kind = 'SUPERVISION'
     GROUP BY 1, 2, 3, 4, 5;
    IF nextval('ql.result_tally_batches') % 64 = 0 THEN
        WITH gone AS (DELETE FROM ql.result_tally RETURNING *)
        INSERT INTO ql.result_tally
        SELECT region_code, quarter, product_category, level, stage, sum(results), sum(refused)
          FROM gone GROUP BY 1, 2, 3, 4, 5;
    END IF;
    RETURN NULL;
END $$;

-- results: spot-checked (SUPERVISION) results, refused among them;
-- nonconforming: NONCONFORMING results not voided by a retest; rate:
-- nonconforming of the results tested (refusals are not tested); cleared
-- and open: the nonconforming ones, by the state of their findings.
CREATE VIEW ql.quality_stats WITH (security_barrier) AS
SELECT t.region_code, ql.region_name(t.region_code) AS region_name, t.quarter,
       t.product_category, t.level, ql.title('level', t.level) AS level_title,
       t.stage, ql.title('stage', t.stage) AS stage_title,
       t.results, t.refused, coalesce(n.nonconforming, 0) AS nonconforming,
       round(coalesce(n.nonconforming, 0)::numeric / nullif(t.results - t.refused, 0), 4) AS rate,
       coalesce(n.cleared, 0) AS cleared, coalesce(n.open, 0) AS open
  FROM (SELECT t.region_code, t.quarter, t.product_category, t.level, t.stage,
               sum(t.results)::bigint AS results, sum(t.refused)::bigint AS refused
          FROM ql.officer_scope s
          JOIN ql.result_tally t
            ON t.region_code COLLATE "C" >= s.lo AND t.region_code COLLATE "C" < s.hi
         GROUP BY 1, 2, 3, 4, 5) t
  LEFT JOIN (
        SELECT n.region_code, ql.quarter_of(r.record ->> 'sampled_on') AS quarter,
               coalesce(r.record -> 'product' ->> 'category', '') AS product_category,
               coalesce(r.record ->> 'level', '') AS level, coalesce(r.record ->> 'stage', '') AS stage,
               count(*) FILTER (WHERE n.status <> 'VOIDED') AS nonconforming,
               count(*) FILTER (WHERE n.status = 'CLEARED') AS cleared,
               count(*) FILTER (WHERE n.status = 'OPEN') AS open
          FROM ql.officer_scope s
          JOIN ql.nonconformity n
            ON n.region_code COLLATE "C" >= s.lo AND n.region_code COLLATE "C" < s.hi
          JOIN ql.inspection_result r ON r.result_id = n.result_id
         WHERE n.verdict = 'NONCONFORMING'
         GROUP BY 1, 2, 3, 4, 5) n
    ON (n.region_code, n.quarter, n.product_category, n.level, n.stage)
       = (t.region_code, t.quarter, t.product_category, t.level, t.stage);

-- What an order to rectify (责令整改通知书) names, per open case: the
-- enterprise with its address (record schema v2; the latest result that
-- gives one), the latest order's 文号 and date, the RECTIFY and RECHECK
-- deadlines (provisional until the order is recorded), the products and
-- batches and the failed items.
CREATE VIEW ql.case_notice WITH (security_barrier) AS
SELECT c.case_no, c.credit_code, e.name AS enterprise_name, e.region_code,
       ql.region_name(e.region_code) AS region_name, a.address, a.contact,
       o.doc_no AS order_doc_no, o.on_date AS ordered_on,
       pr.due_date AS rectify_due, pr.provisional AS rectify_provisional,
       pk.due_date AS recheck_due, c.status, ql.title('case_status', c.status) AS status_title,
       (SELECT string_agg(DISTINCT coalesce(r.record -> 'product' ->> 'name', '')
                          || coalesce('（' || (r.record -> 'product' ->> 'model') || '）', '')
                          || coalesce('，批号/生产日期 ' || coalesce(r.record -> 'product' ->> 'batch',
                                                               r.record -> 'product' ->> 'production_date'), ''),
                          '；')
          FROM ql.nonconformity n JOIN ql.inspection_result r ON r.result_id = n.result_id
         WHERE n.case_no = c.case_no AND n.status = 'OPEN') AS products,
       (SELECT string_agg(DISTINCT f.item_name, '、') FROM ql.finding f
         WHERE f.case_no = c.case_no AND f.status = 'OPEN') AS failed_items,
       (SELECT string_agg(DISTINCT r.record ->> 'report_no', '、')
          FROM ql.nonconformity n JOIN ql.inspection_result r ON r.result_id = n.result_id
         WHERE n.case_no = c.case_no AND n.status = 'OPEN') AS report_nos
  FROM ql.enforcement_case c
  JOIN ql.enterprise e ON e.credit_code = c.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi
  LEFT JOIN LATERAL (SELECT r.record -> 'enterprise' ->> 'address' AS address,
                            r.record -> 'enterprise' ->> 'contact' AS contact
                       FROM ql.inspection_result r
                      WHERE r.credit_code = c.credit_code
                        AND r.record -> 'enterprise' ->> 'address' IS NOT NULL
                      ORDER BY r.reported_at DESC, r.result_id DESC LIMIT 1) a ON true
  LEFT JOIN LATERAL (SELECT x.doc_no, x.on_date FROM ql.case_act x
                      WHERE x.case_no = c.case_no AND x.act = 'RECTIFY_ORDER' AND x.revoked_at IS NULL
                      ORDER BY x.on_date DESC, x.act_id DESC LIMIT 1) o ON true
  LEFT JOIN LATERAL (SELECT p.due_date, p.provisional FROM ql.plan_action p
                      WHERE p.case_no = c.case_no AND p.action = 'RECTIFY' AND p.status = 'PENDING'
                      ORDER BY p.due_date DESC LIMIT 1) pr ON true
  LEFT JOIN LATERAL (SELECT p.due_date FROM ql.plan_action p
                      WHERE p.case_no = c.case_no AND p.action = 'RECHECK' AND p.status = 'PENDING'
                      ORDER BY p.due_date DESC LIMIT 1) pk ON true;

-- The acts recorded on each case, revoked ones included, for the case page.
CREATE VIEW ql.case_acts WITH (security_barrier) AS
SELECT a.act_id, a.case_no, a.act, ql.title('act', a.act) AS act_title, a.on_date, a.doc_no,
       a.until_date, a.note, a.recorded_by, a.recorded_at, a.revoked_at, a.revoked_by,
       a.revoke_reason, a.revoked_at IS NULL AS in_force
  FROM ql.case_act a
  JOIN ql.enforcement_case c ON c.case_no = a.case_no
  JOIN ql.enterprise e ON e.credit_code = c.credit_code
  JOIN ql.officer_scope s ON e.region_code COLLATE "C" >= s.lo AND e.region_code COLLATE "C" < s.hi;

-- ---------------------------------------------------------------------------
-- Privileges (as in 006: officers read views and call functions, nothing
-- else; the triage login sets the bureau's region).

-- ALTER DEFAULT PRIVILEGES in 006 cannot take EXECUTE from PUBLIC per
-- schema (PostgreSQL's global default grants it to every new function), so
-- every migration that creates functions ends by taking it again.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ql FROM PUBLIC;
GRANT SELECT ON ql.case_findings, ql.case_history, ql.due_soon, ql.officer_workload,
                ql.quality_stats, ql.case_notice, ql.case_acts
   TO ql_officer;
GRANT EXECUTE ON FUNCTION ql.record_act(text, text, date, text, text, date),
                          ql.revoke_act(bigint, text), ql.reopen_action(bigint, text),
                          ql.confirm_close(text)
   TO ql_officer;
GRANT EXECUTE ON FUNCTION ql.set_bureau(text) TO ql_triage;
-- The views call these helpers, and a function a view calls runs with the
-- caller's rights: pure functions, and the region names (SECURITY DEFINER
-- on ql.region alone, so that officers need no table).
GRANT EXECUTE ON FUNCTION ql.title(text, text), ql.quarter_of(text), ql.region_name(text),
                          ql.cst_today()
   TO ql_officer;

-- Every stored finding in the category the rules now give, every stored
-- plan derived again under the new rules (new actions, bases, measures,
-- REFUSED without STOP_SALE), and the digest recorded: ql.recategorize
-- does all three.
DO $$ BEGIN PERFORM ql.recategorize(); END $$;
