/*
 * bd_db: sign-in connections, lazily prepared statements and the mapping of
 * database errors to what an officer reads (see bd_db.h).
 */
#include "bd_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_pg.h"

static int names_a_login(const char *keyword, const char *value)
{
        return !strcmp(keyword, "user") || !strcmp(keyword, "password") ||
               !strcmp(keyword, "passfile");
}

int bd_db_check_conninfo(const char *conninfo, char *errstr, size_t errstr_size)
{
        char why[1024];
        switch (
            ql_pg_check_conninfo(conninfo, names_a_login, why, sizeof(why))) {
        case QL_PG_CONNINFO_OK:
                return 0;
        case QL_PG_CONNINFO_SYNTAX:
                snprintf(errstr, errstr_size, "board_pg: %s",
                         *why ? why : "not a connection string");
                return -1;
        case QL_PG_CONNINFO_REFUSED:
                break;
        }
        snprintf(errstr, errstr_size,
                 "board_pg: must not name a %s: each officer signs in with "
                 "their own login",
                 why);
        return -1;
}

/* A server message with control characters made visible, for the log. */
static void printable(char *dst, size_t size, const char *src)
{
        size_t i = 0;
        for (; src && *src && i + 1 < size; src++) {
                unsigned char c = (unsigned char)*src;
                dst[i++] = c < 0x20 || c == 0x7F ? ' ' : (char)c;
        }
        dst[i] = '\0';
        while (i > 0 && dst[i - 1] == ' ')
                dst[--i] = '\0';
}

bd_login_rc_t bd_db_login(const char *conninfo, const char *login,
                          const char *password, PGconn **conn, unsigned *caps,
                          char *errstr, size_t errstr_size)
{
        *conn = NULL;
        *caps = 0;
        /* libpq would take an empty password from PGPASSWORD or a
         * password file: only what the officer typed may count. */
        if (!login || !*login || !password || !*password) {
                snprintf(errstr, errstr_size, "empty login or password");
                return BD_LOGIN_DENIED;
        }
        /* After the connection string: the officer's login, and nothing
         * from the environment or a password file. */
        const ql_pg_param_t as_officer[] = {
            {"user", login},
            {"password", password},
            {"application_name", "ql-board"},
            {"connect_timeout", "10"},
            {"passfile", "/dev/null"},
        };
        ql_pg_params_t params;
        PGconn *c = NULL;
        if (!ql_pg_params_set(&params, NULL, 0, conninfo, as_officer,
                              sizeof(as_officer) / sizeof(as_officer[0])))
                c = ql_pg_connect(&params);
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return BD_LOGIN_UNAVAILABLE;
        }
        if (PQstatus(c) != CONNECTION_OK) {
                char m[400];
                printable(m, sizeof(m), PQerrorMessage(c));
                snprintf(errstr, errstr_size, "%s", m);
                /* libpq reports the server's refusal only as text: the
                 * SQLSTATEs 28P01/28000 do not reach PQresultErrorField
                 * at connection time. */
                int denied =
                    strstr(m, "password authentication failed") ||
                    strstr(m, "authentication failed") ||
                    (strstr(m, "role \"") && strstr(m, "does not exist")) ||
                    strstr(m, "no password supplied") ||
                    strstr(m, "pg_hba.conf");
                PQfinish(c);
                return denied ? BD_LOGIN_DENIED : BD_LOGIN_UNAVAILABLE;
        }
        PGresult *r = PQexec(c, bd_sql_session_setup);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                printable(errstr, errstr_size, PQresultErrorMessage(r));
                PQclear(r);
                PQfinish(c);
                return BD_LOGIN_UNAVAILABLE;
        }
        PQclear(r);
        r = PQexec(c, bd_sql_whoami);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
                printable(errstr, errstr_size, PQresultErrorMessage(r));
                PQclear(r);
                PQfinish(c);
                return BD_LOGIN_UNAVAILABLE;
        }
        int super = !strcmp(PQgetvalue(r, 0, 0), "t");
        int officer = !strcmp(PQgetvalue(r, 0, 1), "t");
        PQclear(r);
        if (super || !officer) {
                snprintf(errstr, errstr_size, "%s",
                         super ? "a superuser may not use the workbench"
                               : "not a member of ql_officer");
                PQfinish(c);
                return BD_LOGIN_NOT_OFFICER;
        }
        r = PQexec(c, bd_sql_caps);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
                printable(errstr, errstr_size, PQresultErrorMessage(r));
                PQclear(r);
                PQfinish(c);
                return BD_LOGIN_UNAVAILABLE;
        }
        for (int i = 0; i < PQnfields(r); i++)
                if (!strcmp(PQgetvalue(r, 0, i), "t"))
                        *caps |= 1u << i;
        PQclear(r);
        *conn = c;
        return BD_LOGIN_OK;
}

typedef struct {
        const char *state; /* SQLSTATE, or a class "42" when 2 characters */
        const char *msg;
} state_msg_t;

static const state_msg_t messages[] = {
    {"42501",
     "无权执行此操作：该案件或事项不在您的辖区内，或您的账号没有这项权限。"},
    {"55000", "当前状态下不能执行此操作（例如事项已完成、案件已清零或已结案）。"
              "请刷新页面查看最新状态。"},
    {"22023",
     "填写的内容不被接受，请检查后重试（例如所指派的承办人不负责该辖区）。"},
    {"22007", "日期格式不正确，请按“年-月-日”填写。"},
    {"22008", "日期超出范围，请检查后重试。"},
    {"22P02", "填写的内容格式不正确，请检查后重试。"},
    {"23505", "该记录已存在，无需重复提交。"},
    {"57014", "查询超时，请缩小筛选范围后重试。"},
    {"42P01", "此功能需要更新的数据库版本，请联系系统管理员。"},
    {"42883", "此功能需要更新的数据库版本，请联系系统管理员。"},
    {"P0001", "操作未被接受，请检查填写的内容。"},
    {"40", "数据库正忙，请稍后重试。"},
    {"53", "数据库资源不足，请稍后重试。"},
    {"08", "与数据库的连接已中断，请重新登录。"},
};

const char *bd_db_message(const char *sqlstate)
{
        if (sqlstate)
                for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]);
                     i++) {
                        size_t n = strlen(messages[i].state);
                        if (!strncmp(sqlstate, messages[i].state, n))
                                return messages[i].msg;
                }
        return "数据库未能完成此请求，请稍后重试；如仍不行，请联系系统管理员。";
}

/* An error an officer function raises on purpose. */
static int refusal(const char *state)
{
        static const char *const states[] = {"42501", "55000", "22023", "22007",
                                             "22008", "P0001", "23505", NULL};
        for (const char *const *s = states; state && *s; s++)
                if (!strcmp(state, *s))
                        return 1;
        return 0;
}

/* Does the text hold a CJK ideograph (U+4E00..U+9FFF)? */
static int has_cjk(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; p[0]; p++)
                if (p[0] >= 0xE4 && p[0] <= 0xE9 && p[1] >= 0x80 &&
                    p[2] >= 0x80)
                        return 1;
        return 0;
}

static bd_db_rc_t fail(bd_session_t *s, ql_log_t *lg, const bd_sql_t *st,
                       PGresult *r, char *msg, size_t msg_size)
{
        PGconn *c = bd_session_conn(s);
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        char detail[600];
        printable(detail, sizeof(detail),
                  r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        int lost = PQstatus(c) != CONNECTION_OK;
        ql_log(lg,
               lost || !state || state[0] != '4' ? QL_LOG_WARN : QL_LOG_INFO,
               "login=%s statement=%s sqlstate=%s: %s", bd_session_login(s),
               st->name, state ? state : "-", detail);
        /* The officer functions refuse in Chinese, written for officers:
         * such a refusal is shown as it is; anything else as the sentence
         * for its SQLSTATE. */
        const char *primary =
            r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        if (!lost && primary && refusal(state) && has_cjk(primary))
                snprintf(msg, msg_size, "操作未被接受：%s", primary);
        else
                snprintf(msg, msg_size, "%s",
                         lost ? bd_db_message("08") : bd_db_message(state));
        PQclear(r);
        return lost ? BD_DB_LOST : BD_DB_ERROR;
}

bd_db_rc_t bd_db_run(bd_session_t *s, ql_log_t *lg, bd_query_t q,
                     const char *const *params, PGresult **res, char *msg,
                     size_t msg_size)
{
        *res = NULL;
        const bd_sql_t *st = bd_sql(q);
        PGconn *c = bd_session_conn(s);
        unsigned char *prepared = bd_session_prepared(s);
        if (st->caps && (bd_session_caps(s) & st->caps) != st->caps) {
                snprintf(msg, msg_size, "%s", bd_db_message("42P01"));
                return BD_DB_ERROR;
        }
        if (!prepared[q]) {
                PGresult *p = PQprepare(c, st->name, st->sql, 0, NULL);
                if (PQresultStatus(p) != PGRES_COMMAND_OK)
                        return fail(s, lg, st, p, msg, msg_size);
                PQclear(p);
                prepared[q] = 1;
        }
        PGresult *r =
            PQexecPrepared(c, st->name, st->nparams, params, NULL, NULL, 0);
        ExecStatusType t = PQresultStatus(r);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (t == PGRES_FATAL_ERROR && state && !strcmp(state, "0A000") &&
            PQtransactionStatus(c) == PQTRANS_IDLE) {
                /* "cached plan must not change result type": a migration
                 * changed a view's columns under the prepared statement.
                 * Prepared again, once, on the new definition. */
                PQclear(r);
                char sql[96];
                snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
                PQclear(PQexec(c, sql));
                prepared[q] = 0;
                PGresult *p = PQprepare(c, st->name, st->sql, 0, NULL);
                if (PQresultStatus(p) != PGRES_COMMAND_OK)
                        return fail(s, lg, st, p, msg, msg_size);
                PQclear(p);
                prepared[q] = 1;
                r = PQexecPrepared(c, st->name, st->nparams, params, NULL, NULL,
                                   0);
                t = PQresultStatus(r);
        }
        if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK)
                return fail(s, lg, st, r, msg, msg_size);
        *res = r;
        return BD_DB_OK;
}

int bd_db_ping(const char *conninfo)
{
        static const ql_pg_param_t timeout = {"connect_timeout", "3"};
        ql_pg_params_t params;
        return !ql_pg_params_set(&params, NULL, 0, conninfo, &timeout, 1) &&
               ql_pg_ping(&params);
}
