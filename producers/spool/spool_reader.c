/*
 * spool_reader: the reader thread of a file: chunks read, the charset
 * sniffed and converted to UTF-8, and handed to the format's reader (CSV:
 * the scan pass, a big file's in two halves on two threads, then the rows;
 * JSON Lines: the lines split into batches).
 */
#include "spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ql_kafka.h"
#include "ql_result.h"
#include "ql_util.h"
#include "spool_charset.h"
#include "spool_csvread.h"
#include "spool_file_private.h"
#include "spool_jsonlread.h"

/* ------------------------------------------------------------------------
 * Reading, on the reader thread
 */

/* Read up to size bytes at offset off; -1 with rd->s.why on an error.
 * Offsets, not the descriptor's position: two threads read one file. */
static ssize_t read_chunk(reader_t *rd, char *buf, size_t size, off_t off)
{
        for (;;) {
                ssize_t n = pread(rd->fd, buf, size, off);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                snprintf(rd->s.why, sizeof(rd->s.why), "read: %s",
                         strerror(errno));
                return -1;
        }
}

static int sniff(reader_t *rd, char *buf, spool_charset_t *cs)
{
        spool_charset_sniff_t s;
        spool_charset_sniff_init(&s);
        ssize_t n;
        off_t off = 0;
        while ((n = read_chunk(rd, buf, CHUNK, off)) > 0) {
                off += n;
                if (spool_charset_sniff_feed(&s, buf, (size_t)n))
                        break;
        }
        if (n < 0)
                return -1;
        *cs = spool_charset_sniff_result(&s);
        return 0;
}

/* One pass over the bytes of the file from offset `from` to `to` (-1: its
 * end): bytes -> UTF-8 -> step(), whose `end` says the file ended.  A
 * pass that stops short of the end starts and ends at line feeds. */
typedef int (*step_fn)(reader_t *rd, void *reader, const char *utf8, size_t len,
                       int end);

static read_rc_t pass(reader_t *rd, char *buf, spool_charset_t cs, void *reader,
                      step_fn step, off_t from, off_t to)
{
        char why[256];
        spool_charset_conv_t *conv =
            spool_charset_conv_new(cs, why, sizeof(why));
        if (!conv) {
                snprintf(rd->s.why, sizeof(rd->s.why), "%s", why);
                return READ_FAULT;
        }
        read_rc_t rc = READ_OK;
        for (;;) {
                if (spool_stop_asked(&rd->s)) {
                        rc = READ_STOPPED;
                        break;
                }
                size_t want = CHUNK;
                if (to >= 0 && (off_t)want > to - from)
                        want = (size_t)(to - from);
                if (to >= 0 && !want)
                        break; /* the range ends here, not the file */
                ssize_t n = read_chunk(rd, buf, want, from);
                if (n < 0) {
                        rc = READ_FAULT;
                        break;
                }
                from += n;
                const char *out;
                size_t out_len;
                if (spool_charset_conv(conv, buf, (size_t)n, n == 0, &out,
                                       &out_len, why, sizeof(why))) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "%s", why);
                        rc = READ_FAULT;
                        break;
                }
                int s = step(rd, reader, out, out_len, n == 0);
                if (s < 0) {
                        rc = READ_UNREADABLE;
                        break;
                }
                if (rd->s.fault) {
                        rc = READ_FAULT;
                        break;
                }
                if (rd->s.stop || s > 0) {
                        rc = READ_STOPPED;
                        break;
                }
                if (n == 0)
                        break;
        }
        spool_charset_conv_destroy(conv);
        return rc;
}

static read_rc_t csv_rc(reader_t *rd, spool_csvread_rc_t rc)
{
        switch (rc) {
        case SPOOL_CSVREAD_OK:
                return READ_OK;
        case SPOOL_CSVREAD_STOPPED:
                return READ_STOPPED;
        case SPOOL_CSVREAD_BAD_FILE:
                return READ_UNREADABLE;
        case SPOOL_CSVREAD_NOMEM:
                break;
        }
        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
        rd->s.fault = 1;
        return READ_FAULT;
}

/* step results: 0 go on, 1 stop, -1 unreadable */
static int step_of(read_rc_t rc)
{
        return rc == READ_UNREADABLE ? -1 : rc == READ_OK ? 0 : 1;
}

static int csv_scan_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        spool_csvread_rc_t rc = spool_csvread_scan(r, s, len);
        if (rc == SPOOL_CSVREAD_OK && end)
                rc = spool_csvread_scan_end(r);
        return step_of(csv_rc(rd, rc));
}

/* Hand the batch of rows over; 0, or -1 to stop. */
static int hand_rows(reader_t *rd)
{
        if (!rd->rows || !spool_csvread_rows_count(rd->rows))
                return 0;
        rec_t r = {.rows = rd->rows};
        rd->rows = NULL;
        if (spool_handoff_put(rd->s.q, &r)) {
                rd->s.stop = 1;
                return -1;
        }
        return 0;
}

/* Pass 2 of a CSV file: its bytes parsed into rows, ROWS_SLICE at a time,
 * for the publishing thread to build the reports from. */
static int csv_rows_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        spool_csvread_rc_t rc = SPOOL_CSVREAD_OK;
        do {
                size_t n = len < ROWS_SLICE ? len : ROWS_SLICE;
                if (!rd->rows && !(rd->rows = spool_csvread_rows_new()))
                        rc = SPOOL_CSVREAD_NOMEM;
                if (rc == SPOOL_CSVREAD_OK)
                        rc = spool_csvread_feed_rows(r, s, n, rd->rows);
                if (rc == SPOOL_CSVREAD_OK && end && n == len)
                        rc = spool_csvread_end_rows(r, rd->rows);
                if (rc == SPOOL_CSVREAD_OK && spool_stop_asked(&rd->s)) {
                        rd->s.stop = 1;
                        return 1;
                }
                if (rc == SPOOL_CSVREAD_OK && hand_rows(rd))
                        return 1;
                s += n;
                len -= n;
        } while (rc == SPOOL_CSVREAD_OK && len > 0);
        return step_of(csv_rc(rd, rc));
}

/* The batch of lines to the next parser; 0, or -1 to stop. */
static int hand_lines(reader_t *rd)
{
        if (!rd->lines || !spool_jsonlread_lines_count(rd->lines))
                return 0;
        rec_t r = {.lines = rd->lines};
        rd->lines = NULL;
        if (spool_handoff_put(rd->pq[rd->next], &r)) {
                rd->s.stop = 1;
                return -1;
        }
        rd->next = (rd->next + 1) % PARSERS;
        return 0;
}

/* JSON Lines: the bytes split into batches of whole lines, LINES_SLICE at
 * a time, for the parsers in turn. */
static int jsonl_split_step(reader_t *rd, void *reader, const char *s,
                            size_t len, int end)
{
        spool_jsonlread_t *r = reader;
        spool_jsonlread_rc_t rc = SPOOL_JSONLREAD_OK;
        do {
                size_t n = len < LINES_SLICE ? len : LINES_SLICE;
                if (!rd->lines && !(rd->lines = spool_jsonlread_lines_new()))
                        rc = SPOOL_JSONLREAD_NOMEM;
                if (rc == SPOOL_JSONLREAD_OK)
                        rc = spool_jsonlread_split(r, s, n, end && n == len,
                                                   rd->lines);
                if (rc == SPOOL_JSONLREAD_NOMEM) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                        rd->s.fault = 1;
                        return 1;
                }
                if (spool_stop_asked(&rd->s)) {
                        rd->s.stop = 1;
                        return 1;
                }
                if (hand_lines(rd))
                        return 1;
                s += n;
                len -= n;
        } while (len > 0);
        return 0;
}

/* ------------------------------------------------------------------------
 * The scan pass of a big CSV file in two halves, on two threads: this one
 * scans up to a line feed near the middle, a helper thread reads the header
 * and scans from there to the end, and spool_csvread joins the two (or, when
 * the seam turns out to be inside a quoted field, this thread goes on alone
 * from the middle).
 */

typedef struct {
        reader_t rd; /* a copy: its own errors; the same descriptor */
        spool_charset_t cs;
        spool_csvread_t *csv;
        off_t from;
        read_rc_t rc;
} half_t;

/* The head of the file, a line at a time, until the header was taken
 * (then 1: stop). */
static int csv_head_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        while (len > 0 && !spool_csvread_has_header(r)) {
                size_t n = 0;
                while (n < len && s[n] != '\n' && s[n] != '\r')
                        n++;
                if (n < len)
                        n++;
                int st = step_of(csv_rc(rd, spool_csvread_scan(r, s, n)));
                if (st)
                        return st;
                s += n;
                len -= n;
        }
        return spool_csvread_has_header(r);
}

static void *half_main(void *arg)
{
        half_t *h = arg;
        char *buf = malloc(CHUNK);
        h->rc = READ_FAULT;
        if (buf) {
                h->rc =
                    pass(&h->rd, buf, h->cs, h->csv, csv_head_step, 0, h->from);
                if (spool_csvread_has_header(h->csv) &&
                    spool_csvread_scan_resume(h->csv) == SPOOL_CSVREAD_OK)
                        h->rc = pass(&h->rd, buf, h->cs, h->csv, csv_scan_step,
                                     h->from, -1);
        }
        free(buf);
        return NULL;
}

/* Where to split the scan: just after the first line feed past the
 * middle of a big file; 0 for a file scanned in one piece. */
static off_t seam(reader_t *rd, char *buf)
{
        struct stat st;
        if (fstat(rd->fd, &st) || st.st_size < SPLIT_MIN)
                return 0;
        off_t mid = st.st_size / 2;
        ssize_t n = read_chunk(rd, buf, CHUNK, mid);
        const char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
        return nl && mid + (nl - buf) + 1 < st.st_size ? mid + (nl - buf) + 1
                                                       : 0;
}

static read_rc_t scan(reader_t *rd, char *buf, spool_charset_t cs,
                      spool_csvread_t *r, const spool_csvread_opts_t *o)
{
        off_t m = seam(rd, buf);
        rd->s.why[0] = '\0';
        if (!m)
                return pass(rd, buf, cs, r, csv_scan_step, 0, -1);
        half_t h = {
            .rd = *rd, .cs = cs, .csv = spool_csvread_new(o), .from = m};
        pthread_t tid;
        if (!h.csv || pthread_create(&tid, NULL, half_main, &h)) {
                spool_csvread_destroy(h.csv);
                return pass(rd, buf, cs, r, csv_scan_step, 0, -1);
        }
        read_rc_t rc = pass(rd, buf, cs, r, csv_scan_step, 0, m);
        pthread_join(tid, NULL);
        spool_csvread_rc_t jrc;
        if (rc == READ_OK && h.rc != READ_FAULT &&
            spool_csvread_scan_join(r, h.csv, &jrc))
                rc = step_of(csv_rc(rd, jrc)) < 0 ? READ_UNREADABLE
                     : jrc == SPOOL_CSVREAD_OK    ? READ_OK
                                                  : READ_FAULT;
        else if (rc == READ_OK)
                rc = pass(rd, buf, cs, r, csv_scan_step, m, -1);
        spool_csvread_destroy(h.csv);
        return rc;
}

/* After the scan: the reader that builds the reports, for the publishing
 * thread. */
static read_rc_t hand_builder(reader_t *rd, spool_csvread_t *scanned,
                              const spool_csvread_opts_t *o)
{
        rec_t r = {.builder = spool_csvread_new(o)};
        if (!r.builder) {
                snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                rd->s.fault = 1;
                return READ_FAULT;
        }
        spool_csvread_adopt_scan(r.builder, scanned);
        if (spool_handoff_put(rd->s.q, &r)) {
                rd->s.stop = 1;
                return READ_STOPPED;
        }
        return READ_OK;
}

static read_rc_t read_file(reader_t *rd)
{
        char *buf = malloc(CHUNK);
        if (!buf) {
                snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                return READ_FAULT;
        }
        spool_charset_t cs;
        read_rc_t rc = READ_FAULT;
        if (sniff(rd, buf, &cs)) {
                free(buf);
                return READ_FAULT;
        }
        ql_result_opts_t vopts = {rd->s.ctx->uscc_mode, rd->s.ctx->lab};
        if (rd->kind == SPOOL_NAME_CSV) {
                spool_csvread_opts_t o = {.validate = vopts,
                                          .charset = spool_charset_name(cs)};
                spool_csvread_t *r = spool_csvread_new(&o);
                if (!r) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                } else {
                        rc = scan(rd, buf, cs, r, &o);
                        if (rc == READ_OK) {
                                rd->tracking_full =
                                    spool_csvread_tracking_full(r);
                                spool_problems_copy(
                                    &rd->file_warnings,
                                    spool_csvread_warnings(r, &rd->warn_line));
                        }
                        if (rc == READ_OK)
                                rc = hand_builder(rd, r, &o);
                        if (rc == READ_OK)
                                rc = pass(rd, buf, cs, r, csv_rows_step, 0, -1);
                        spool_csvread_rows_destroy(rd->rows);
                        rd->rows = NULL;
                        if (rc == READ_UNREADABLE) {
                                spool_problems_copy(
                                    &rd->file_problems,
                                    spool_csvread_problems(r, &rd->file_line));
                                if (!rd->file_problems.n) {
                                        snprintf(rd->s.why, sizeof(rd->s.why),
                                                 "out of memory");
                                        rc = READ_FAULT;
                                }
                        }
                }
                spool_csvread_destroy(r);
        } else {
                spool_jsonlread_opts_t o = {.validate = vopts,
                                            .charset = spool_charset_name(cs)};
                spool_jsonlread_t *r = spool_jsonlread_new(&o);
                rc = r ? READ_OK : READ_FAULT;
                for (size_t i = 0; i < PARSERS && rc == READ_OK; i++) {
                        rec_t p = {.parser = spool_jsonlread_new(&o)};
                        if (!p.parser)
                                rc = READ_FAULT;
                        else if (spool_handoff_put(rd->pq[i], &p))
                                rc = READ_STOPPED;
                }
                if (rc == READ_FAULT)
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                if (rc == READ_OK)
                        rc = pass(rd, buf, cs, r, jsonl_split_step, 0, -1);
                spool_jsonlread_lines_destroy(rd->lines);
                rd->lines = NULL;
                spool_jsonlread_destroy(r);
        }
        free(buf);
        if (rd->s.fault && rc != READ_UNREADABLE)
                rc = READ_FAULT;
        return rc;
}

void *spool_reader_main(void *arg)
{
        reader_t *rd = arg;
        rd->rc = read_file(rd);
        if (rd->s.q)
                spool_handoff_finish(rd->s.q);
        for (size_t i = 0; i < PARSERS; i++)
                if (rd->pq[i])
                        spool_handoff_finish(rd->pq[i]);
        return NULL;
}
