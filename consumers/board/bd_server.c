/*
 * bd_server: libmicrohttpd in, bd_app out (see bd_server.h).  Each request
 * gets a conn_t through the access-handler calls: the first with the
 * headers, one per body chunk (kept up to the limit, dropped beyond it),
 * and the last, which builds the bd_req_t and answers.
 */
#include "bd_server.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "bd_html.h"

#define CSP                                                                    \
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "        \
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct bd_server_s {
        const bd_config_t *cfg;
        ql_log_t *lg;
        ql_metrics_t *m;
        bd_app_t *app;
        struct MHD_Daemon *httpd;
        char *tls_cert, *tls_key;
        ql_histogram_t *seconds;
};

typedef struct {
        bd_buf_t body;
        int too_large;
        struct timespec t0;
} conn_t;

static double since(const struct timespec *t0)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) +
               (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void printable(char *dst, size_t size, const char *src)
{
        size_t i = 0;
        for (; src && *src && i + 1 < size; src++) {
                unsigned char c = (unsigned char)*src;
                dst[i++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
        }
        dst[i] = '\0';
}

static void client_address(struct MHD_Connection *c, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        snprintf(buf, size, "?");
        if (!ci || !ci->client_addr)
                return;
        socklen_t len = ci->client_addr->sa_family == AF_INET6
                            ? sizeof(struct sockaddr_in6)
                            : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, len, buf, (socklen_t)size, NULL, 0,
                        NI_NUMERICHOST) != 0)
                snprintf(buf, size, "?");
}

static const char *get_arg(void *ctx, const char *name)
{
        return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void count_status(bd_server_t *s, int status)
{
        char labels[32];
        snprintf(labels, sizeof(labels), "status=\"%d\"", status);
        ql_counter_add(ql_metrics_counter(s->m, "ql_board_requests_total",
                                          "HTTP requests by status.", labels),
                       1);
}

static void disposition(struct MHD_Response *r, const char *filename)
{
        bd_buf_t h = {0};
        bd_buf_puts(&h, "attachment; filename=\"export.csv\"; "
                        "filename*=UTF-8''");
        bd_html_url_arg(&h, filename);
        if (!bd_buf_failed(&h))
                MHD_add_response_header(r, "Content-Disposition", h.data);
        bd_buf_free(&h);
}

static enum MHD_Result answer(bd_server_t *s, struct MHD_Connection *conn,
                              bd_req_t *rq, int head)
{
        struct MHD_Response *r;
        int status = rq->status ? rq->status : 500;
        const char *inm =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
        if (rq->static_data && rq->etag && inm && !strcmp(inm, rq->etag)) {
                status = 304;
                r = MHD_create_response_from_buffer(0, NULL,
                                                    MHD_RESPMEM_PERSISTENT);
        } else if (rq->static_data) {
                r = MHD_create_response_from_buffer(head ? 0 : rq->static_len,
                                                    (void *)rq->static_data,
                                                    MHD_RESPMEM_PERSISTENT);
        } else {
                size_t len;
                char *data = bd_buf_take(&rq->body, &len);
                if (!data) {
                        status = 500;
                        data = strdup("服务器内存不足。\n");
                        rq->content_type = "text/plain; charset=utf-8";
                        if (!data)
                                return MHD_NO;
                        len = strlen(data);
                }
                if (head)
                        len = 0;
                r = MHD_create_response_from_buffer(len, data,
                                                    MHD_RESPMEM_MUST_FREE);
                if (!r)
                        free(data);
        }
        if (!r)
                return MHD_NO;
        if (rq->content_type)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        rq->content_type);
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "same-origin");
        if (rq->cacheable) {
                MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                        "no-cache");
                MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rq->etag);
        } else {
                MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                        "no-store");
        }
        if (rq->location[0])
                MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION,
                                        rq->location);
        if (rq->set_cookie[0])
                MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE,
                                        rq->set_cookie);
        if (rq->filename[0])
                disposition(r, rq->filename);
        enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
        MHD_destroy_response(r);
        rq->status = status;
        return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
        bd_server_t *s = cls;
        conn_t *c = *con_cls;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return MHD_NO;
                clock_gettime(CLOCK_MONOTONIC, &c->t0);
                *con_cls = c;
                return MHD_YES;
        }
        if (*upload_size) {
                if (!c->too_large && c->body.len + *upload_size <=
                                         (size_t)s->cfg->board_max_body)
                        bd_buf_putn(&c->body, upload, *upload_size);
                else
                        c->too_large = 1;
                *upload_size = 0;
                return MHD_YES;
        }

        bd_req_t rq;
        memset(&rq, 0, sizeof(rq));
        char client[64];
        client_address(conn, client, sizeof(client));
        bd_form_t form;
        memset(&form, 0, sizeof(form));
        int post = !strcmp(method, "POST");
        if (post && !c->too_large) {
                const char *ct = MHD_lookup_connection_value(
                    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
                if (c->body.len &&
                    (!ct ||
                     strncasecmp(ct, "application/x-www-form-urlencoded", 33)))
                        rq.form_invalid = 1;
                else if (bd_form_parse(&form, c->body.data ? c->body.data : "",
                                       c->body.len))
                        rq.form_invalid = 1;
        }
        if (c->body.data)
                explicit_bzero(c->body.data, c->body.len);
        bd_buf_free(&c->body);

        rq.method = method;
        rq.path = url;
        rq.arg = get_arg;
        rq.arg_ctx = conn;
        rq.form = &form;
        rq.cookie =
            MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "ql_session");
        rq.client = client;
        rq.now = time(NULL);
        if (c->too_large) {
                rq.status = 413;
                rq.content_type = "text/plain; charset=utf-8";
                bd_buf_puts(&rq.body, "提交的内容过大。\n");
        } else {
                bd_app_handle(s->app, &rq);
        }
        bd_form_clear(&form);
        enum MHD_Result ret = answer(s, conn, &rq, !strcmp(method, "HEAD"));
        bd_buf_free(&rq.body);

        double secs = since(&c->t0);
        count_status(s, rq.status);
        ql_histogram_observe(s->seconds, secs);
        char path[160];
        printable(path, sizeof(path), url);
        int quiet = rq.route.id == BD_R_STATIC || rq.route.id == BD_R_HEALTHZ ||
                    rq.route.id == BD_R_READYZ;
        ql_log(s->lg,
               quiet              ? QL_LOG_DEBUG
               : rq.status >= 500 ? QL_LOG_WARN
                                  : QL_LOG_INFO,
               "%s %s %d login=%s client=%s ms=%.1f", method, path, rq.status,
               rq.login[0] ? rq.login : "-", client, secs * 1000);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        conn_t *c = *con_cls;
        if (c) {
                if (c->body.data)
                        explicit_bzero(c->body.data, c->body.len);
                bd_buf_free(&c->body);
                free(c);
        }
        *con_cls = NULL;
}

static char *read_file(const char *path, char *errstr, size_t errstr_size,
                       const char *setting)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "%s: %s: %s", setting, path,
                         strerror(errno));
                return NULL;
        }
        bd_buf_t b = {0};
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                bd_buf_putn(&b, chunk, n);
        fclose(f);
        size_t len;
        char *data = bd_buf_take(&b, &len);
        if (!data)
                snprintf(errstr, errstr_size, "%s: out of memory", setting);
        return data;
}

bd_server_t *bd_server_new(const bd_config_t *cfg, ql_log_t *lg,
                           ql_metrics_t *metrics, bd_app_t *app, char *errstr,
                           size_t errstr_size)
{
        bd_server_t *s = calloc(1, sizeof(*s));
        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->cfg = cfg;
        s->lg = lg;
        s->m = metrics;
        s->app = app;
        s->seconds = ql_metrics_histogram(metrics, "ql_board_request_seconds",
                                          "Time to answer a request.", NULL);
        struct addrinfo *ai;
        if (ql_metrics_resolve_listen("board_addr", cfg->board_addr, &ai,
                                      errstr, errstr_size)) {
                free(s);
                return NULL;
        }
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (cfg->board_tls_cert) {
                s->tls_cert = read_file(cfg->board_tls_cert, errstr,
                                        errstr_size, "board_tls_cert");
                s->tls_key = s->tls_cert
                                 ? read_file(cfg->board_tls_key, errstr,
                                             errstr_size, "board_tls_key")
                                 : NULL;
                if (!s->tls_key) {
                        freeaddrinfo(ai);
                        bd_server_destroy(s);
                        return NULL;
                }
                flags |= MHD_USE_TLS;
        }
        struct MHD_OptionItem tls_opts[] = {
            {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
            {MHD_OPTION_END, 0, NULL}};
        struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
        s->httpd = MHD_start_daemon(
            flags, 0, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR,
            ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)cfg->board_threads, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)200,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY,
            cfg->board_tls_cert ? tls_opts : no_opts, MHD_OPTION_END);
        freeaddrinfo(ai);
        if (!s->httpd) {
                snprintf(errstr, errstr_size,
                         "board_addr: cannot listen on %s (in use%s?)",
                         cfg->board_addr,
                         cfg->board_tls_cert ? ", or a bad certificate" : "");
                bd_server_destroy(s);
                return NULL;
        }
        return s;
}

void bd_server_destroy(bd_server_t *s)
{
        if (!s)
                return;
        if (s->httpd)
                MHD_stop_daemon(s->httpd);
        if (s->tls_key)
                explicit_bzero(s->tls_key, strlen(s->tls_key));
        free(s->tls_cert);
        free(s->tls_key);
        free(s);
}
