/*
 * bd_sql: every statement ql-board sends, as named prepared statements.
 * Each reads the officers' views or calls an officer function; values from
 * the request travel only as parameters ($1, $2, ...), never as SQL text.
 * A statement that needs objects of a newer schema names the BD_CAP_* bits
 * it needs (bd_db finds which the database has at sign-in).
 */
#ifndef BD_SQL_H
#define BD_SQL_H

/* What the database offers beyond the views of schemas/sql/005 and the
 * functions of 006 (docs/officers.md, "Recording work").  Found per connection
 * at sign-in. */
enum {
        BD_CAP_ACTS = 1 << 0,          /* ql.case_act, record_act, revoke_act */
        BD_CAP_FINDINGS = 1 << 1,      /* ql.case_findings */
        BD_CAP_HISTORY = 1 << 2,       /* ql.case_history */
        BD_CAP_DUE_SOON = 1 << 3,      /* ql.due_soon */
        BD_CAP_WORKLOAD = 1 << 4,      /* ql.officer_workload */
        BD_CAP_STATS = 1 << 5,         /* ql.quality_stats */
        BD_CAP_REGION_NAME = 1 << 6,   /* region_name in the views */
        BD_CAP_PROVISIONAL = 1 << 7,   /* provisional on plan rows */
        BD_CAP_REOPEN = 1 << 8,        /* ql.reopen_action */
        BD_CAP_CONFIRM_CLOSE = 1 << 9, /* ql.confirm_close */
        BD_CAP_ACCEPT = 1 << 10,       /* ql.accept_followup */
        BD_CAP_OBJECTION = 1 << 11,    /* objection on the case */
        BD_CAP_NOTICE = 1 << 12,       /* ql.case_notice */
        BD_CAP_CASE_ACTS = 1 << 13,    /* ql.case_acts */
};

typedef enum {
        BD_Q_BOARD_BY_PRIORITY = 0,
        BD_Q_BOARD_BY_DUE,
        BD_Q_BOARD_BY_OPENED,
        BD_Q_BOARD_BY_ENTERPRISE,
        BD_Q_BOARD_BY_CASE,
        BD_Q_BOARD8_BY_PRIORITY, /* the same five with 015's titles */
        BD_Q_BOARD8_BY_DUE,
        BD_Q_BOARD8_BY_OPENED,
        BD_Q_BOARD8_BY_ENTERPRISE,
        BD_Q_BOARD8_BY_CASE,
        BD_Q_BOARD_COUNTS,
        BD_Q_CASE_HEAD,
        BD_Q_CASE_OPEN,
        BD_Q_CASE_PLAN,
        BD_Q_CASE_DIAGNOSIS,
        BD_Q_OVERDUE,
        BD_Q_OVERDUE8, /* with 015's titles and region names */
        BD_Q_PROGRESS,
        BD_Q_SUMMARY,
        BD_Q_DOSSIER,
        BD_Q_ENTERPRISE_CASES,
        BD_Q_RECHECKS,
        BD_Q_ACTION_CASE,
        BD_Q_ASSIGN,
        BD_Q_COMPLETE,
        BD_Q_TODAY,
        BD_Q_ACCEPT,
        BD_Q_CASE_FINDINGS,
        BD_Q_CASE_HISTORY,
        BD_Q_CASE_ACTS,
        BD_Q_NOTICE,
        BD_Q_DUE_SOON,
        BD_Q_OVERDUE_ALL,
        BD_Q_TREND,
        BD_Q_STATS,
        BD_Q_STATS_QUARTERS,
        BD_Q_RECORD_ACT,
        BD_Q_REVOKE_ACT,
        BD_Q_ACT_CASE,
        BD_Q_REOPEN,
        BD_Q_CONFIRM_CLOSE,
        BD_Q_WORKLOAD,
        BD_Q_COUNT /* not a statement */
} bd_query_t;

typedef struct {
        const char *name; /* the prepared statement's name */
        const char *sql;
        int nparams;
        unsigned caps; /* BD_CAP_* needed */
} bd_sql_t;

const bd_sql_t *bd_sql(bd_query_t q);

/* Who signed in (not prepared: run once per connection): one row,
 * rolsuper and whether the login is a member of ql_officer. */
extern const char bd_sql_whoami[];

/* What the database offers an officer: one row, one boolean per BD_CAP_*
 * bit, lowest first. */
extern const char bd_sql_caps[];

/* Run once on every new connection (constant text). */
extern const char bd_sql_session_setup[];

#endif
