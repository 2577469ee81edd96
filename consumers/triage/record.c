/*
 * record: decode, validate, pick the columns.  The validation problems
 * become one line so they fit a Kafka header and a log line alike.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void triage_record_clear(triage_record_t *r)
{
        json_decref(r->doc);
        free(r->warnings);
        memset(r, 0, sizeof(*r));
}

/* Append "s" to buf of size `size` at *len, cutting at a UTF-8 character
 * boundary if it does not fit. */
static void put(char *buf, size_t size, size_t *len, const char *s)
{
        size_t n = strlen(s);
        if (*len + 1 >= size)
                return;
        if (n > size - 1 - *len) {
                n = size - 1 - *len;
                while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                        n--;
        }
        memcpy(buf + *len, s, n);
        *len += n;
        buf[*len] = '\0';
}

void triage_record_join(const ql_problems_t *p, char *buf, size_t size)
{
        size_t len = 0;
        if (!size)
                return;
        buf[0] = '\0';
        for (size_t i = 0; i < p->n; i++) {
                if (i)
                        put(buf, size, &len, "; ");
                if (p->v[i].field && *p->v[i].field) {
                        put(buf, size, &len, p->v[i].field);
                        put(buf, size, &len, ": ");
                }
                put(buf, size, &len, p->v[i].message);
        }
}

int triage_record_decode(const ql_codec_t *codec, ql_uscc_mode_t uscc_mode,
                         const void *payload, size_t len, triage_record_t *rec,
                         triage_reject_kind_t *kind, char *errstr,
                         size_t errstr_size)
{
        memset(rec, 0, sizeof(*rec));
        *kind = TRIAGE_REJECT_UNDECODABLE;
        if (!payload || !len) {
                snprintf(errstr, errstr_size, "empty message");
                return -1;
        }
        char why[512];
        if (ql_codec_decode(codec, payload, len, &rec->doc, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "undecodable: %s", why);
                return -1;
        }
        rec->row.result_id = ql_result_str(rec->doc, "result_id");

        ql_problems_t errors = {0}, warnings = {0};
        ql_result_opts_t opts = {.uscc_mode = uscc_mode, .lab_code = NULL};
        size_t nerr = ql_result_validate(rec->doc, &opts, &errors, &warnings);
        if (warnings.n) {
                char w[1024];
                triage_record_join(&warnings, w, sizeof(w));
                rec->warnings = strdup(w);
        }
        if (nerr) {
                char e[1024];
                triage_record_join(&errors, e, sizeof(e));
                snprintf(errstr, errstr_size, "invalid: %s",
                         e[0] ? e : "validation failed");
                ql_problems_clear(&errors);
                ql_problems_clear(&warnings);
                *kind = TRIAGE_REJECT_INVALID;
                return -1;
        }
        ql_problems_clear(&errors);
        ql_problems_clear(&warnings);

        triage_row_t *row = &rec->row;
        row->credit_code = ql_result_str(rec->doc, "enterprise.credit_code");
        row->kind = ql_result_str(rec->doc, "kind");
        row->verdict = ql_result_str(rec->doc, "verdict");
        row->refers_to = ql_result_str(rec->doc, "refers_to");
        row->reported_at = ql_result_str(rec->doc, "reported_at");
        row->record = rec->doc;
        if (!row->result_id || !row->credit_code || !row->kind ||
            !row->verdict || !row->reported_at) {
                /* A validated record has all of them; a codec that
                 * disagrees with the validator must not crash us. */
                snprintf(errstr, errstr_size,
                         "invalid: decoded record lacks a required field");
                *kind = TRIAGE_REJECT_INVALID;
                return -1;
        }
        return 0;
}
