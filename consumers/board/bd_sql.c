/*
 * bd_sql: the statements (see bd_sql.h).  The board's filters are one
 * statement per sort order: the ORDER BY is chosen from this fixed list,
 * never built from the request.  A NULL parameter means "no filter".
 */
#include "bd_sql.h"

#include <stddef.h>

/* China Standard Time's today, as the views count it. */
#define TODAY "((now() AT TIME ZONE 'UTC') + interval '8 hours')::date"

/* The board reads its columns by name: a column of the view it does not
 * name is not computed (the view is a subquery), and some are dear.  The
 * counts at the top come as window aggregates over the same filtered rows
 * (cnt_*), so the view is read once per page. */
#define BOARD_BASE_COLS                                                        \
        "case_no, credit_code, enterprise_name, region_code, status, "         \
        "priority, open_findings, serious_findings, next_action, next_due, "   \
        "overdue, officer, opened_at, "                                        \
        "count(*) OVER () AS cnt_total, "                                      \
        "count(*) FILTER (WHERE priority = 'P1') OVER () AS cnt_p1, "          \
        "count(*) FILTER (WHERE status = 'ESCALATED') OVER () "                \
        "AS cnt_escalated, "                                                   \
        "count(*) FILTER (WHERE overdue) OVER () AS cnt_overdue, "             \
        "count(*) FILTER (WHERE NOT overdue AND next_due <= " TODAY " + 7) "   \
        "OVER () AS cnt_due_soon, "                                            \
        "count(*) FILTER (WHERE officer IS NULL) OVER () AS cnt_unassigned, "  \
        "count(*) FILTER (WHERE serious_findings > 0) OVER () AS cnt_serious "

/* $1 status, $2 priority, $3 overdue, $4 officer ('-': unassigned),
 * $5 region prefix, $6 due within N days, $7 text (name, case, code). */
#define BOARD_WHERE                                                            \
        "WHERE ($1::text IS NULL OR status = $1) "                             \
        "AND ($2::text IS NULL OR priority = $2) "                             \
        "AND ($3::boolean IS NULL OR overdue = $3) "                           \
        "AND ($4::text IS NULL OR ($4 = '-' AND officer IS NULL) "             \
        "     OR officer = $4) "                                               \
        "AND ($5::text IS NULL OR starts_with(region_code, $5)) "              \
        "AND ($6::integer IS NULL OR (NOT overdue AND next_due <= " TODAY      \
        " + $6)) "                                                             \
        "AND ($7::text IS NULL OR strpos(enterprise_name, $7) > 0 "            \
        "     OR case_no = upper($7) OR credit_code = upper($7)) "

#define BOARD(order)                                                           \
        "SELECT " BOARD_BASE_COLS "FROM ql.case_board " BOARD_WHERE            \
        "ORDER BY " order " LIMIT $8 OFFSET $9"

/* With the titles and region names of migration 015.  The region's name is
 * a function call (not inlined): made for the page's rows only, outside
 * the sort. */
#define BOARD8(order)                                                          \
        "SELECT b.*, ql.region_name(b.region_code) AS region_name FROM ("      \
        "SELECT " BOARD_BASE_COLS ", status_title, priority_title, "           \
        "next_action_title, next_due_provisional FROM "                        \
        "ql.case_board " BOARD_WHERE "ORDER BY " order                         \
        " LIMIT $8 OFFSET $9) b ORDER BY " order

#define OVERDUE_COLS                                                           \
        "action_id, case_no, enterprise_name, action, due_date, "              \
        "days_overdue, credit_code, region_code, priority, officer, "          \
        "action_title"

#define ORDER_PRIORITY   "priority, next_due NULLS LAST, case_no"
#define ORDER_DUE        "next_due NULLS LAST, priority, case_no"
#define ORDER_OPENED     "opened_at DESC, case_no"
#define ORDER_ENTERPRISE "enterprise_name, case_no"
#define ORDER_CASE       "case_no"

static const bd_sql_t stmts[BD_Q_COUNT] = {
    [BD_Q_BOARD_BY_PRIORITY] = {"board_priority", BOARD(ORDER_PRIORITY), 9, 0},
    [BD_Q_BOARD_BY_DUE] = {"board_due", BOARD(ORDER_DUE), 9, 0},
    [BD_Q_BOARD_BY_OPENED] = {"board_opened", BOARD(ORDER_OPENED), 9, 0},
    [BD_Q_BOARD_BY_ENTERPRISE] = {"board_enterprise", BOARD(ORDER_ENTERPRISE),
                                  9, 0},
    [BD_Q_BOARD_BY_CASE] = {"board_case", BOARD(ORDER_CASE), 9, 0},
    [BD_Q_BOARD8_BY_PRIORITY] = {"board8_priority", BOARD8(ORDER_PRIORITY), 9,
                                 BD_CAP_REGION_NAME},
    [BD_Q_BOARD8_BY_DUE] = {"board8_due", BOARD8(ORDER_DUE), 9,
                            BD_CAP_REGION_NAME},
    [BD_Q_BOARD8_BY_OPENED] = {"board8_opened", BOARD8(ORDER_OPENED), 9,
                               BD_CAP_REGION_NAME},
    [BD_Q_BOARD8_BY_ENTERPRISE] = {"board8_enterprise",
                                   BOARD8(ORDER_ENTERPRISE), 9,
                                   BD_CAP_REGION_NAME},
    [BD_Q_BOARD8_BY_CASE] = {"board8_case", BOARD8(ORDER_CASE), 9,
                             BD_CAP_REGION_NAME},
    [BD_Q_BOARD_COUNTS] =
        {"board_counts",
         "SELECT count(*) AS cnt_total, "
         "count(*) FILTER (WHERE priority = 'P1') AS cnt_p1, "
         "count(*) FILTER (WHERE status = 'ESCALATED') AS cnt_escalated, "
         "count(*) FILTER (WHERE overdue) AS cnt_overdue, "
         "count(*) FILTER (WHERE NOT overdue AND next_due <= " TODAY " + 7) "
         "AS cnt_due_soon, "
         "count(*) FILTER (WHERE officer IS NULL) AS cnt_unassigned, "
         "count(*) FILTER (WHERE serious_findings > 0) AS cnt_serious "
         "FROM ql.case_board " BOARD_WHERE,
         7, 0},
    [BD_Q_CASE_HEAD] = {"case_head",
                        "SELECT * FROM ql.case_plan WHERE case_no = $1 "
                        "LIMIT 1",
                        1, 0},
    [BD_Q_CASE_OPEN] = {"case_open",
                        "SELECT * FROM ql.case_board WHERE case_no = $1", 1, 0},
    [BD_Q_CASE_PLAN] = {"case_plan",
                        "SELECT * FROM ql.case_plan WHERE case_no = $1 "
                        "ORDER BY due_date, action_id",
                        1, 0},
    [BD_Q_CASE_DIAGNOSIS] = {"case_diagnosis",
                             "SELECT * FROM ql.case_diagnosis "
                             "WHERE case_no = $1 "
                             "ORDER BY serious_findings DESC, category",
                             1, 0},
    /* A district may have thousands overdue: sorted and counted on the
     * view's cheap columns, the region's name (a function call) for the
     * page's rows only. */
    [BD_Q_OVERDUE] = {"overdue",
                      "SELECT " OVERDUE_COLS ", count(*) OVER () AS cnt_total "
                      "FROM ql.overdue_actions "
                      "ORDER BY days_overdue DESC, case_no, action_id "
                      "LIMIT $1 OFFSET $2",
                      2, 0},
    [BD_Q_OVERDUE8] = {"overdue8",
                       "SELECT o.*, ql.region_name(o.region_code) AS "
                       "region_name FROM (SELECT " OVERDUE_COLS ", "
                       "provisional, priority_title, count(*) OVER () AS "
                       "cnt_total FROM ql.overdue_actions "
                       "ORDER BY days_overdue DESC, case_no, action_id "
                       "LIMIT $1 OFFSET $2) o "
                       "ORDER BY days_overdue DESC, case_no, action_id",
                       2, BD_CAP_REGION_NAME},
    [BD_Q_PROGRESS] = {"progress",
                       "SELECT * FROM ql.zero_out_progress "
                       "ORDER BY region_code, open DESC, category",
                       0, 0},
    [BD_Q_SUMMARY] = {"summary",
                      "SELECT * FROM ql.zero_out_summary "
                      "ORDER BY region_code",
                      0, 0},
    [BD_Q_DOSSIER] = {"dossier",
                      "SELECT * FROM ql.enterprise_dossier "
                      "WHERE credit_code = $1",
                      1, 0},
    [BD_Q_ENTERPRISE_CASES] = {"enterprise_cases",
                               "SELECT case_no, case_status, priority, "
                               "count(*) AS actions, "
                               "count(*) FILTER (WHERE status = 'PENDING') "
                               "AS pending, min(due_date) FILTER (WHERE "
                               "status = 'PENDING') AS next_due "
                               "FROM ql.case_plan WHERE credit_code = $1 "
                               "GROUP BY case_no, case_status, priority "
                               "ORDER BY case_no DESC",
                               1, 0},
    [BD_Q_RECHECKS] = {"rechecks",
                       "SELECT * FROM ql.unmatched_recheck "
                       "ORDER BY reported_at, result_id",
                       0, 0},
    [BD_Q_ACTION_CASE] = {"action_case",
                          "SELECT case_no FROM ql.case_plan "
                          "WHERE action_id = $1::bigint",
                          1, 0},
    [BD_Q_ASSIGN] = {"assign", "SELECT ql.assign_case($1, $2)", 2, 0},
    [BD_Q_COMPLETE] = {"complete", "SELECT ql.complete_action($1::bigint, $2)",
                       2, 0},
    [BD_Q_TODAY] = {"today", "SELECT " TODAY, 0, 0},
    [BD_Q_ACCEPT] = {"accept", "SELECT ql.accept_followup($1, $2)", 2,
                     BD_CAP_ACCEPT},
    [BD_Q_CASE_FINDINGS] = {"case_findings",
                            "SELECT * FROM ql.case_findings WHERE case_no = $1 "
                            "ORDER BY reported_at, result_id, finding_id",
                            1, BD_CAP_FINDINGS},
    [BD_Q_CASE_HISTORY] = {"case_history",
                           "SELECT * FROM ql.case_history WHERE case_no = $1 "
                           "ORDER BY happened_at, event",
                           1, BD_CAP_HISTORY},
    [BD_Q_CASE_ACTS] = {"case_acts",
                        "SELECT * FROM ql.case_acts WHERE case_no = $1 "
                        "ORDER BY on_date, act_id",
                        1, BD_CAP_CASE_ACTS},
    [BD_Q_NOTICE] = {"notice",
                     "SELECT * FROM ql.case_notice WHERE case_no = $1", 1,
                     BD_CAP_NOTICE},
    [BD_Q_DUE_SOON] = {"due_soon",
                       "SELECT d.*, ql.region_name(d.region_code) AS "
                       "region_name FROM (SELECT action_id, case_no, "
                       "enterprise_name, action, action_title, due_date, "
                       "days_left, provisional, credit_code, region_code, "
                       "priority, priority_title, officer, count(*) OVER () "
                       "AS cnt_total FROM ql.due_soon "
                       "ORDER BY days_left, case_no, action_id LIMIT $1) d "
                       "ORDER BY days_left, case_no, action_id",
                       1, BD_CAP_DUE_SOON | BD_CAP_REGION_NAME},
    /* The CSV of 逾期与临期: both lists in one table. */
    [BD_Q_OVERDUE_ALL] =
        {"overdue_all",
         "SELECT '逾期' AS kind, action_id, case_no, credit_code, "
         "enterprise_name, region_code, region_name, priority, officer, "
         "action, action_title, due_date, provisional, days_overdue, "
         "NULL::integer AS days_left FROM ql.overdue_actions "
         "UNION ALL "
         "SELECT '临期', action_id, case_no, credit_code, enterprise_name, "
         "region_code, region_name, priority, officer, action, action_title, "
         "due_date, provisional, NULL, days_left FROM ql.due_soon "
         "ORDER BY days_overdue DESC NULLS LAST, days_left, case_no, "
         "action_id",
         0, BD_CAP_DUE_SOON | BD_CAP_REGION_NAME},
    /* 清零 month by month, the last 12 months (China time: the session's
     * time zone): nonconforming results reported in the month, results
     * cleared in it (every finding cleared or voided), and those still
     * open at its end. */
    [BD_Q_TREND] =
        {"trend",
         "WITH r AS (SELECT result_id, min(reported_at) AS opened, "
         "  CASE WHEN bool_and(status <> 'OPEN') THEN max(resolved_at) END "
         "  AS closed FROM ql.case_findings GROUP BY result_id), "
         "m AS (SELECT generate_series(date_trunc('month', now()) - "
         "  interval '11 months', date_trunc('month', now()), "
         "  interval '1 month') AS month) "
         "SELECT to_char(m.month, 'YYYY-MM') AS month, "
         "count(r.result_id) FILTER (WHERE r.opened >= m.month AND r.opened "
         "  < m.month + interval '1 month') AS reported, "
         "count(r.result_id) FILTER (WHERE r.closed >= m.month AND r.closed "
         "  < m.month + interval '1 month') AS cleared, "
         "count(r.result_id) FILTER (WHERE r.opened < m.month + "
         "  interval '1 month' AND (r.closed IS NULL OR r.closed >= m.month "
         "  + interval '1 month')) AS open "
         "FROM m LEFT JOIN r ON r.opened < m.month + interval '1 month' "
         "GROUP BY m.month ORDER BY m.month",
         0, BD_CAP_FINDINGS},
    [BD_Q_STATS] = {"stats",
                    "SELECT * FROM ql.quality_stats "
                    "ORDER BY quarter DESC, region_code, product_category, "
                    "level, stage",
                    0, BD_CAP_STATS},
    [BD_Q_STATS_QUARTERS] =
        {"stats_quarters",
         "SELECT quarter, sum(results)::bigint AS results, "
         "sum(refused)::bigint AS refused, "
         "sum(nonconforming)::bigint AS nonconforming, "
         "sum(cleared)::bigint AS cleared, sum(open)::bigint AS open, "
         "round(sum(nonconforming)::numeric / "
         "nullif(sum(results) - sum(refused), 0), 4) AS rate "
         "FROM ql.quality_stats GROUP BY quarter ORDER BY quarter",
         0, BD_CAP_STATS},
    [BD_Q_RECORD_ACT] = {"record_act",
                         "SELECT ql.record_act($1, $2, $3::date, $4, $5, "
                         "$6::date)",
                         6, BD_CAP_ACTS},
    [BD_Q_REVOKE_ACT] = {"revoke_act", "SELECT ql.revoke_act($1::bigint, $2)",
                         2, BD_CAP_ACTS},
    [BD_Q_ACT_CASE] = {"act_case",
                       "SELECT case_no FROM ql.case_acts "
                       "WHERE act_id = $1::bigint",
                       1, BD_CAP_CASE_ACTS},
    [BD_Q_REOPEN] = {"reopen", "SELECT ql.reopen_action($1::bigint, $2)", 2,
                     BD_CAP_REOPEN},
    [BD_Q_CONFIRM_CLOSE] = {"confirm_close", "SELECT ql.confirm_close($1)", 1,
                            BD_CAP_CONFIRM_CLOSE},
    /* Most overdue actions first: whose cases need help.  The view has one
     * row per officer and one for the unassigned (NULL), so the order is
     * total. */
    [BD_Q_WORKLOAD] = {"workload",
                       "SELECT * FROM ql.officer_workload "
                       "ORDER BY overdue_actions DESC, open_cases DESC, "
                       "officer NULLS FIRST",
                       0, BD_CAP_WORKLOAD},
};

const bd_sql_t *bd_sql(bd_query_t q)
{
        return q < BD_Q_COUNT ? &stmts[q] : NULL;
}

#define HAS_REL(r) "to_regclass('" r "') IS NOT NULL"
#define HAS_FN(f)                                                              \
        "EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON "              \
        "n.oid = p.pronamespace WHERE n.nspname = 'ql' AND p.proname = '" f    \
        "')"
#define HAS_COL(r, c)                                                          \
        "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "                 \
        "to_regclass('" r "') AND attname = '" c "' AND NOT attisdropped)"

const char bd_sql_whoami[] =
    "SELECT r.rolsuper, "
    "EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = 'ql_officer' "
    "        AND pg_has_role(current_user, o.oid, 'MEMBER')) "
    "FROM pg_roles r WHERE r.rolname = current_user";

const char bd_sql_caps[] =
    "SELECT " HAS_FN("record_act") ", " HAS_REL("ql.case_findings") ","
                                                                    " " HAS_REL("ql.case_history") ", " HAS_REL("ql."
                                                                                                                "due_"
                                                                                                                "soon") ", " HAS_REL("ql.officer_workload") ", " HAS_REL("ql.quality_stats") ", " HAS_COL("ql.case_board", "region_name") ", " HAS_COL("ql.case_plan", "provisional") ", " HAS_FN("reopen_action") ","
                                                                                                                                                                                                                                                                                                                   " " HAS_FN("confirm_close") ", " HAS_FN("accept_followup") ", " HAS_COL("ql.case_board", "objection") ", " HAS_REL(
                                                                                                                                                                                                                                                                                                                       "ql.case_notice") ", " HAS_REL("ql.case_acts");

/* Generic plans: every statement is planned once per connection, not at
 * each call (the views are large joins; planning them cost more than
 * running them for one case). */
const char bd_sql_session_setup[] =
    "SET TIME ZONE 'Asia/Shanghai'; SET statement_timeout = '20s'; "
    "SET DateStyle = 'ISO, YMD'; SET plan_cache_mode = force_generic_plan";
