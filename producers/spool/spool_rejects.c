/*
 * spool_rejects: the errors list of a spool file, streamed to a temporary
 * file (.NAME.errors.jsonl.tmp in rejected/) and renamed into place when the
 * file is finished.  A stale temporary left by a crash is truncated and
 * reused the next time the same file is read.
 */
#include "spool_rejects.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spool_rejects_s {
        int dirfd;
        char *tmp; /* temporary name */
        FILE *f;
        size_t n;
};

spool_rejects_t *spool_rejects_new(int dirfd, const char *name)
{
        spool_rejects_t *rj = calloc(1, sizeof(*rj));
        if (!rj)
                return NULL;
        rj->dirfd = dirfd;
        if (asprintf(&rj->tmp, ".%s.errors.jsonl.tmp", name) < 0) {
                free(rj);
                return NULL;
        }
        return rj;
}

void spool_rejects_destroy(spool_rejects_t *rj)
{
        if (!rj)
                return;
        if (rj->f) {
                fclose(rj->f);
                unlinkat(rj->dirfd, rj->tmp, 0);
        }
        free(rj->tmp);
        free(rj);
}

size_t spool_rejects_count(const spool_rejects_t *rj)
{
        return rj->n;
}

char *spool_rejects_join(const ql_problems_t *errors)
{
        char *out = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&out, &size);
        if (!m)
                return NULL;
        for (size_t i = 0; i < errors->n; i++) {
                const ql_problem_t *p = &errors->v[i];
                if (i)
                        fputs("; ", m);
                if (p->field && *p->field)
                        fprintf(m, "%s: ", p->field);
                fputs(p->message ? p->message : "", m);
        }
        if (fclose(m)) {
                free(out);
                return NULL;
        }
        return out;
}

int spool_rejects_add(spool_rejects_t *rj, size_t line, const char *report_no,
                      const ql_problems_t *errors, char *errstr,
                      size_t errstr_size)
{
        if (!rj->f) {
                int fd = openat(rj->dirfd, rj->tmp,
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || !(rj->f = fdopen(fd, "w"))) {
                        snprintf(errstr, errstr_size, "rejected/%s: %s",
                                 rj->tmp, strerror(errno));
                        if (fd >= 0)
                                close(fd);
                        return -1;
                }
        }
        char *error = spool_rejects_join(errors);
        json_t *o = json_object();
        json_object_set_new(o, "line", json_integer((json_int_t)line));
        json_object_set_new(o, "report_no",
                            report_no ? json_string(report_no) : json_null());
        json_object_set_new(o, "error", json_string(error ? error : "?"));
        free(error);
        int rc = json_dumpf(o, rj->f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (rc || fputc('\n', rj->f) == EOF) {
                snprintf(errstr, errstr_size, "rejected/%s: %s", rj->tmp,
                         strerror(errno));
                return -1;
        }
        rj->n++;
        return 0;
}

int spool_rename_noreplace(int srcfd, const char *src, int dstfd,
                           const char *dst)
{
        if (renameat2(srcfd, src, dstfd, dst, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -1;
        /* A file system without RENAME_NOREPLACE: link(2) refuses to
         * replace too. */
        if (linkat(srcfd, src, dstfd, dst, 0))
                return -1;
        if (unlinkat(srcfd, src, 0)) {
                int e = errno;
                unlinkat(dstfd, dst, 0);
                errno = e;
                return -1;
        }
        return 0;
}

int spool_rejects_commit(spool_rejects_t *rj, const char *final, char *errstr,
                         size_t errstr_size)
{
        if (!rj->f)
                return 0;
        if (fflush(rj->f) || fsync(fileno(rj->f))) {
                snprintf(errstr, errstr_size, "rejected/%s: %s", rj->tmp,
                         strerror(errno));
                return -1;
        }
        if (spool_rename_noreplace(rj->dirfd, rj->tmp, rj->dirfd, final)) {
                int e = errno;
                snprintf(errstr, errstr_size, "rejected/%s: %s", final,
                         strerror(e));
                errno = e;
                return -1;
        }
        fclose(rj->f);
        rj->f = NULL; /* committed: nothing to discard */
        fsync(rj->dirfd);
        return 0;
}
