/* Unit tests for ql_metrics: exposition format, families, histograms and
 * the three endpoints' answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ql_metrics.h"

static void lag_collector(void *arg, ql_metrics_emit_fn emit, void *ctx)
{
        emit(ctx, "ql_test_lag{partition=\"%d\"} %d\n", 3, *(int *)arg);
}

static int not_ready(void *arg, char *why, size_t n)
{
        strncpy(why, "database unreachable", n);
        return 0;
}

static void test_render(void **state)
{
        ql_metrics_t *m = ql_metrics_new("ql-test");
        ql_counter_t *a = ql_metrics_counter(m, "ql_test_requests_total",
                                             "Requests.", "status=\"202\"");
        ql_counter_t *b = ql_metrics_counter(m, "ql_test_requests_total",
                                             "Requests.", "status=\"400\"");
        assert_ptr_equal(a, ql_metrics_counter(m, "ql_test_requests_total",
                                               "Requests.", "status=\"202\""));
        ql_counter_add(a, 5);
        ql_counter_add(b, 2);
        ql_histogram_t *h =
            ql_metrics_histogram(m, "ql_test_batch_seconds", "Batches.", NULL);
        ql_histogram_observe(h, 0.003);
        ql_histogram_observe(h, 20);
        int lag = 42;
        ql_metrics_add_collector(m, lag_collector, &lag);
        char *text = ql_metrics_render(m);
        assert_non_null(strstr(text, "ql_build_info{program=\"ql-test\""));
        assert_non_null(
            strstr(text, "ql_test_requests_total{status=\"202\"} 5\n"));
        assert_non_null(
            strstr(text, "ql_test_requests_total{status=\"400\"} 2\n"));
        /* HELP/TYPE once per family. */
        const char *first =
            strstr(text, "# TYPE ql_test_requests_total counter");
        assert_non_null(first);
        assert_null(strstr(first + 1, "# TYPE ql_test_requests_total"));
        assert_non_null(
            strstr(text, "ql_test_batch_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert_non_null(
            strstr(text, "ql_test_batch_seconds_bucket{le=\"0.005\"} 1\n"));
        assert_non_null(
            strstr(text, "ql_test_batch_seconds_bucket{le=\"10\"} 1\n"));
        assert_non_null(
            strstr(text, "ql_test_batch_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert_non_null(strstr(text, "ql_test_batch_seconds_count 2\n"));
        assert_non_null(strstr(text, "ql_test_lag{partition=\"3\"} 42\n"));
        free(text);

        int status;
        const char *ctype;
        char *body;
        assert_int_equal(
            ql_metrics_answer(m, "/readyz", &status, &ctype, &body), 0);
        assert_int_equal(status, 200);
        free(body);
        ql_metrics_set_ready(m, not_ready, NULL);
        assert_int_equal(
            ql_metrics_answer(m, "/readyz", &status, &ctype, &body), 0);
        assert_int_equal(status, 503);
        assert_non_null(strstr(body, "database unreachable"));
        free(body);
        assert_int_equal(
            ql_metrics_answer(m, "/healthz", &status, &ctype, &body), 0);
        assert_int_equal(status, 200);
        free(body);
        assert_int_equal(ql_metrics_answer(m, "/other", &status, &ctype, &body),
                         -1);
        ql_metrics_destroy(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
