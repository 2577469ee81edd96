-- 002_diagnosis: the knowledge the 清零 triage applies, kept as data so that
-- an administrator can edit it without a release.  cause_category holds each
-- cause category with its diagnosis (把脉问诊: what usually goes wrong) and
-- the measures an enterprise can act on (the "plan" of 一企一策);
-- cause_rule maps inspection item names to categories (regular expressions,
-- first match in priority order wins, no match means OTHER); action_kind holds
-- every plan action with its deadline, measure and legal basis (Product
-- Quality Law and SAMR Order No. 18 of 2019, 《产品质量监督抽查管理暂行办法》).
-- After editing rules, SELECT ql.recategorize() re-applies them to existing
-- findings and their plans.

CREATE TABLE ql.cause_category (
    category    text PRIMARY KEY CHECK (category ~ '^[A-Z][A-Z_]*$'),
    title       text NOT NULL,
    diagnosis   text NOT NULL,
    measures    text NOT NULL,
    sort_order  integer NOT NULL
);

CREATE TABLE ql.cause_rule (
    rule_id     serial PRIMARY KEY,
    priority    integer NOT NULL,
    -- POSIX regular expression, matched case-insensitively against the item
    -- name; the CHECK compiles it so a broken pattern is refused on entry.
    pattern     text NOT NULL CHECK (pattern <> '' AND ('' ~* pattern) IS NOT NULL),
    category    text NOT NULL REFERENCES ql.cause_category,
    note        text
);
CREATE INDEX cause_rule_order_idx ON ql.cause_rule (priority, rule_id);

CREATE TABLE ql.action_kind (
    action           text PRIMARY KEY CHECK (action ~ '^[A-Z][A-Z_]*$'),
    title            text NOT NULL,
    sort_order       integer NOT NULL,
    -- Due date = anchor date + offset_days; the anchor is the original
    -- result's reported_at date in China Standard Time (the order date), or,
    -- for the steps after a failed recheck, that recheck's date.
    offset_days      integer NOT NULL,
    not_before_days  integer,
    measure          text NOT NULL,
    basis            text NOT NULL
);

-- China Standard Time is UTC+8 all year (no daylight saving since 1991); a
-- fixed offset keeps the dates immutable and independent of the tz database.
CREATE FUNCTION ql.cst_date(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((ts AT TIME ZONE 'UTC') + interval '8 hours')::date;

CREATE FUNCTION ql.cst_today() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
RETURN ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date;

-- The cause category of an inspection item: the first rule (lowest priority,
-- then lowest rule_id) whose pattern matches; OTHER when none does.
CREATE FUNCTION ql.classify_item(item_name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce((SELECT r.category FROM ql.cause_rule r
                  WHERE coalesce(item_name, '') ~* r.pattern
                  ORDER BY r.priority, r.rule_id LIMIT 1), 'OTHER');

INSERT INTO ql.cause_category (category, title, sort_order, diagnosis, measures) VALUES
('LABELING', '标志标识与使用说明', 10,
 '产品标志、标签、警示语或使用说明不符合强制性标准：常见原因是未跟进标准更新、标签设计和印刷前没有合规审核、中文标识或警示内容缺失、销售者进货查验未核对标识。',
 '①对照产品标准和GB 5296系列逐项核对名称、规格型号、厂名厂址、执行标准、警示语、年龄提示和使用说明，列出差异清单；②建立标签设计与印刷前的合规审核制度，指定专人负责并留存审核记录；③排查库存和在售产品，更正标识或下架，不得继续销售标识不合格的产品；④销售者落实进货查验，核对合格证明和中文标识后方可上架。'),
('HAZARDOUS_SUBSTANCE', '有害物质', 20,
 '有害物质（甲醛、重金属、邻苯二甲酸酯增塑剂、pH值等）超出限量：多源于原材料（塑料、涂料、面料、胶粘剂、染料助剂）失控，供应商管理和进料检验缺失，或后整理工艺不到位。',
 '①追溯超标批次所用原材料和供应商，立即停用问题物料；②要求供应商提供有资质机构出具的有害物质检测报告，签订质量协议约定限量指标；③建立原材料进货检验和定期送检制度，对高风险物料逐批验证；④调整配方或工艺（如改用非邻苯类增塑剂、低甲醛树脂，充分水洗和中和处理）；⑤整改后送有资质的检验机构检验合格，方可恢复生产销售。'),
('ELECTRICAL_SAFETY', '电气安全', 30,
 '电气安全项目（电气强度、泄漏电流、接地、温升、绝缘等）不合格：常见原因是结构设计不满足爬电距离和电气间隙、绝缘材料或关键元器件替换降级、接地连接不可靠、缺少逐台出厂安全检验。',
 '①对照GB 4706系列或产品标准开展设计评审，核查绝缘结构、爬电距离、电气间隙、接地端子和内部布线；②关键元器件（电源线、插头、开关、温控器、绝缘材料）选用合规型号，建立关键件清单，变更须验证并按规定办理认证变更；③配齐耐压测试仪、接地电阻测试仪、泄漏电流测试仪，逐台进行出厂安全检验并留存记录；④属于强制性产品认证（CCC）目录的，核查获证产品一致性；⑤对同批次已售产品评估风险，必要时召回。'),
('FIRE_SAFETY', '防火阻燃', 40,
 '阻燃、灼热丝、燃烧性能等防火项目不合格：多因材料阻燃等级不足、阻燃剂添加量不够或使用了未经验证的替代材料。',
 '①更换为满足阻燃和灼热丝要求的材料，索取材料阻燃性能检测报告；②固定材料牌号、配方和供应商，任何变更先验证后使用；③增加阻燃性能的批次抽检；④同批次库存隔离评估，不合格品不得出厂或销售。'),
('MECHANICAL_SAFETY', '机械与结构安全', 50,
 '机械与结构安全项目（小零件、锐利边缘和尖端、稳定性、制动性能、强度等）不合格：常见原因是结构设计缺陷、模具或装配工艺不稳定、紧固和连接强度不足、缺少针对性的安全测试。',
 '①对照产品标准（如GB 6675玩具、GB 14746/14747童车、GB 28007家具）开展结构安全评审，消除小零件脱落、锐边尖端、夹伤和倾翻风险；②修整模具、改进装配和紧固工艺，增加拉力、扭力、跌落、稳定性和制动性能测试；③对成品逐批抽检关键安全项目并留存记录；④完善年龄提示和警示标识。'),
('PERFORMANCE', '性能与质量指标', 60,
 '性能和质量指标（导体电阻、纤维含量、能效、尺寸偏差、色牢度等）不达标：常见原因是原材料偷工减料或以次充好（如导体截面或材质不足）、工艺参数控制不稳、必备检验设备缺失、明示指标与实际不符。',
 '①核查原材料规格与采购合同（导体材质和截面、纤维成分、关键部件规格），杜绝以次充好；②完善工艺参数控制、首件检验和过程巡检；③配齐出厂检验必备设备，按标准开展出厂检验；④按实际性能如实标注能效等级、纤维含量等明示指标。'),
('REFUSAL', '拒绝接受监督抽查', 70,
 '被抽样生产者、销售者拒绝接受依法进行的监督抽查（拒检）。',
 '①约谈企业负责人，书面告知拒检的法律责任；②责令改正，重新组织抽样检验；③依法查处，并纳入信用监管和重点监管。'),
('OTHER', '其他', 90,
 '未能按项目名称归类的不合格项目：需对照标准条款现场核查不合格原因。',
 '①组织技术人员对照标准条款分析不合格原因，必要时请检验机构解读；②针对原因制定整改措施并保留记录；③整改后送有资质的检验机构检验验证。');

INSERT INTO ql.cause_rule (priority, pattern, category, note) VALUES
(10, '标志|标识|标签|铭牌|说明书|使用说明|警示|标注|合格证', 'LABELING',
 'marking, labels, instructions and warnings'),
(20, '甲醛|铅|镉|汞|铬|砷|锑|钡|硒|重金属|可迁移元素|邻苯二甲酸酯|增塑剂|pH|芳香胺|偶氮|苯|多环芳烃|挥发性有机|VOC|异味|有害物质|溶剂残留|荧光增白',
 'HAZARDOUS_SUBSTANCE', 'chemical limits; before the others so that e.g. 苯 in any item name counts here'),
(30, '电气强度|泄漏电流|接地|温升|绝缘|触电|电击|爬电距离|电气间隙|耐潮|发热|非正常工作|电源连接|外部软线|内部布线|电源线|电磁兼容|骚扰|谐波',
 'ELECTRICAL_SAFETY', 'electrical safety, before MECHANICAL_SAFETY so that 电气强度 is not taken for 强度'),
(40, '阻燃|灼热丝|燃烧|耐燃|着火|火焰|氧指数|防火|漏电起痕', 'FIRE_SAFETY', 'fire and flame'),
(50, '小零件|锐利|尖端|边缘|制动|稳定性|强度|结构|机械|夹伤|挤压|窒息|绳|跌落|冲击|承重|牢固|稳固|倾翻|翻倒|刹车|防护',
 'MECHANICAL_SAFETY', 'structure and mechanical hazards'),
(60, '导体电阻|电阻|纤维含量|成分|含量|能效|能源效率|效率|功率|色牢度|断裂强力|撕破强力|纰裂|起毛起球|尺寸|偏差|厚度|外径|耐磨|硬度|密度|容量|噪声|寿命|精度|性能|质量|重量|净含量|亮度|光通量|规格',
 'PERFORMANCE', 'performance and quality indicators: the broadest patterns, so last');

INSERT INTO ql.action_kind (action, title, sort_order, offset_days, not_before_days, measure, basis) VALUES
('STOP_SALE', '停止生产销售同一产品', 10, 0, NULL,
 '检验结论为不合格：被抽样生产者、销售者立即停止生产、销售同一产品，下架并封存库存，清点在途和已售批次，必要时召回。',
 '《产品质量监督抽查管理暂行办法》（市场监管总局令2019年第18号）第四十五条'),
('OBJECTION_WINDOW', '异议复检期', 20, 15, NULL,
 '送达检验结论，告知企业可自收到检验结果之日起十五日内申请复检；期满未申请或复检仍不合格的，进入整改程序。',
 '《中华人民共和国产品质量法》第十五条'),
('ENFORCEMENT_REFERRAL', '移送立案查处', 30, 15, NULL,
 '严重不合格（A类或安全项目不合格、拒检）：移送执法机构核查立案，依法查处。',
 '《中华人民共和国产品质量法》第四十九条（生产、销售不符合保障人体健康和人身、财产安全标准的产品）、第五十六条（拒绝接受监督检查）'),
('DIAGNOSIS', '把脉问诊', 40, 30, NULL,
 '上门走访，会同技术专家分析不合格原因，与企业共同制定“一企一策”整改方案。',
 '《产品质量监督抽查管理暂行办法》第四十六条、第五十条'),
('KEY_SUPERVISION', '列入重点监管', 50, 30, NULL,
 '365日内再次抽查不合格：列为重点监管对象，提高抽查频次，开展专项检查，实施信用监管。',
 '《中华人民共和国产品质量法》第十五条；《产品质量监督抽查管理暂行办法》第五十条'),
('RECTIFY', '限期整改', 60, 60, NULL,
 '责令自责令之日起六十日内改正：企业按整改方案落实措施，提交整改报告。',
 '《产品质量监督抽查管理暂行办法》第四十六条；《中华人民共和国产品质量法》第十七条'),
('RECHECK', '组织复查', 70, 75, NULL,
 '自责令之日起七十五日内按监督抽查实施细则组织复查；复查合格前不得恢复生产、销售同一产品。',
 '《产品质量监督抽查管理暂行办法》第四十七条、第四十九条'),
('PUBLIC_ANNOUNCEMENT', '复查不合格公告', 80, 0, NULL,
 '复查不合格：逐级上报至省级市场监督管理部门，由其向社会公告。',
 '《产品质量监督抽查管理暂行办法》第四十七条；《中华人民共和国产品质量法》第十七条'),
('SECOND_RECHECK', '公告后复查', 90, 90, 60,
 '在公告之日起六十日后、九十日前再次组织复查。',
 '《产品质量监督抽查管理暂行办法》第四十八条'),
('SUSPEND_REORGANIZE', '责令停业、限期整顿', 100, 0, NULL,
 '公告后经复查仍不合格：责令停业，限期整顿；整顿期满后组织复查。',
 '《产品质量监督抽查管理暂行办法》第四十八条；《中华人民共和国产品质量法》第十七条'),
('LICENSE_REVOCATION', '吊销营业执照', 110, 0, NULL,
 '整顿期满后经复查仍不合格：依法吊销营业执照（提请登记机关办理）。',
 '《产品质量监督抽查管理暂行办法》第四十八条；《中华人民共和国产品质量法》第十七条');
