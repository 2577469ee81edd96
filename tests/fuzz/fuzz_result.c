/*
 * Fuzz target "result": a lab's JSON body as the producers parse it (jansson,
 * any top-level value, NUL allowed inside strings so the validator sees the
 * worst case), then ql_result_validate() on the document or on every element
 * of an array (the gateway's batch form), in STRICT mode without an expected
 * lab and in WARN mode with one.  Beyond "no crash, no leak, no undefined
 * behaviour" it checks the validator's promises: the error count equals the
 * listed errors, every problem is a well-formed UTF-8 single line, the answer
 * does not change when asked twice, and ql_result_utf8_valid() agrees with
 * jansson's own UTF-8 check on the raw input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_target.h"
#include "ql_result.h"

static void check_problems(const ql_problems_t *p)
{
        for (size_t i = 0; i < p->n; i++) {
                const char *f = p->v[i].field, *m = p->v[i].message;
                FUZZ_CHECK(f && m);
                FUZZ_CHECK(ql_result_utf8_valid(f, strlen(f)));
                FUZZ_CHECK(ql_result_utf8_valid(m, strlen(m)));
                FUZZ_CHECK(m[0] != '\0');
                FUZZ_CHECK(!strchr(m, '\n'));
        }
}

static void validate_one(const json_t *doc)
{
        ql_problems_t errors = {0}, warnings = {0};
        size_t n = ql_result_validate(doc, NULL, &errors, &warnings);
        FUZZ_CHECK(n == errors.n);
        check_problems(&errors);
        check_problems(&warnings);
        FUZZ_CHECK(ql_result_validate(doc, NULL, NULL, NULL) == n);

        /* WARN mode never adds errors; naming the document's own lab (when
         * it has one) adds none either. */
        const char *lab = ql_result_str(doc, "lab.code");
        ql_result_opts_t warn = {.uscc_mode = QL_USCC_WARN, .lab_code = lab};
        ql_problems_clear(&errors);
        ql_problems_clear(&warnings);
        size_t nw = ql_result_validate(doc, &warn, &errors, &warnings);
        FUZZ_CHECK(nw == errors.n && nw <= n);
        check_problems(&errors);
        check_problems(&warnings);

        /* A lab other than the document's must be refused. */
        ql_result_opts_t other = {.uscc_mode = QL_USCC_STRICT,
                                  .lab_code = "\xE5\x85\xB6X"};
        if (n == 0 && lab && strcmp(lab, other.lab_code) != 0)
                FUZZ_CHECK(ql_result_validate(doc, &other, NULL, NULL) > 0);

        /* The accessor on whatever shape the document has. */
        static const char *const paths[] = {"result_id",
                                            "enterprise.credit_code",
                                            "items[0].name",
                                            "items[18446744073709551616].name",
                                            "items[-1]",
                                            "lab..code",
                                            "items[",
                                            "",
                                            ".",
                                            "product.name.x"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                const char *s = ql_result_str(doc, paths[i]);
                if (s)
                        FUZZ_CHECK(ql_result_utf8_valid(s, strlen(s)));
        }
        ql_problems_clear(&errors);
        ql_problems_clear(&warnings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Differential: our UTF-8 check against jansson's. */
        json_t *s = json_stringn((const char *)data, size);
        FUZZ_CHECK(!s == !ql_result_utf8_valid((const char *)data, size));
        json_decref(s);

        json_error_t jerr;
        json_t *doc = json_loadb((const char *)data, size,
                                 JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!doc)
                return 0;
        if (json_is_array(doc)) {
                size_t i;
                json_t *el;
                json_array_foreach(doc, i, el)
                {
                        validate_one(el);
                }
        }
        validate_one(doc);
        json_decref(doc);
        return 0;
}
