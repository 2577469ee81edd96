-- Findings and diagnosis (schemas/sql/012_derive_steps.sql): one finding per FAIL item of a
-- NONCONFORMING result and one per REFUSED result, SERIOUS for A or safety
-- items and refusals, cause categories from the editable rules.
BEGIN;
\ir fixtures.sql
SELECT plan(25);

-- The rules place every item ql-simlab produces, and the common catalogue
-- items, in the right category.
SELECT results_eq(
    $$SELECT item, ql.classify_item(item) FROM (VALUES
        ('邻苯二甲酸酯增塑剂'), ('小零件'), ('锐利边缘'), ('标识和使用说明'), ('导体电阻'),
        ('绝缘厚度'), ('标志'), ('泄漏电流'), ('电气强度'), ('接地措施'), ('温升'),
        ('标志和说明'), ('甲醛含量'), ('pH值'), ('纤维含量'), ('使用说明'), ('甲醛释放量'),
        ('稳定性'), ('制动性能'), ('阻燃性能'), ('灼热丝试验'), ('可迁移元素（铅、镉）'),
        ('能效等级'), ('耐燃'), ('说明书'), ('标签'), ('可分解致癌芳香胺染料'),
        ('燃烧性能'), ('锐利尖端'), ('绝缘电阻'), ('防触电保护'), ('耐磨性')) AS t(item)$$,
    $$VALUES
        ('邻苯二甲酸酯增塑剂', 'HAZARDOUS_SUBSTANCE'), ('小零件', 'MECHANICAL_SAFETY'),
        ('锐利边缘', 'MECHANICAL_SAFETY'), ('标识和使用说明', 'LABELING'),
        ('导体电阻', 'PERFORMANCE'), ('绝缘厚度', 'ELECTRICAL_SAFETY'), ('标志', 'LABELING'),
        ('泄漏电流', 'ELECTRICAL_SAFETY'), ('电气强度', 'ELECTRICAL_SAFETY'),
        ('接地措施', 'ELECTRICAL_SAFETY'), ('温升', 'ELECTRICAL_SAFETY'),
        ('标志和说明', 'LABELING'), ('甲醛含量', 'HAZARDOUS_SUBSTANCE'),
        ('pH值', 'HAZARDOUS_SUBSTANCE'), ('纤维含量', 'PERFORMANCE'), ('使用说明', 'LABELING'),
        ('甲醛释放量', 'HAZARDOUS_SUBSTANCE'), ('稳定性', 'MECHANICAL_SAFETY'),
        ('制动性能', 'MECHANICAL_SAFETY'), ('阻燃性能', 'FIRE_SAFETY'),
        ('灼热丝试验', 'FIRE_SAFETY'), ('可迁移元素（铅、镉）', 'HAZARDOUS_SUBSTANCE'),
        ('能效等级', 'PERFORMANCE'), ('耐燃', 'FIRE_SAFETY'), ('说明书', 'LABELING'),
        ('标签', 'LABELING'), ('可分解致癌芳香胺染料', 'HAZARDOUS_SUBSTANCE'),
        ('燃烧性能', 'FIRE_SAFETY'), ('锐利尖端', 'MECHANICAL_SAFETY'),
        ('绝缘电阻', 'ELECTRICAL_SAFETY'), ('防触电保护', 'ELECTRICAL_SAFETY'),
        ('耐磨性', 'PERFORMANCE')$$,
    'cause rules place the simlab and catalogue items');
SELECT is(ql.classify_item('外观质量评定之外的某项目XYZ'), 'PERFORMANCE',
          'broad performance words still match');
SELECT is(ql.classify_item('某未知项目'), 'OTHER', 'an item no rule matches is OTHER');
SELECT is(ql.classify_item(NULL), 'OTHER', 'no item name is OTHER, not an error');

SELECT is((SELECT count(*) FROM ql.cause_category
            WHERE length(measures) > 40 AND length(diagnosis) > 10), 8::bigint,
          'all eight categories carry a diagnosis and recommended measures');
SELECT throws_ok($$INSERT INTO ql.cause_rule (priority, pattern, category) VALUES (1, '(unclosed', 'OTHER')$$,
                 '2201B', NULL, 'a rule with a broken pattern is refused');

SELECT current_setting('enable_hashjoin') || '/' || current_setting('enable_mergejoin') || '/'
       || current_setting('random_page_cost') || '/' || current_setting('jit') AS settings_before \gset

-- A NONCONFORMING result: one finding per FAIL item only.
SELECT is(qltest.put('LAB1:F1', '914403001922038216', 'SUPERVISION', 'NONCONFORMING',
                     '2024-04-01 02:00+00', items => jsonb_build_array(
                         qltest.item('邻苯二甲酸酯增塑剂', 'A', true, 'FAIL'),
                         qltest.item('小零件', 'A', true, 'PASS'),
                         qltest.item('燃烧性能', 'B', true, 'FAIL'),
                         qltest.item('标识和使用说明', 'B', false, 'FAIL'),
                         qltest.item('外观', 'UNCLASSIFIED', false, 'NOT_JUDGED'))),
          1, 'retriage recomputes the enterprise with a nonconformity');
SELECT is(current_setting('enable_hashjoin') || '/' || current_setting('enable_mergejoin') || '/'
          || current_setting('random_page_cost') || '/' || current_setting('jit'),
          :'settings_before', 'ql.retriage leaves the session''s planner settings as they were');
SELECT results_eq(
    $$SELECT item_no, item_name, severity, category, status FROM ql.finding
       WHERE result_id = 'LAB1:F1' ORDER BY item_no$$,
    $$VALUES (1, '邻苯二甲酸酯增塑剂', 'SERIOUS', 'HAZARDOUS_SUBSTANCE', 'OPEN'),
             (3, '燃烧性能', 'SERIOUS', 'FIRE_SAFETY', 'OPEN'),
             (4, '标识和使用说明', 'GENERAL', 'LABELING', 'OPEN')$$,
    'FAIL items become findings; A or safety items are SERIOUS, others GENERAL');
SELECT is((SELECT count(DISTINCT case_no) FROM ql.finding WHERE result_id = 'LAB1:F1'), 1::bigint,
          'the findings belong to one case');
SELECT is((SELECT region_code FROM ql.finding WHERE result_id = 'LAB1:F1' LIMIT 1), '350206',
          'a finding keeps the region the result reported');

-- A REFUSED result: one SERIOUS finding.
SELECT qltest.put('LAB1:F2', '91520000214434146R', 'SUPERVISION', 'REFUSED', '2024-04-02 02:00+00',
                  items => '[]'::jsonb);
SELECT results_eq(
    $$SELECT item_no, severity, category, status FROM ql.finding WHERE result_id = 'LAB1:F2'$$,
    $$VALUES (0, 'SERIOUS', 'REFUSAL', 'OPEN')$$,
    'a refusal (拒检) opens one SERIOUS finding');
SELECT is((qltest.case_of('LAB1:F2')).priority, 'P1', 'a refusal makes a P1 case');
SELECT ok((qltest.action((qltest.case_of('LAB1:F2')).case_no, 'ENFORCEMENT_REFERRAL')).action_id IS NOT NULL,
          'a refusal is referred for enforcement');
SELECT ok((qltest.action((qltest.case_of('LAB1:F2')).case_no, 'OBJECTION_WINDOW')).action_id IS NULL,
          'a refusal has no objection window (there is no test result to object to)');

-- CONFORMING SUPERVISION results: nothing to do, and retriage says so.
SELECT is(qltest.feed(qltest.doc('LAB1:F3', '91440300708461136T', 'SUPERVISION', 'CONFORMING',
                                 '2024-04-03 02:00+00'),
                      qltest.doc('LAB1:F4', '91440300708461136T', 'SUPERVISION', 'CONFORMING',
                                 '2024-04-04 02:00+00')),
          0, 'an enterprise with only conforming results is not recomputed');
SELECT is((SELECT count(*) FROM ql.finding WHERE credit_code = '91440300708461136T'), 0::bigint,
          'no finding for conforming results');
SELECT is((SELECT count(*) FROM ql.enforcement_case WHERE credit_code = '91440300708461136T'),
          0::bigint, 'no case for conforming results');
SELECT is((SELECT name FROM ql.enterprise WHERE credit_code = '91440300708461136T'),
          '厦门136T商贸有限公司', 'the enterprise is registered with its name');

-- Nothing new for an enterprise: retriage skips it; a forced one recomputes.
SELECT is(ql.retriage(ARRAY['914403001922038216']), 0, 'nothing new: no recompute');
SELECT is(ql.retriage(ARRAY['914403001922038216'], true), 1, 'forced: recomputed');
SELECT is((SELECT count(*) FROM ql.finding WHERE result_id = 'LAB1:F1'), 3::bigint,
          'recomputing does not duplicate findings');

-- Editing the rules: an administrator adds a rule ahead of the seeded ones and
-- re-applies them.
INSERT INTO ql.cause_rule (priority, pattern, category, note)
VALUES (5, '燃烧性能', 'PERFORMANCE', 'test override');
SELECT is(ql.recategorize(), 1, 'recategorize changes the one matching finding');
SELECT is((SELECT category FROM ql.finding WHERE result_id = 'LAB1:F1' AND item_no = 3),
          'PERFORMANCE', 'the finding takes the new category');
SELECT matches((qltest.action((qltest.case_of('LAB1:F1')).case_no, 'RECTIFY')).measure,
               '性能与质量指标', 'the plan''s measures follow the new category');

SELECT * FROM finish();
ROLLBACK;
