/*
 * ql-simlab: simulated inspection labs.  Writes deterministic synthetic
 * spot-check results (seeded) as JSONL or CSV, UTF-8 or GB18030, or posts
 * them to a ql-gateway, for the demo, the tests and the benchmarks.  This
 * file parses the options, opens the output and drives the generator
 * (simlab_gen) into the writer (simlab_out) or the gateway client
 * (simlab_post); with --validate every document is first checked with
 * ql_result_validate, the same check every producer applies.  With --acts
 * the officers' acts on the results still open are written at the end
 * (simlab_acts); --catalogue prints the categories and items drawn from.
 *
 * Exit status: 0 done (with --post: every document accepted), 1 failure
 * (output, memory, an invalid document, the gateway unreachable or
 * answering 503 after the retries), 2 bad usage, 3 the gateway rejected
 * some requests (each printed).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ql_result.h"
#include "ql_time.h"
#include "simlab_acts.h"
#include "simlab_catalogue.h"
#include "simlab_gen.h"
#include "simlab_out.h"
#include "simlab_post.h"

#define DEFAULT_COUNT         1000
#define DEFAULT_NONCONFORMING 0.1
#define DEFAULT_RECHECK       0.6
#define DEFAULT_START         "2025-01-01"

static void usage(FILE *out)
{
        double mean = DEFAULT_NONCONFORMING;
        fprintf(
            out,
            "Usage: ql-simlab [OPTION]...\n"
            "Simulated inspection labs: deterministic synthetic "
            "product-quality\n"
            "spot-check results from enterprises in Xiamen's districts, as a\n"
            "lab's LIMS would export them.  The same options give the same "
            "bytes.\n"
            "\n"
            "  --seed N              random seed (default 1)\n"
            "  --count N             documents to write, follow-ups and "
            "duplicates\n"
            "                        included (default %d; huli: %d)\n"
            "  --nonconforming SHARE mean share of supervision results that "
            "are\n"
            "                        NONCONFORMING (default %.1f); the share "
            "differs by\n"
            "                        stage and product category (at the "
            "default:\n"
            "                        production %.1f%%, circulation %.1f%%, "
            "e-commerce\n"
            "                        %.1f%%; illustrative rates, not "
            "statistics)\n"
            "  --recheck-share SHARE share of nonconforming results rechecked "
            "(复查)\n"
            "                        within 75 days of the order to rectify "
            "(default\n"
            "                        %.1f); about 4%% are retested (复检) "
            "within 15 days\n"
            "                        of being served the result\n"
            "  --duplicates SHARE    share of documents that repeat a recent "
            "one\n"
            "                        unchanged (default 0)\n"
            "  --lab CODE            every result from lab CODE (default: "
            "XMQI, FJQI,\n"
            "                        FJFI and XMEB by product category)\n"
            "  --start-date DATE     first report day, YYYY-MM-DD (default "
            "%s);\n"
            "                        results spread over two years\n"
            "  --scenario huli       湖里区 (350206): %d results by default, "
            "exactly\n"
            "                        %d nonconforming supervision results, "
            "%d of\n"
            "                        them cleared by a recheck or voided by "
            "a retest,\n"
            "                        %d failing their recheck; %d "
            "refusals\n"
            "  --acts FILE           also write the officers' acts on the "
            "results still\n"
            "                        open at the end (served, re-test "
            "applied for,\n"
            "                        order to rectify with its number, "
            "announcement) as\n"
            "                        a psql script to run as an officer after "
            "the\n"
            "                        triage (ql.record_act)\n"
            "  --format jsonl|csv    output format (default jsonl)\n"
            "  --headers en|zh       CSV headers and cell words (default en)\n"
            "  --encoding utf8|gb18030  output encoding (default utf8)\n"
            "  --bom                 start UTF-8 output with a byte-order "
            "mark\n"
            "  --out FILE|-          output file (default -, standard output)\n"
            "  --validate            check every document with the producers'\n"
            "                        validation; stop at the first invalid "
            "one\n"
            "  --catalogue           print every product category and "
            "inspection item\n"
            "                        drawn from, one JSON object a line "
            "(category,\n"
            "                        item, importance, safety), and exit\n"
            "  -h, --help            this help\n"
            "\n"
            "Posting to a ql-gateway instead of writing (the same documents):\n"
            "  --post URL            POST them to URL, e.g.\n"
            "                        http://127.0.0.1:8080/v1/results\n"
            "  --token TOKEN         the lab's bearer token (visible in ps)\n"
            "  --token-file FILE     read the token from FILE's first line\n"
            "  --batch N             documents per request, 1-%d (default "
            "%d;\n"
            "                        1 sends each document alone, not in an "
            "array)\n"
            "  --retries N           repeats of a request answered 503 or not "
            "at all,\n"
            "                        with growing pauses (default %d)\n"
            "A rejected request (400, 401, 403, 413, 415, ...) is printed "
            "with the\n"
            "gateway's error body and the next one is sent; one summary line "
            "ends the\n"
            "run.  Exit 0 when all were accepted, 3 when some were rejected, "
            "1 when\n"
            "the gateway could not be reached (or kept answering 503).\n",
            DEFAULT_COUNT, SIMLAB_HULI_COUNT, DEFAULT_NONCONFORMING,
            100 * simlab_nc_rate(mean, 0, -1),
            100 * simlab_nc_rate(mean, 1, -1),
            100 * simlab_nc_rate(mean, 2, -1), DEFAULT_RECHECK, DEFAULT_START,
            SIMLAB_HULI_COUNT, SIMLAB_HULI_NONCONFORMING, SIMLAB_HULI_CLEARED,
            SIMLAB_HULI_FAILED, SIMLAB_HULI_REFUSED, SIMLAB_POST_MAX_BATCH,
            SIMLAB_POST_DEFAULT_BATCH, SIMLAB_POST_DEFAULT_RETRIES);
}

static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "ql-simlab: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'ql-simlab --help'.\n");
        return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
        char *end;
        if (!*s || *s == '-' || *s == '+')
                return -1;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -1;
        *out = v;
        return 0;
}

static int parse_share(const char *s, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1)
                return -1;
        *out = v;
        return 0;
}

static int valid_lab_code(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 32)
                return 0;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_-.") == n;
}

typedef struct {
        simlab_opts_t gen;
        simlab_format_t format;
        ql_csv_lang_t headers;
        simlab_encoding_t encoding;
        int bom;
        int validate;
        int catalogue;
        const char *out;
        const char *acts;       /* --acts FILE, or NULL */
        const char *post;       /* gateway URL, or NULL to write */
        const char *token;      /* --token */
        const char *token_file; /* --token-file */
        long batch;
        int retries;
} options_t;

enum {
        OPT_SEED = 256,
        OPT_COUNT,
        OPT_NONCONFORMING,
        OPT_RECHECK,
        OPT_DUPLICATES,
        OPT_LAB,
        OPT_START,
        OPT_SCENARIO,
        OPT_FORMAT,
        OPT_HEADERS,
        OPT_ENCODING,
        OPT_BOM,
        OPT_OUT,
        OPT_VALIDATE,
        OPT_POST,
        OPT_TOKEN,
        OPT_TOKEN_FILE,
        OPT_BATCH,
        OPT_RETRIES,
        OPT_ACTS,
        OPT_CATALOGUE,
};

/* 0 to run, 1 when --help was printed, 2 on bad usage (message printed). */
static int parse_options(int argc, char **argv, options_t *o)
{
        static const struct option longopts[] = {
            {"seed", required_argument, NULL, OPT_SEED},
            {"count", required_argument, NULL, OPT_COUNT},
            {"nonconforming", required_argument, NULL, OPT_NONCONFORMING},
            {"recheck-share", required_argument, NULL, OPT_RECHECK},
            {"duplicates", required_argument, NULL, OPT_DUPLICATES},
            {"lab", required_argument, NULL, OPT_LAB},
            {"start-date", required_argument, NULL, OPT_START},
            {"scenario", required_argument, NULL, OPT_SCENARIO},
            {"format", required_argument, NULL, OPT_FORMAT},
            {"headers", required_argument, NULL, OPT_HEADERS},
            {"encoding", required_argument, NULL, OPT_ENCODING},
            {"bom", no_argument, NULL, OPT_BOM},
            {"out", required_argument, NULL, OPT_OUT},
            {"validate", no_argument, NULL, OPT_VALIDATE},
            {"post", required_argument, NULL, OPT_POST},
            {"token", required_argument, NULL, OPT_TOKEN},
            {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
            {"batch", required_argument, NULL, OPT_BATCH},
            {"retries", required_argument, NULL, OPT_RETRIES},
            {"acts", required_argument, NULL, OPT_ACTS},
            {"catalogue", no_argument, NULL, OPT_CATALOGUE},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int count_given = 0, share_given = 0, headers_given = 0;
        int output_given = 0, batch_given = 0, retries_given = 0;
        uint64_t u;

        memset(o, 0, sizeof(*o));
        o->gen.seed = 1;
        o->gen.count = DEFAULT_COUNT;
        o->gen.nonconforming = DEFAULT_NONCONFORMING;
        o->gen.recheck_share = DEFAULT_RECHECK;
        ql_time_parse_date(DEFAULT_START, &o->gen.start_day);
        o->format = SIMLAB_JSONL;
        o->headers = QL_CSV_EN;
        o->encoding = SIMLAB_UTF8;
        o->out = "-";
        o->batch = SIMLAB_POST_DEFAULT_BATCH;
        o->retries = SIMLAB_POST_DEFAULT_RETRIES;

        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 1;
                case OPT_SEED:
                        if (parse_u64(optarg, &o->gen.seed))
                                return bad_usage("--seed '%s': not an "
                                                 "unsigned number",
                                                 optarg);
                        break;
                case OPT_COUNT:
                        if (parse_u64(optarg, &u) || u > 100000000)
                                return bad_usage("--count '%s': not a number "
                                                 "from 0 to 100000000",
                                                 optarg);
                        o->gen.count = (long)u;
                        count_given = 1;
                        break;
                case OPT_NONCONFORMING:
                        if (parse_share(optarg, &o->gen.nonconforming))
                                return bad_usage("--nonconforming '%s': not a "
                                                 "share from 0 to 1",
                                                 optarg);
                        share_given = 1;
                        break;
                case OPT_RECHECK:
                        if (parse_share(optarg, &o->gen.recheck_share))
                                return bad_usage("--recheck-share '%s': not a "
                                                 "share from 0 to 1",
                                                 optarg);
                        share_given = 1;
                        break;
                case OPT_DUPLICATES:
                        if (parse_share(optarg, &o->gen.duplicates) ||
                            o->gen.duplicates >= 1)
                                return bad_usage("--duplicates '%s': not a "
                                                 "share from 0 to below 1",
                                                 optarg);
                        break;
                case OPT_LAB:
                        if (!valid_lab_code(optarg))
                                return bad_usage(
                                    "--lab '%s': a lab code is 1-32 letters, "
                                    "digits, '_', '-' or '.'",
                                    optarg);
                        o->gen.lab = optarg;
                        break;
                case OPT_START:
                        if (ql_time_parse_date(optarg, &o->gen.start_day))
                                return bad_usage("--start-date '%s': not a "
                                                 "date YYYY-MM-DD",
                                                 optarg);
                        break;
                case OPT_SCENARIO:
                        if (strcmp(optarg, "huli"))
                                return bad_usage("--scenario '%s': the only "
                                                 "scenario is huli",
                                                 optarg);
                        o->gen.huli = 1;
                        break;
                case OPT_FORMAT:
                        if (!strcmp(optarg, "jsonl"))
                                o->format = SIMLAB_JSONL;
                        else if (!strcmp(optarg, "csv"))
                                o->format = SIMLAB_CSV, output_given = 1;
                        else
                                return bad_usage("--format '%s': jsonl or "
                                                 "csv",
                                                 optarg);
                        break;
                case OPT_HEADERS:
                        if (!strcmp(optarg, "en"))
                                o->headers = QL_CSV_EN;
                        else if (!strcmp(optarg, "zh"))
                                o->headers = QL_CSV_ZH;
                        else
                                return bad_usage("--headers '%s': en or zh",
                                                 optarg);
                        headers_given = 1;
                        break;
                case OPT_ENCODING:
                        if (!strcmp(optarg, "utf8") || !strcmp(optarg, "utf-8"))
                                o->encoding = SIMLAB_UTF8;
                        else if (!strcmp(optarg, "gb18030"))
                                o->encoding = SIMLAB_GB18030;
                        else
                                return bad_usage("--encoding '%s': utf8 or "
                                                 "gb18030",
                                                 optarg);
                        output_given |= o->encoding != SIMLAB_UTF8;
                        break;
                case OPT_BOM:
                        o->bom = 1;
                        break;
                case OPT_OUT:
                        o->out = optarg;
                        output_given = 1;
                        break;
                case OPT_VALIDATE:
                        o->validate = 1;
                        break;
                case OPT_POST:
                        if (strncmp(optarg, "http://", 7) &&
                            strncmp(optarg, "https://", 8))
                                return bad_usage("--post '%s': an http:// or "
                                                 "https:// URL",
                                                 optarg);
                        o->post = optarg;
                        break;
                case OPT_TOKEN:
                        if (!*optarg)
                                return bad_usage("--token: empty");
                        o->token = optarg;
                        break;
                case OPT_TOKEN_FILE:
                        o->token_file = optarg;
                        break;
                case OPT_BATCH:
                        if (parse_u64(optarg, &u) || u < 1 ||
                            u > SIMLAB_POST_MAX_BATCH)
                                return bad_usage("--batch '%s': not a number "
                                                 "from 1 to %d",
                                                 optarg, SIMLAB_POST_MAX_BATCH);
                        o->batch = (long)u;
                        batch_given = 1;
                        break;
                case OPT_RETRIES:
                        if (parse_u64(optarg, &u) || u > 1000)
                                return bad_usage("--retries '%s': not a number "
                                                 "from 0 to 1000",
                                                 optarg);
                        o->retries = (int)u;
                        retries_given = 1;
                        break;
                case OPT_ACTS:
                        if (!*optarg)
                                return bad_usage("--acts: empty file name");
                        o->acts = optarg;
                        break;
                case OPT_CATALOGUE:
                        o->catalogue = 1;
                        break;
                default:
                        return bad_usage("unknown or incomplete option '%s'",
                                         argv[optind - 1]);
                }
        }
        if (optind < argc)
                return bad_usage("unexpected argument '%s'", argv[optind]);
        if (headers_given && o->format != SIMLAB_CSV)
                return bad_usage("--headers applies to --format csv");
        if (o->bom && o->encoding != SIMLAB_UTF8)
                return bad_usage("--bom applies to --encoding utf8");
        if (o->post) {
                if (output_given || o->bom || headers_given)
                        return bad_usage("--post sends JSON documents: no "
                                         "--out, --format csv, --encoding or "
                                         "--bom");
                if (!o->token == !o->token_file)
                        return bad_usage("--post needs --token or "
                                         "--token-file (one of them)");
        } else if (o->token || o->token_file || batch_given || retries_given) {
                return bad_usage("--token, --token-file, --batch and "
                                 "--retries apply to --post");
        }
        if (o->gen.huli && share_given)
                return bad_usage("--scenario huli fixes the nonconforming and "
                                 "recheck shares");
        if (o->gen.huli && !count_given)
                o->gen.count = SIMLAB_HULI_COUNT;
        if (o->acts && !strcmp(o->acts, "-") && !o->post &&
            !strcmp(o->out, "-"))
                return bad_usage("--acts - and the documents would both go "
                                 "to standard output");
        if (o->catalogue && argc > 2)
                return bad_usage("--catalogue takes no other option");
        return 0;
}

/* Report the problems of an invalid document; returns 1. */
static int report_invalid(const json_t *doc, long n,
                          const ql_problems_t *errors)
{
        const char *id = json_string_value(json_object_get(doc, "result_id"));
        for (size_t i = 0; i < errors->n; i++)
                fprintf(
                    stderr, "ql-simlab: document %ld (%s) is invalid: %s: %s\n",
                    n, id ? id : "?", errors->v[i].field, errors->v[i].message);
        return 1;
}

/* The token of --token-file: the first line, without its line end and
 * trailing blanks.  NULL (message printed) if unreadable or empty; else
 * yours to wipe and free. */
static char *read_token(const char *path)
{
        char line[4096];
        FILE *fp = fopen(path, "r");
        if (!fp) {
                fprintf(stderr, "ql-simlab: --token-file %s: %s\n", path,
                        strerror(errno));
                return NULL;
        }
        int got = fgets(line, sizeof(line), fp) != NULL;
        fclose(fp);
        size_t n = got ? strlen(line) : 0;
        while (n && strchr(" \t\r\n", line[n - 1]))
                n--;
        line[n] = '\0';
        char *token = n ? strdup(line) : NULL;
        memset(line, 0, sizeof(line));
        if (!token)
                fprintf(stderr, "ql-simlab: --token-file %s: %s\n", path,
                        n ? "out of memory" : "no token on its first line");
        return token;
}

static double seconds_since(const struct timespec *t0)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) +
               (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Generate the documents into the writer on fp or, with --post, to the
 * gateway with token; then, with --acts, the acts onto acts_fp.  Returns
 * the exit status. */
static int run(const options_t *o, FILE *fp, const char *token, FILE *acts_fp)
{
        char err[512];
        int status = 0;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        simlab_opts_t gopts = o->gen;
        simlab_acts_t *acts = NULL;
        simlab_gen_t *gen = NULL;
        if (o->acts && !(acts = simlab_acts_new()))
                snprintf(err, sizeof(err), "out of memory");
        else {
                gopts.acts = acts;
                gen = simlab_gen_new(&gopts, err, sizeof(err));
        }
        simlab_out_t *out = NULL;
        simlab_post_t *post = NULL;
        const char *sink = o->post ? o->post : o->out;
        if (gen && o->post) {
                simlab_post_opts_t popts = {o->post, token, o->batch,
                                            o->retries, stderr};
                post = simlab_post_new(&popts, err, sizeof(err));
        } else if (gen) {
                out = simlab_out_new(fp, o->format, o->headers, o->encoding,
                                     o->bom, err, sizeof(err));
        }
        ql_problems_t errors = {0};
        ql_result_opts_t vopts = {QL_USCC_STRICT, o->gen.lab};
        json_t *doc = NULL;
        long n = 0;
        int rc;

        if (!out && !post) {
                fprintf(stderr, "ql-simlab: %s\n", err);
                status = 1;
                goto done;
        }
        while ((rc = simlab_gen_next(gen, &doc, err, sizeof(err))) == 1) {
                n++;
                if (o->validate &&
                    ql_result_validate(doc, &vopts, &errors, NULL)) {
                        status = report_invalid(doc, n, &errors);
                        break;
                }
                if (post ? simlab_post_add(post, doc, err, sizeof(err))
                         : simlab_out_write(out, doc, err, sizeof(err))) {
                        fprintf(stderr, "ql-simlab: %s: %s\n", sink, err);
                        status = 1;
                        break;
                }
                json_decref(doc);
                doc = NULL;
        }
        if (rc < 0) {
                fprintf(stderr, "ql-simlab: %s\n", err);
                status = 1;
        }
        if (!status && (post ? simlab_post_finish(post, err, sizeof(err))
                             : simlab_out_finish(out, err, sizeof(err)))) {
                fprintf(stderr, "ql-simlab: %s: %s\n", sink, err);
                status = 1;
        }
        if (post) {
                simlab_post_stats_t st;
                simlab_post_stats(post, &st);
                fprintf(stderr,
                        "ql-simlab: %ld requests, %ld accepted, %ld "
                        "rejected, %ld retries, %.2f s\n",
                        st.requests, st.accepted, st.rejected, st.retries,
                        seconds_since(&t0));
                if (!status && st.rejected)
                        status = 3;
        }
        if (acts && !status &&
            simlab_acts_write(acts, acts_fp, simlab_gen_today(gen), err,
                              sizeof(err))) {
                fprintf(stderr, "ql-simlab: %s: %s\n", o->acts, err);
                status = 1;
        }
done:
        json_decref(doc);
        ql_problems_clear(&errors);
        simlab_post_destroy(post);
        simlab_out_destroy(out);
        simlab_gen_destroy(gen);
        simlab_acts_destroy(acts);
        return status;
}

static int post_main(const options_t *o, FILE *acts_fp)
{
        char *owned = o->token_file ? read_token(o->token_file) : NULL;
        if (o->token_file && !owned)
                return 1;
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
                fprintf(stderr, "ql-simlab: libcurl could not start\n");
                free(owned);
                return 1;
        }
        int status = run(o, NULL, owned ? owned : o->token, acts_fp);
        curl_global_cleanup();
        if (owned) {
                memset(owned, 0, strlen(owned));
                free(owned);
        }
        return status;
}

/* --catalogue: one compact JSON object a line.  Returns the exit status. */
static int print_catalogue(void)
{
        for (size_t i = 0; i < simlab_ncategories; i++) {
                const simlab_category_t *c = &simlab_categories[i];
                for (size_t j = 0; j < c->nitems; j++) {
                        const simlab_item_t *it = &c->items[j];
                        const char imp[2] = {it->importance, '\0'};
                        json_t *line = json_pack(
                            "{s:s, s:s, s:s, s:b}", "category", c->name, "item",
                            it->name, "importance", imp, "safety", it->safety);
                        char *text =
                            line ? json_dumps(line, JSON_COMPACT |
                                                        JSON_PRESERVE_ORDER)
                                 : NULL;
                        json_decref(line);
                        if (!text) {
                                fprintf(stderr, "ql-simlab: out of memory\n");
                                return 1;
                        }
                        int bad = puts(text) == EOF;
                        free(text);
                        if (bad)
                                break;
                }
        }
        if (fflush(stdout) || ferror(stdout)) {
                fprintf(stderr, "ql-simlab: standard output: %s\n",
                        strerror(errno));
                return 1;
        }
        return 0;
}

/* Open PATH for writing, "-" being standard output; NULL with the reason
 * printed. */
static FILE *open_out(const char *path)
{
        FILE *fp = strcmp(path, "-") ? fopen(path, "wb") : stdout;
        if (!fp)
                fprintf(stderr, "ql-simlab: cannot open %s: %s\n", path,
                        strerror(errno));
        return fp;
}

/* Close what open_out opened; status, or 1 if it was 0 and closing
 * failed (message printed). */
static int close_out(FILE *fp, const char *path, int status)
{
        if (fp && fp != stdout && fclose(fp) && !status) {
                fprintf(stderr, "ql-simlab: %s: %s\n", path, strerror(errno));
                status = 1;
        }
        return status;
}

int main(int argc, char **argv)
{
        options_t o;
        int rc = parse_options(argc, argv, &o);
        if (rc)
                return rc == 1 ? 0 : rc;
        if (o.catalogue)
                return print_catalogue();

        /* Both files are opened before anything is generated: a path that
         * cannot be written stops the run at once. */
        FILE *acts_fp = o.acts ? open_out(o.acts) : NULL;
        if (o.acts && !acts_fp)
                return 1;
        int status;
        if (o.post) {
                status = post_main(&o, acts_fp);
        } else {
                FILE *fp = open_out(o.out);
                status = fp ? run(&o, fp, NULL, acts_fp) : 1;
                status = close_out(fp, o.out, status);
        }
        return close_out(acts_fp, o.acts, status);
}
