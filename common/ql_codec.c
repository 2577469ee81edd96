/*
 * ql_codec: qingling.InspectionResult documents <-> Avro single-object
 * messages.  Every schema file is held in three forms: a small node graph
 * built here from the schema JSON (avro-c drops logical types and field
 * defaults, and the canonical form, the document shapes and the resolution
 * need them), the avro-c schema with its generic value class (which writes
 * and reads the binary datum), and a resolver from that schema to the newest
 * one, built once at load time.  Decoding is three passes: a bounded scan
 * that proves the datum well formed before avro-c sees it (avro-c allocates
 * a declared length before checking it against the input, and leaks on a
 * short read), avro-c's read into a generic value of the writer schema, and
 * the walk of the resolver that turns that value into a document of the
 * newest schema.  Resolution is done here rather than by avro-c's resolved
 * reader because, in avro-c 1.11, that reader refuses a reader field missing
 * from the writer even when it has a default ("NIY: Default values") and
 * passes enum indexes through instead of matching symbols by name.
 *
 * This file is the codec object: loading and ordering the schema files,
 * the pools of avro-c values, and the error text and walk context every
 * pass shares.  The schema graph and the passes are in ql_codec_*.c
 * (ql_codec_private.h says which file holds what).
 */
#include "ql_codec.h"

#include <avro.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ql_codec_private.h"
#include "ql_time.h"
#include "ql_util.h"

int codec_set_err(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format an error into errstr; when it is cut short, the cut does not
 * split a UTF-8 character (the text may quote the document).  Returns -1. */
int codec_set_err(char *errstr, size_t size, const char *fmt, ...)
{
        if (!errstr || !size)
                return -1;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n < size)
                return -1;
        size_t end = size - 1, cont = 0;
        while (end > 0 && cont < 3 &&
               ((unsigned char)errstr[end - 1] & 0xC0) == 0x80) {
                end--;
                cont++;
        }
        unsigned char lead = end ? (unsigned char)errstr[end - 1] : 0;
        size_t need = lead >= 0xF0   ? 3
                      : lead >= 0xE0 ? 2
                      : lead >= 0xC0 ? 1
                                     : 0;
        if (lead >= 0xC0 && need != cont)
                errstr[end - 1] = '\0';
        return -1;
}

void codec_walk_init(walk_t *w)
{
        w->msg[0] = '\0';
        w->start = sizeof(w->path) - 1;
        w->path[w->start] = '\0';
        w->depth = 0;
        w->elements = 0;
}

int codec_walk_fail(walk_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int codec_walk_fail(walk_t *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
        va_end(ap);
        w->start = sizeof(w->path) - 1;
        w->path[w->start] = '\0';
        return -1;
}

static void walk_prepend(walk_t *w, const char *s, size_t n)
{
        if (n <= w->start) {
                w->start -= n;
                memcpy(w->path + w->start, s, n);
        }
}

/* Unwinding a failure out of field or map key `name`.  Returns -1. */
int codec_walk_up_name(walk_t *w, const char *name)
{
        if (w->path[w->start] && w->path[w->start] != '[')
                walk_prepend(w, ".", 1);
        walk_prepend(w, name, strlen(name));
        return -1;
}

/* Unwinding a failure out of array entry i.  Returns -1. */
int codec_walk_up_index(walk_t *w, size_t i)
{
        char tmp[24];
        size_t n = sizeof(tmp);
        tmp[--n] = ']';
        do {
                tmp[--n] = (char)('0' + i % 10);
                i /= 10;
        } while (i);
        tmp[--n] = '[';
        if (w->path[w->start] && w->path[w->start] != '[')
                walk_prepend(w, ".", 1);
        walk_prepend(w, tmp + n, sizeof(tmp) - n);
        return -1;
}

/* The failure as "path: message" into errstr.  Returns -1. */
int codec_walk_report(const walk_t *w, char *errstr, size_t errstr_size)
{
        if (w->path[w->start])
                return codec_set_err(errstr, errstr_size, "%s: %s",
                                     w->path + w->start, w->msg);
        return codec_set_err(errstr, errstr_size, "%s", w->msg);
}

/*------------------------------------------------------------------------
 * The codec.  Building an avro-c generic value is a good part of the cost
 * of a call, so each schema keeps a small pool of idle values, emptied, for
 * the next call on any thread; the pool is the only state calls share, and
 * its lock is held just to push or pop.
 */

/* A generic value of v's schema (any content: callers reset or overwrite
 * it), from the pool or new.  0 or an errno. */
int codec_value_get(const codec_version_t *v, avro_value_t *out)
{
        value_pool_t *p = v->pool;
        pthread_mutex_lock(&p->lock);
        int pooled = p->n_idle > 0;
        if (pooled)
                *out = p->idle[--p->n_idle];
        pthread_mutex_unlock(&p->lock);
        return pooled ? 0 : avro_generic_value_new(v->iface, out);
}

/* Give val back.  It is emptied first (an encoded value points into the
 * caller's document); one that served a big message is freed instead, so
 * the pool does not keep its capacity. */
void codec_value_put(const codec_version_t *v, avro_value_t *val,
                     size_t msg_len)
{
        value_pool_t *p = v->pool;
        int kept = 0;
        if (msg_len <= CODEC_POOL_MAX_MSG && avro_value_reset(val) == 0) {
                pthread_mutex_lock(&p->lock);
                if (p->n_idle < CODEC_POOL_MAX) {
                        p->idle[p->n_idle++] = *val;
                        kept = 1;
                }
                pthread_mutex_unlock(&p->lock);
        }
        if (!kept)
                avro_value_decref(val);
}

void ql_codec_destroy(ql_codec_t *codec)
{
        if (!codec)
                return;
        for (size_t i = 0; i < codec->n; i++) {
                codec_version_t *v = &codec->v[i];
                free(v->file);
                free(v->canonical);
                codec_sch_clear(&v->sch);
                if (v->pool) {
                        for (size_t k = 0; k < v->pool->n_idle; k++)
                                avro_value_decref(&v->pool->idle[k]);
                        pthread_mutex_destroy(&v->pool->lock);
                        free(v->pool);
                }
                if (v->iface)
                        avro_value_iface_decref(v->iface);
                if (v->avro)
                        avro_schema_decref(v->avro);
        }
        free(codec->v);
        codec_res_set_clear(&codec->res);
        free(codec);
}

size_t ql_codec_schema_count(const ql_codec_t *codec)
{
        return codec->n;
}

uint64_t ql_codec_newest_fingerprint(const ql_codec_t *codec)
{
        return codec->v[codec->n - 1].fingerprint;
}

int ql_codec_schema_info(const ql_codec_t *codec, size_t i, const char **file,
                         uint64_t *fingerprint, const char **canonical)
{
        if (i >= codec->n)
                return -1;
        if (file)
                *file = codec->v[i].file;
        if (fingerprint)
                *fingerprint = codec->v[i].fingerprint;
        if (canonical)
                *canonical = codec->v[i].canonical;
        return 0;
}

/* Version order: names compared with digit runs taken as numbers, so
 * "v10" sorts after "v9". */
static int version_cmp(const void *pa, const void *pb)
{
        const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
        const char *sa = a, *sb = b;
        while (*a && *b) {
                if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        size_t na = 0, nb = 0;
                        while (a[na] >= '0' && a[na] <= '9')
                                na++;
                        while (b[nb] >= '0' && b[nb] <= '9')
                                nb++;
                        if (na != nb)
                                return na < nb ? -1 : 1;
                        int c = memcmp(a, b, na);
                        if (c)
                                return c;
                        a += na;
                        b += nb;
                } else {
                        if (*a != *b)
                                return (unsigned char)*a < (unsigned char)*b
                                           ? -1
                                           : 1;
                        a++;
                        b++;
                }
        }
        if (*a || *b)
                return *a ? 1 : -1;
        return strcmp(sa, sb);
}

/* Load one schema file into v. */
static int load_version(codec_version_t *v, const char *dir, const char *name,
                        char *errstr, size_t errstr_size)
{
        char path[4096], why[400];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        v->file = strdup(name);
        if (!v->file)
                return codec_set_err(errstr, errstr_size, "out of memory");
        size_t len;
        char *text = ql_util_read_file(path, CODEC_MAX_SCHEMA_BYTES, &len,
                                       errstr, errstr_size);
        if (!text)
                return -1;
        json_error_t jerr;
        json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
        int rc = -1;
        if (!j) {
                codec_set_err(errstr, errstr_size, "%s: not JSON: %s (line %d)",
                              path, jerr.text, jerr.line);
                goto out;
        }
        if (codec_sch_build(&v->sch, j, why, sizeof(why)) ||
            !(v->canonical = codec_sch_canonical(&v->sch, why, sizeof(why)))) {
                codec_set_err(errstr, errstr_size, "%s: %s", path, why);
                goto out;
        }
        v->fingerprint = ql_codec_crc64(v->canonical, strlen(v->canonical));
        /* avro-c keeps its error text in a process-wide buffer; see the
         * header on calling ql_codec_new concurrently. */
        if (avro_schema_from_json_length(text, len, &v->avro)) {
                v->avro = NULL;
                codec_set_err(errstr, errstr_size, "%s: avro-c rejects it: %s",
                              path, avro_strerror());
                goto out;
        }
        v->iface = avro_generic_class_from_schema(v->avro);
        if (!v->iface) {
                codec_set_err(errstr, errstr_size, "%s: avro-c: %s", path,
                              avro_strerror());
                goto out;
        }
        v->pool = calloc(1, sizeof(*v->pool));
        if (!v->pool || pthread_mutex_init(&v->pool->lock, NULL)) {
                free(v->pool);
                v->pool = NULL;
                codec_set_err(errstr, errstr_size, "out of memory");
                goto out;
        }
        rc = 0;
out:
        json_decref(j);
        free(text);
        return rc;
}

ql_codec_t *ql_codec_new(const char *dir, char *errstr, size_t errstr_size)
{
        ql_codec_t *codec = calloc(1, sizeof(*codec));
        char **names = NULL;
        size_t n_names = 0, cap = 0;
        DIR *d = opendir(dir);
        if (!codec || !d) {
                codec_set_err(errstr, errstr_size, "schema directory %s: %s",
                              dir, codec ? "cannot open" : "out of memory");
                goto fail;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t nl = strlen(de->d_name);
                if (nl <= 5 || de->d_name[0] == '.' ||
                    strcmp(de->d_name + nl - 5, ".avsc") != 0)
                        continue;
                if (n_names == cap) {
                        cap = cap ? 2 * cap : 8;
                        char **nv = realloc(names, cap * sizeof(char *));
                        if (!nv)
                                goto oom;
                        names = nv;
                }
                if (!(names[n_names] = strdup(de->d_name)))
                        goto oom;
                n_names++;
        }
        closedir(d);
        d = NULL;
        if (n_names == 0) {
                codec_set_err(errstr, errstr_size, "no *.avsc schema in %s",
                              dir);
                goto fail;
        }
        qsort(names, n_names, sizeof(char *), version_cmp);
        codec->v = calloc(n_names, sizeof(codec_version_t));
        if (!codec->v)
                goto oom;
        for (size_t i = 0; i < n_names; i++) {
                codec->n = i + 1;
                if (load_version(&codec->v[i], dir, names[i], errstr,
                                 errstr_size))
                        goto fail;
                for (size_t k = 0; k < i; k++)
                        if (codec->v[k].fingerprint ==
                            codec->v[i].fingerprint) {
                                codec_set_err(errstr, errstr_size,
                                              "%s and %s are the same schema "
                                              "(fingerprint %" PRIu64 ")",
                                              names[k], names[i],
                                              codec->v[i].fingerprint);
                                goto fail;
                        }
        }
        const codec_version_t *newest = &codec->v[codec->n - 1];
        for (size_t i = 0; i < codec->n; i++) {
                char why[400];
                walk_t wk;
                codec_walk_init(&wk);
                codec->v[i].to_newest = codec_resolve(
                    &codec->res, codec->v[i].sch.root, newest->sch.root, &wk);
                if (!codec->v[i].to_newest) {
                        codec_walk_report(&wk, why, sizeof(why));
                        codec_set_err(
                            errstr, errstr_size,
                            "%s cannot be read as the newest schema %s: "
                            "%s",
                            codec->v[i].file, newest->file, why);
                        goto fail;
                }
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        return codec;
oom:
        codec_set_err(errstr, errstr_size, "out of memory");
fail:
        if (d)
                closedir(d);
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        ql_codec_destroy(codec);
        return NULL;
}
