-- Shared helpers for the pgTAP tests (\ir fixtures.sql after BEGIN): build
-- result documents shaped like the labs' (docs/labs.md) and store them the way
-- ql-triage does -- INSERT ... ON CONFLICT (result_id) DO NOTHING, then
-- ql.retriage with the batch's credit codes, in one transaction.  Everything
-- lives in schema qltest and disappears with the test's ROLLBACK.

CREATE SCHEMA qltest;

-- One inspection item.
CREATE FUNCTION qltest.item(name text, importance text DEFAULT 'B', safety boolean DEFAULT false,
                            verdict text DEFAULT 'FAIL') RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object('name', name, 'clause', '5.1', 'requirement', '应符合标准要求',
                          'measured', CASE verdict WHEN 'FAIL' THEN '不符合' ELSE '符合' END,
                          'unit', NULL, 'importance', importance, 'safety', safety,
                          'verdict', verdict);

-- A result document.  Items default to one passing item, plus one failing
-- B item (标志) for a NONCONFORMING result.
CREATE FUNCTION qltest.doc(result_id text, credit_code text, kind text, verdict text,
                           reported_at timestamptz, refers_to text DEFAULT NULL,
                           items jsonb DEFAULT NULL, region text DEFAULT '350206',
                           name text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object(
    'result_id', result_id,
    'report_no', split_part(result_id, ':', 2),
    'lab', jsonb_build_object('code', split_part(result_id, ':', 1), 'name', '厦门市产品质量监督检验院'),
    'plan_id', 'XM-2024-01', 'level', 'DISTRICT', 'kind', kind, 'refers_to', refers_to,
    'stage', 'CIRCULATION', 'sampled_on', to_char(reported_at - interval '20 days', 'YYYY-MM-DD'),
    'reported_at', to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'enterprise', jsonb_build_object('credit_code', credit_code,
                                     'name', coalesce(name, '厦门' || right(credit_code, 4) || '商贸有限公司'),
                                     'region_code', region, 'role', 'SELLER'),
    'manufacturer', NULL,
    'product', jsonb_build_object('category', '儿童用品', 'name', '塑胶玩具', 'brand', '乐乐',
                                  'model', 'LL-01', 'grade', NULL, 'batch', '20240101',
                                  'production_date', '2024-01-01'),
    'items', coalesce(items,
                      CASE WHEN verdict = 'NONCONFORMING'
                           THEN jsonb_build_array(qltest.item('小零件', 'A', true, 'PASS'),
                                                  qltest.item('标志', 'B', false, 'FAIL'))
                           ELSE jsonb_build_array(qltest.item('小零件', 'A', true, 'PASS'),
                                                  qltest.item('标志', 'B', false, 'PASS')) END),
    'verdict', verdict, 'remarks', NULL);

CREATE SEQUENCE qltest.kafka_offset;

-- Store a batch of documents like ql-triage and re-triage their enterprises.
-- Returns what ql.retriage returned.
CREATE FUNCTION qltest.feed(VARIADIC docs jsonb[]) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, refers_to,
                                      reported_at, record, kafka_topic, kafka_partition,
                                      kafka_offset)
    SELECT d ->> 'result_id', d -> 'enterprise' ->> 'credit_code', d ->> 'kind', d ->> 'verdict',
           d ->> 'refers_to', (d ->> 'reported_at')::timestamptz, d, 'inspection.results', 0,
           nextval('qltest.kafka_offset')
      FROM unnest(docs) AS d
    ON CONFLICT (result_id) DO NOTHING;
    RETURN ql.retriage(ARRAY(SELECT DISTINCT d -> 'enterprise' ->> 'credit_code'
                               FROM unnest(docs) AS d));
END $$;

-- Shorthand: store one result.
CREATE FUNCTION qltest.put(result_id text, credit_code text, kind text, verdict text,
                           reported_at timestamptz, refers_to text DEFAULT NULL,
                           items jsonb DEFAULT NULL, region text DEFAULT '350206')
RETURNS integer
LANGUAGE sql
RETURN qltest.feed(qltest.doc(result_id, credit_code, kind, verdict, reported_at, refers_to,
                              items, region));

-- The plan of an enterprise's case as "ACTION@due" strings, in due order.
CREATE FUNCTION qltest.plan_of(case_no text) RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT p.action || '@' || p.due_date FROM ql.plan_action p
              WHERE p.case_no = plan_of.case_no ORDER BY p.due_date, p.action);

-- The case (any status) opened by a result.
CREATE FUNCTION qltest.case_of(opening text) RETURNS ql.enforcement_case
LANGUAGE sql STABLE
RETURN (SELECT c FROM ql.enforcement_case c WHERE c.opening_result_id = opening);

-- The plan action of a case by action name (and optionally the result it is
-- about).
CREATE FUNCTION qltest.action(case_no text, action text, about text DEFAULT NULL)
RETURNS ql.plan_action
LANGUAGE sql STABLE
RETURN (SELECT p FROM ql.plan_action p
         WHERE p.case_no = action.case_no AND p.action = action.action
           AND (about IS NULL OR p.about_result_id = about)
         ORDER BY p.due_date LIMIT 1);
