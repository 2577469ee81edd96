/*
 * bd_titles: code -> Chinese tables (see bd_titles.h).  The action and
 * category titles repeat schemas/sql's ql.action_kind and ql.cause_category
 * for the views that name a code without its title.
 */
#include "bd_titles.h"

#include <stddef.h>
#include <string.h>

typedef struct {
        const char *code, *title;
} pair_t;

static const pair_t case_status[] = {{"OPEN", "整改中"},
                                     {"ESCALATED", "已升级"},
                                     {"CLEARED", "已清零"},
                                     {"CLOSED", "已结案"},
                                     {NULL, NULL}};
static const pair_t priority[] = {
    {"P1", "P1 紧急"}, {"P2", "P2 较急"}, {"P3", "P3 一般"}, {NULL, NULL}};
static const pair_t action_status[] = {{"PENDING", "待办"},
                                       {"DONE", "已完成"},
                                       {"CANCELLED", "已取消"},
                                       {NULL, NULL}};
static const pair_t finding_status[] = {{"OPEN", "未清零"},
                                        {"CLEARED", "已清零"},
                                        {"VOIDED", "已撤销"},
                                        {NULL, NULL}};
static const pair_t severity[] = {
    {"SERIOUS", "严重不合格"}, {"GENERAL", "一般不合格"}, {NULL, NULL}};
static const pair_t kind[] = {{"SUPERVISION", "监督抽查"},
                              {"RECHECK", "复查"},
                              {"RETEST", "复检"},
                              {NULL, NULL}};
static const pair_t verdict[] = {{"CONFORMING", "合格"},
                                 {"NONCONFORMING", "不合格"},
                                 {"REFUSED", "拒检"},
                                 {NULL, NULL}};
static const pair_t level[] = {{"NATIONAL", "国家"},
                               {"PROVINCIAL", "省级"},
                               {"MUNICIPAL", "市级"},
                               {"DISTRICT", "区级"},
                               {NULL, NULL}};
static const pair_t stage[] = {{"PRODUCTION", "生产"},
                               {"CIRCULATION", "流通"},
                               {"ECOMMERCE", "电商"},
                               {NULL, NULL}};
static const pair_t recheck_reason[] = {
    {"ORIGINAL_MISSING", "原检验结果未到"},
    {"CHAIN_BROKEN", "所指复查无原结果"},
    {"OTHER_ENTERPRISE", "原结果属于其他企业"},
    {"NO_REFERENCE", "未注明原结果"},
    {"OTHER_LAB", "非原承检机构，待确认"},
    {NULL, NULL}};
static const pair_t act[] = {
    {"SERVED", "送达检验结果"},           {"RECTIFY_ORDER", "责令整改"},
    {"OBJECTION_FILED", "申请复检"},      {"ANNOUNCED", "公告"},
    {"SUSPENSION_ORDER", "责令停业整顿"}, {NULL, NULL}};
static const pair_t objection[] = {
    {"NOT_SERVED", "未送达"},       {"OPEN", "异议期内"},
    {"CLOSED", "异议期已过"},       {"FILED", "已申请复检"},
    {"FILED_LATE", "逾期申请复检"}, {NULL, NULL}};
static const pair_t importance[] = {
    {"A", "A类"}, {"B", "B类"}, {"UNCLASSIFIED", "未分类"}, {NULL, NULL}};
/* GB/T 2260: Xiamen and its districts. */
static const pair_t region[] = {
    {"3502", "厦门市"},   {"350200", "厦门市"}, {"350203", "思明区"},
    {"350205", "海沧区"}, {"350206", "湖里区"}, {"350211", "集美区"},
    {"350212", "同安区"}, {"350213", "翔安区"}, {NULL, NULL}};
static const pair_t action[] = {{"STOP_SALE", "停止生产销售"},
                                {"OBJECTION_WINDOW", "异议复检期"},
                                {"ENFORCEMENT_REFERRAL", "移送立案查处"},
                                {"DIAGNOSIS", "把脉问诊"},
                                {"KEY_SUPERVISION", "列入重点监管"},
                                {"RECTIFY", "限期整改"},
                                {"RECHECK", "组织复查"},
                                {"PUBLIC_ANNOUNCEMENT", "公告"},
                                {"SECOND_RECHECK", "公告后复查"},
                                {"SUSPEND_REORGANIZE", "责令停业整顿"},
                                {"REORGANIZE_RECHECK", "整顿后复查"},
                                {"LICENSE_REVOCATION", "吊销营业执照"},
                                {"NOTIFY_PRODUCER_BUREAU", "通报生产者所在地"},
                                {NULL, NULL}};
static const pair_t category[] = {{"LABELING", "标志标识与使用说明"},
                                  {"HAZARDOUS_SUBSTANCE", "有害物质"},
                                  {"ELECTRICAL_SAFETY", "电气安全"},
                                  {"FIRE_SAFETY", "防火阻燃"},
                                  {"MECHANICAL_SAFETY", "机械与结构安全"},
                                  {"PERFORMANCE", "性能与质量指标"},
                                  {"REFUSAL", "拒绝接受监督抽查"},
                                  {"OTHER", "其他"},
                                  {NULL, NULL}};

static const pair_t *const tables[] = {
    [BD_T_CASE_STATUS] = case_status,
    [BD_T_PRIORITY] = priority,
    [BD_T_ACTION_STATUS] = action_status,
    [BD_T_FINDING_STATUS] = finding_status,
    [BD_T_SEVERITY] = severity,
    [BD_T_KIND] = kind,
    [BD_T_VERDICT] = verdict,
    [BD_T_LEVEL] = level,
    [BD_T_STAGE] = stage,
    [BD_T_RECHECK_REASON] = recheck_reason,
    [BD_T_ACT] = act,
    [BD_T_OBJECTION] = objection,
    [BD_T_IMPORTANCE] = importance,
    [BD_T_REGION] = region,
    [BD_T_ACTION] = action,
    [BD_T_CATEGORY] = category,
};

const char *bd_title_known(bd_title_kind_t k, const char *code)
{
        if (!code || (size_t)k >= sizeof(tables) / sizeof(tables[0]))
                return NULL;
        for (const pair_t *p = tables[k]; p->code; p++)
                if (!strcmp(p->code, code))
                        return p->title;
        return NULL;
}

const char *bd_title(bd_title_kind_t k, const char *code)
{
        const char *t = bd_title_known(k, code);
        return t ? t : code;
}
