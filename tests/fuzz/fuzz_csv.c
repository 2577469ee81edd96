/*
 * Fuzz target "csv": bytes as a lab's CSV export, read the way ql-spool
 * reads one: the encoding sniffed (spool_charset), the bytes converted to UTF-8
 * and read by spool_csvread in two passes (scan, then build).  Each input is
 * read as UTF-8 and as GB18030 whatever the sniffer says, so both encodings
 * are fuzzed on every input, and each once in one chunk and once in small
 * chunks.  Beyond "no crash, no leak, no undefined behaviour" it checks:
 * UTF-8 passes through the conversion unchanged (but for a BOM), GB18030
 * comes out as valid UTF-8 except one 0xFF byte per invalid sequence;
 * every report is either a document that validates or a non-empty list of
 * well-formed problems, with a line that never goes back; and the outcome
 * does not depend on how the bytes were cut into chunks.  Limits are set
 * low so that the row, report and tracking limits are reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_target.h"
#include "record_sink.h"
#include "spool_charset.h"
#include "spool_csvread.h"
#include "ql_result.h"

static const spool_csvread_opts_t base_opts = {
    .validate = {.uscc_mode = QL_USCC_WARN, .lab_code = NULL},
    .max_row_bytes = 2048,
    .max_report_rows = 12,
    .max_tracked_reports = 4,
};

static int on_report(void *arg, const spool_csvread_rec_t *rec)
{
        record_sink_add(arg, rec->line, rec->report_no, rec->doc, rec->errors,
                        rec->warnings);
        return 0;
}

/* What the converter promises of each piece of output: UTF-8 input passes
 * through unchanged but for a leading BOM; GB18030 input comes out as valid
 * UTF-8 with one 0xFF byte for each invalid sequence (counted here). */
static void check_output(spool_charset_t cs, const uint8_t *data, size_t size,
                         const char *out, size_t out_len, size_t *produced,
                         size_t *invalid_bytes)
{
        if (cs == SPOOL_CHARSET_UTF8) {
                size_t bom =
                    size >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
                FUZZ_CHECK(bom + *produced + out_len <= size);
                FUZZ_CHECK(out_len == 0 ||
                           !memcmp(out, data + bom + *produced, out_len));
                *produced += out_len;
                return;
        }
        size_t start = 0;
        for (size_t i = 0; i <= out_len; i++) {
                if (i < out_len && (unsigned char)out[i] != 0xFF)
                        continue;
                FUZZ_CHECK(ql_result_utf8_valid(out + start, i - start));
                if (i < out_len)
                        (*invalid_bytes)++;
                start = i + 1;
        }
}

/* Convert data from cs in chunks of `chunk` bytes and hand every piece of
 * UTF-8 to the reader: the scan pass when fn is NULL, the build pass
 * otherwise.  Returns the reader's last answer. */
static spool_csvread_rc_t pass(spool_csvread_t *r, spool_charset_t cs,
                               const uint8_t *data, size_t size, size_t chunk,
                               record_sink_t *k)
{
        char err[256];
        spool_charset_conv_t *conv =
            spool_charset_conv_new(cs, err, sizeof(err));
        FUZZ_CHECK(conv);
        spool_csvread_rc_t rc = SPOOL_CSVREAD_OK;
        size_t off = 0, produced = 0, invalid_bytes = 0;
        for (;;) {
                size_t n = size - off < chunk ? size - off : chunk;
                const char *out;
                size_t out_len;
                FUZZ_CHECK(spool_charset_conv(conv, data + off, n, n == 0, &out,
                                              &out_len, err, sizeof(err)) == 0);
                check_output(cs, data, size, out, out_len, &produced,
                             &invalid_bytes);
                rc = k ? spool_csvread_feed(r, out, out_len, on_report, k)
                       : spool_csvread_scan(r, out, out_len);
                if (rc == SPOOL_CSVREAD_OK && n == 0)
                        rc = k ? spool_csvread_end(r, on_report, k)
                               : spool_csvread_scan_end(r);
                if (rc != SPOOL_CSVREAD_OK || n == 0)
                        break;
                off += n;
        }
        if (cs == SPOOL_CHARSET_GB18030)
                FUZZ_CHECK(invalid_bytes == spool_charset_conv_invalid(conv));
        spool_charset_conv_destroy(conv);
        return rc;
}

/* The whole outcome of reading data as cs: reports and file problems. */
static json_t *read_csv(spool_charset_t cs, const uint8_t *data, size_t size,
                        size_t chunk)
{
        spool_csvread_opts_t o = base_opts;
        o.charset = spool_charset_name(cs);
        spool_csvread_t *r = spool_csvread_new(&o);
        FUZZ_CHECK(r);
        record_sink_t k = {.out = json_array(), .validate = o.validate};
        spool_csvread_rc_t rc = pass(r, cs, data, size, chunk, NULL);
        FUZZ_CHECK(rc == SPOOL_CSVREAD_OK || rc == SPOOL_CSVREAD_BAD_FILE);
        if (rc == SPOOL_CSVREAD_OK) {
                rc = pass(r, cs, data, size, chunk, &k);
                FUZZ_CHECK(rc == SPOOL_CSVREAD_OK ||
                           rc == SPOOL_CSVREAD_BAD_FILE);
        }
        size_t line = 0;
        const ql_problems_t *bad = spool_csvread_problems(r, &line);
        if (rc == SPOOL_CSVREAD_BAD_FILE)
                FUZZ_CHECK(bad && bad->n > 0);
        json_t *res = json_pack("{so si sI so sI}", "reports", k.out, "rc",
                                (int)rc, "line", (json_int_t)line, "problems",
                                record_sink_problems(bad), "split",
                                (json_int_t)spool_csvread_split_reports(r));
        FUZZ_CHECK(res);
        spool_csvread_destroy(r);
        return res;
}

static void check_encoding(spool_charset_t cs, const uint8_t *data, size_t size)
{
        json_t *whole = read_csv(cs, data, size, size ? size : 1);
        json_t *cut = read_csv(cs, data, size, 1 + size % 23);
        record_sink_same(whole, cut, spool_charset_name(cs), 1 + size % 23);
}

/* The sniffer's decision, feeding it chunk bytes at a time. */
static spool_charset_t sniff(const uint8_t *data, size_t size, size_t chunk)
{
        spool_charset_sniff_t s;
        spool_charset_sniff_init(&s);
        for (size_t off = 0; off < size; off += chunk)
                if (spool_charset_sniff_feed(&s, data + off,
                                             size - off < chunk ? size - off
                                                                : chunk))
                        break;
        return spool_charset_sniff_result(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        spool_charset_t cs = sniff(data, size, size ? size : 1);
        FUZZ_CHECK(cs == SPOOL_CHARSET_UTF8 || cs == SPOOL_CHARSET_GB18030);
        FUZZ_CHECK(sniff(data, size, 7) == cs);

        check_encoding(SPOOL_CHARSET_UTF8, data, size);
        check_encoding(SPOOL_CHARSET_GB18030, data, size);
        return 0;
}
