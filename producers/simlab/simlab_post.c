/*
 * simlab_post: the gateway client.  Documents wait in a JSON array until a
 * batch is full; the batch is then serialised once (compact UTF-8, as
 * jansson writes it) and posted with a libcurl easy handle that keeps its
 * connection between requests.  The answer body is gathered into a
 * buffer: the accepted ids of a 202, the error object of a rejection.
 */
#include "simlab_post.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 10000L
#define REQUEST_TIMEOUT_MS 60000L /* the gateway answers 503 after 10 s */
#define RETRY_AFTER_MAX_MS 30000L
#define ANSWER_MAX         65536 /* more of an answer body is dropped */

struct simlab_post_s {
        CURL *curl;
        struct curl_slist *headers; /* holds the token */
        long batch;
        int retries;
        FILE *log;
        json_t *pending; /* the batch being gathered */
        long first;      /* 1-based number of pending's first document */
        char *answer;    /* body of the last answer, NUL-terminated */
        size_t answer_len;
        simlab_post_stats_t stats;
        char curl_err[CURL_ERROR_SIZE];
};

static size_t on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
        simlab_post_t *p = arg;
        size_t n = size * nmemb;
        size_t keep = n;
        if (p->answer_len + keep > ANSWER_MAX)
                keep = ANSWER_MAX - p->answer_len;
        memcpy(p->answer + p->answer_len, data, keep);
        p->answer_len += keep;
        p->answer[p->answer_len] = '\0';
        return n;
}

/* The bearer header, wiped from our memory once libcurl has its copy. */
static struct curl_slist *add_auth(struct curl_slist *list, const char *token)
{
        static const char prefix[] = "Authorization: Bearer ";
        size_t n = sizeof(prefix) + strlen(token);
        char *line = malloc(n);
        if (!line)
                return NULL;
        snprintf(line, n, "%s%s", prefix, token);
        struct curl_slist *l = curl_slist_append(list, line);
        volatile char *v = line;
        for (size_t i = 0; i < n; i++)
                v[i] = 0;
        free(line);
        return l;
}

static int set_error(char *errstr, size_t errstr_size, const char *what)
{
        snprintf(errstr, errstr_size, "%s", what);
        return -1;
}

simlab_post_t *simlab_post_new(const simlab_post_opts_t *opts, char *errstr,
                               size_t errstr_size)
{
        if (opts->batch < 1 || opts->batch > SIMLAB_POST_MAX_BATCH ||
            opts->retries < 0 || !opts->url || !opts->token) {
                set_error(errstr, errstr_size, "bad gateway options");
                return NULL;
        }
        simlab_post_t *p = calloc(1, sizeof(*p));
        if (!p) {
                set_error(errstr, errstr_size, "out of memory");
                return NULL;
        }
        p->batch = opts->batch;
        p->retries = opts->retries;
        p->log = opts->log ? opts->log : stderr;
        p->first = 1;
        p->pending = json_array();
        p->answer = malloc(ANSWER_MAX + 1);
        p->curl = curl_easy_init();
        struct curl_slist *h = NULL, *next;
        /* Each append returns the list or NULL; on NULL the list so far is
         * kept in h and freed below. */
        if ((next = curl_slist_append(h, "Content-Type: application/json")))
                h = next;
        if (next && (next = curl_slist_append(h, "Expect:")))
                h = next; /* no 100-continue round trip */
        if (next && (next = add_auth(h, opts->token)))
                h = next;
        p->headers = h;
        if (!next || !p->pending || !p->answer || !p->curl) {
                set_error(errstr, errstr_size,
                          "out of memory (or libcurl could not start)");
                simlab_post_destroy(p);
                return NULL;
        }
        p->answer[0] = '\0';

        CURL *c = p->curl;
        CURLcode rc = CURLE_OK;
        /* Later options are set only while the earlier ones took. */
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_URL, opts->url);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "ql-simlab");
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                                      CONNECT_TIMEOUT_MS);
        if (!rc)
                rc =
                    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
        if (!rc)
                rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->curl_err);
        if (rc) {
                snprintf(errstr, errstr_size, "--post %s: %s", opts->url,
                         curl_easy_strerror(rc));
                simlab_post_destroy(p);
                return NULL;
        }
        return p;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) == -1)
                ;
}

/* The pause before repeat number `attempt` (0 for the first repeat). */
static long backoff_ms(const simlab_post_t *p, int attempt)
{
        long ms = SIMLAB_POST_BACKOFF_MS;
        for (int i = 0; i < attempt && ms < SIMLAB_POST_BACKOFF_MAX_MS; i++)
                ms *= 2;
        if (ms > SIMLAB_POST_BACKOFF_MAX_MS)
                ms = SIMLAB_POST_BACKOFF_MAX_MS;
        curl_off_t after = 0;
        if (curl_easy_getinfo(p->curl, CURLINFO_RETRY_AFTER, &after) ==
                CURLE_OK &&
            after > 0) {
                long asked = after > RETRY_AFTER_MAX_MS / 1000
                                 ? RETRY_AFTER_MAX_MS
                                 : (long)after * 1000;
                if (asked > ms)
                        ms = asked;
        }
        return ms;
}

/* Documents a 202 answer says were accepted: its "accepted" ids, or the
 * batch if the answer does not list them. */
static long accepted_count(const simlab_post_t *p, long n)
{
        json_t *a = json_loadb(p->answer, p->answer_len, 0, NULL);
        json_t *ids = json_object_get(a, "accepted");
        long got = json_is_array(ids) ? (long)json_array_size(ids) : n;
        json_decref(a);
        return got;
}

static void report_rejection(simlab_post_t *p, long status, long n)
{
        size_t len = p->answer_len;
        while (len && strchr(" \t\r\n", p->answer[len - 1]))
                len--;
        fprintf(p->log,
                "ql-simlab: request %ld (documents %ld-%ld): HTTP %ld: %.*s\n",
                p->stats.requests, p->first, p->first + n - 1, status,
                len ? (int)len : 9, len ? p->answer : "(no body)");
}

/* Post the pending batch (see simlab_post.h for what each answer does). */
static int send_pending(simlab_post_t *p, char *errstr, size_t errstr_size)
{
        long n = (long)json_array_size(p->pending);
        if (n == 0)
                return 0;
        const json_t *what = n == 1 && p->batch == 1
                                 ? json_array_get(p->pending, 0)
                                 : p->pending;
        char *body = json_dumps(what, JSON_COMPACT);
        if (!body)
                return set_error(errstr, errstr_size, "out of memory");
        CURLcode rc = curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                       (curl_off_t)strlen(body));
        if (!rc)
                rc = curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
        if (rc) {
                free(body);
                snprintf(errstr, errstr_size, "%s", curl_easy_strerror(rc));
                return -1;
        }
        p->stats.requests++;

        int status = 0;
        for (int attempt = 0;; attempt++) {
                char why[512];
                long code = 0;
                p->answer_len = 0;
                p->answer[0] = '\0';
                p->curl_err[0] = '\0';
                rc = curl_easy_perform(p->curl);
                if (rc == CURLE_OK) {
                        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE,
                                          &code);
                        if (code >= 200 && code < 300) {
                                p->stats.accepted += accepted_count(p, n);
                                break;
                        }
                        if (code != 503) {
                                report_rejection(p, code, n);
                                p->stats.rejected += n;
                                break;
                        }
                        snprintf(why, sizeof(why), "HTTP 503: %s", p->answer);
                } else {
                        snprintf(why, sizeof(why), "%s",
                                 p->curl_err[0] ? p->curl_err
                                                : curl_easy_strerror(rc));
                }
                if (attempt >= p->retries) {
                        snprintf(errstr, errstr_size,
                                 "request %ld (documents %ld-%ld): %s "
                                 "(after %d retries)",
                                 p->stats.requests, p->first, p->first + n - 1,
                                 why, attempt);
                        status = -1;
                        break;
                }
                sleep_ms(backoff_ms(p, attempt));
                p->stats.retries++;
        }
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, NULL);
        free(body);
        json_array_clear(p->pending);
        p->first += n;
        return status;
}

int simlab_post_add(simlab_post_t *p, json_t *doc, char *errstr,
                    size_t errstr_size)
{
        if (json_array_append(p->pending, doc))
                return set_error(errstr, errstr_size, "out of memory");
        if ((long)json_array_size(p->pending) < p->batch)
                return 0;
        return send_pending(p, errstr, errstr_size);
}

int simlab_post_finish(simlab_post_t *p, char *errstr, size_t errstr_size)
{
        return send_pending(p, errstr, errstr_size);
}

void simlab_post_stats(const simlab_post_t *p, simlab_post_stats_t *stats)
{
        *stats = p->stats;
}

void simlab_post_destroy(simlab_post_t *p)
{
        if (!p)
                return;
        if (p->curl)
                curl_easy_cleanup(p->curl);
        curl_slist_free_all(p->headers);
        json_decref(p->pending);
        free(p->answer);
        free(p);
}
