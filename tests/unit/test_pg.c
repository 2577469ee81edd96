/* Unit tests for ql_pg: the connection string's check (libpq's syntax, the
 * caller's rule, what is reported) and the keyword/value arrays, down to
 * what libpq makes of them (no server: the connections fail, their
 * options stay readable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ql_pg.h"

static int calls;

static int refuse_user(const char *keyword, const char *value)
{
        calls++;
        assert_non_null(value);
        assert_true(*value);
        return !strcmp(keyword, "user");
}

static void test_check_conninfo(void **state)
{
        char why[256];
        assert_int_equal(ql_pg_check_conninfo("dbname=q host=h", refuse_user,
                                              why, sizeof(why)),
                         QL_PG_CONNINFO_OK);
        assert_int_equal(calls, 2); /* only the keywords set */
        assert_int_equal(
            ql_pg_check_conninfo(NULL, refuse_user, why, sizeof(why)),
            QL_PG_CONNINFO_OK);

        assert_int_equal(
            ql_pg_check_conninfo("dbname", refuse_user, why, sizeof(why)),
            QL_PG_CONNINFO_SYNTAX);
        assert_non_null(strstr(why, "missing \"=\" after \"dbname\""));
        assert_int_equal(
            ql_pg_check_conninfo("host='x", NULL, why, sizeof(why)),
            QL_PG_CONNINFO_SYNTAX);
        assert_non_null(strstr(why, "unterminated quoted string"));
        assert_int_equal(
            ql_pg_check_conninfo("nosuchkey=1", NULL, why, sizeof(why)),
            QL_PG_CONNINFO_SYNTAX);
        assert_non_null(strstr(why, "nosuchkey"));

        /* The keyword is reported, never its value. */
        assert_int_equal(ql_pg_check_conninfo("dbname=q user=secret",
                                              refuse_user, why, sizeof(why)),
                         QL_PG_CONNINFO_REFUSED);
        assert_string_equal(why, "user");
        assert_int_equal(ql_pg_check_conninfo("postgresql://secret@h/q",
                                              refuse_user, why, sizeof(why)),
                         QL_PG_CONNINFO_REFUSED);
        assert_string_equal(why, "user");
        /* An empty value sets nothing. */
        assert_int_equal(ql_pg_check_conninfo("user='' dbname=q", refuse_user,
                                              why, sizeof(why)),
                         QL_PG_CONNINFO_OK);
        /* Without a rule, only the syntax counts. */
        assert_int_equal(
            ql_pg_check_conninfo("user=u password=p", NULL, why, sizeof(why)),
            QL_PG_CONNINFO_OK);
}

static void test_params_order(void **state)
{
        const ql_pg_param_t before[] = {{"connect_timeout", "5"},
                                        {"application_name", "a"}};
        const ql_pg_param_t after[] = {{"password", "p"}};
        ql_pg_params_t p;
        assert_int_equal(ql_pg_params_set(&p, before, 2, "host=h", after, 1),
                         0);
        const char *keys[] = {"connect_timeout", "application_name", "dbname",
                              "password"};
        const char *values[] = {"5", "a", "host=h", "p"};
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(p.keys[i], keys[i]);
                assert_string_equal(p.values[i], values[i]);
        }
        assert_null(p.keys[4]);
        assert_null(p.values[4]);

        assert_int_equal(ql_pg_params_set(&p, NULL, 0, "dbname=q", NULL, 0), 0);
        assert_string_equal(p.keys[0], "dbname");
        assert_null(p.keys[1]);

        /* More than fit: none at all. */
        ql_pg_param_t many[QL_PG_PARAMS_MAX];
        for (size_t i = 0; i < QL_PG_PARAMS_MAX; i++)
                many[i] = (ql_pg_param_t){"application_name", "x"};
        assert_int_equal(ql_pg_params_set(&p, many, QL_PG_PARAMS_MAX - 1,
                                          "dbname=q", NULL, 0),
                         0);
        assert_null(p.keys[QL_PG_PARAMS_MAX]);
        assert_int_equal(
            ql_pg_params_set(&p, many, QL_PG_PARAMS_MAX, "dbname=q", NULL, 0),
            -1);
        assert_null(p.keys[0]);
}

/* The value libpq settled on for `keyword`. */
static char *option(PGconn *c, const char *keyword)
{
        PQconninfoOption *opts = PQconninfo(c);
        assert_non_null(opts);
        char *v = NULL;
        for (PQconninfoOption *o = opts; o->keyword; o++)
                if (!strcmp(o->keyword, keyword) && o->val)
                        v = strdup(o->val);
        PQconninfoFree(opts);
        return v;
}

static void expect_option(PGconn *c, const char *keyword, const char *want)
{
        char *v = option(c, keyword);
        assert_non_null(v);
        assert_string_equal(v, want);
        free(v);
}

/* libpq reads the arrays in order: the operator's string overrides what
 * stands before it, what stands after overrides the operator. */
static void test_what_libpq_makes_of_them(void **state)
{
        const ql_pg_param_t before[] = {{"application_name", "before"},
                                        {"keepalives_idle", "10"}};
        const ql_pg_param_t after[] = {{"connect_timeout", "7"}};
        ql_pg_params_t p;
        assert_int_equal(
            ql_pg_params_set(&p, before, 2,
                             "host=/nonexistent-ql-test application_name=op "
                             "connect_timeout=1 dbname=q",
                             after, 1),
            0);
        PGconn *c = ql_pg_connect(&p);
        assert_non_null(c);
        assert_int_equal(PQstatus(c), CONNECTION_BAD);
        expect_option(c, "application_name", "op");
        expect_option(c, "keepalives_idle", "10");
        expect_option(c, "connect_timeout", "7");
        expect_option(c, "dbname", "q");
        PQfinish(c);

        c = ql_pg_connect_start(&p);
        assert_non_null(c);
        expect_option(c, "application_name", "op");
        expect_option(c, "connect_timeout", "7");
        PQfinish(c);

        assert_int_equal(ql_pg_ping(&p), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_check_conninfo),
            cmocka_unit_test(test_params_order),
            cmocka_unit_test(test_what_libpq_makes_of_them),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
