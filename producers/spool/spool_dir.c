/*
 * spool_dir: layout, lock, listing, the final moves of spool files and
 * done/'s retention.  The three subdirectories are held open (dirfds) so
 * every move is a renameat between them and a name can never be resolved
 * against a different DIR.
 */
#include "spool_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool_dir_s {
        char *path, *incoming;
        int fd, in_fd, done_fd, rej_fd, lock_fd;
};

static int ends_with(const char *name, const char *ext)
{
        size_t n = strlen(name), e = strlen(ext);
        return n > e && !strcasecmp(name + n - e, ext);
}

spool_name_t spool_dir_classify(const char *name)
{
        if (name[0] == '.')
                return SPOOL_NAME_HIDDEN;
        if (ends_with(name, ".csv"))
                return SPOOL_NAME_CSV;
        if (ends_with(name, ".jsonl"))
                return SPOOL_NAME_JSONL;
        return SPOOL_NAME_OTHER;
}

static int open_sub(int parent, const char *name, const char *path,
                    char *errstr, size_t errstr_size)
{
        if (mkdirat(parent, name, 0755) && errno != EEXIST) {
                snprintf(errstr, errstr_size, "%s/%s: %s", path, name,
                         strerror(errno));
                return -1;
        }
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                snprintf(errstr, errstr_size, "%s/%s: %s", path, name,
                         strerror(errno));
        return fd;
}

spool_dir_t *spool_dir_open(const char *path, char *errstr, size_t errstr_size)
{
        spool_dir_t *d = calloc(1, sizeof(*d));
        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->fd = d->in_fd = d->done_fd = d->rej_fd = d->lock_fd = -1;
        d->path = strdup(path);
        if (!d->path || asprintf(&d->incoming, "%s/incoming", path) < 0) {
                d->incoming = NULL;
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (mkdir(path, 0755) && errno != EEXIST) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                goto fail;
        }
        d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->fd < 0) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                goto fail;
        }
        d->lock_fd =
            openat(d->fd, ".ql-spool.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (d->lock_fd < 0) {
                snprintf(errstr, errstr_size, "%s/.ql-spool.lock: %s", path,
                         strerror(errno));
                goto fail;
        }
        if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
                snprintf(errstr, errstr_size, "%s: %s", path,
                         errno == EWOULDBLOCK
                             ? "another ql-spool is serving this directory"
                             : strerror(errno));
                goto fail;
        }
        if ((d->in_fd =
                 open_sub(d->fd, "incoming", path, errstr, errstr_size)) < 0 ||
            (d->done_fd = open_sub(d->fd, "done", path, errstr, errstr_size)) <
                0 ||
            (d->rej_fd =
                 open_sub(d->fd, "rejected", path, errstr, errstr_size)) < 0)
                goto fail;
        return d;
fail:
        spool_dir_close(d);
        return NULL;
}

void spool_dir_close(spool_dir_t *d)
{
        if (!d)
                return;
        int fds[] = {d->in_fd, d->done_fd, d->rej_fd, d->lock_fd, d->fd};
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
                if (fds[i] >= 0)
                        close(fds[i]); /* closing lock_fd releases flock */
        free(d->path);
        free(d->incoming);
        free(d);
}

const char *spool_dir_path(const spool_dir_t *d)
{
        return d->path;
}

const char *spool_dir_incoming(const spool_dir_t *d)
{
        return d->incoming;
}

int spool_dir_incoming_fd(const spool_dir_t *d)
{
        return d->in_fd;
}

int spool_dir_rejected_fd(const spool_dir_t *d)
{
        return d->rej_fd;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void spool_dir_names_free(char **names, size_t n)
{
        if (!names)
                return;
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

int spool_dir_list(const spool_dir_t *d, char ***names, size_t *n, char *errstr,
                   size_t errstr_size)
{
        *names = NULL;
        *n = 0;
        int fd = dup(d->in_fd);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                snprintf(errstr, errstr_size, "%s: %s", d->incoming,
                         strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        rewinddir(dir);
        char **v = NULL;
        size_t cap = 0, count = 0;
        struct dirent *e;
        int rc = 0;
        while ((e = readdir(dir))) {
                if (e->d_name[0] == '.')
                        continue;
                struct stat st;
                if (fstatat(d->in_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
                    !S_ISREG(st.st_mode))
                        continue;
                if (count == cap) {
                        cap = cap ? cap * 2 : 64;
                        char **nv = realloc(v, cap * sizeof(*nv));
                        if (!nv) {
                                rc = -1;
                                break;
                        }
                        v = nv;
                }
                if (!(v[count] = strdup(e->d_name))) {
                        rc = -1;
                        break;
                }
                count++;
        }
        closedir(dir);
        if (rc) {
                snprintf(errstr, errstr_size, "out of memory");
                spool_dir_names_free(v, count);
                return -1;
        }
        if (count > 1)
                qsort(v, count, sizeof(*v), cmp_names);
        *names = v;
        *n = count;
        return 0;
}

static int64_t mtime_ms_of(const struct stat *st)
{
        return (int64_t)st->st_mtim.tv_sec * 1000 +
               st->st_mtim.tv_nsec / 1000000;
}

int spool_dir_mtime(const spool_dir_t *d, const char *name, int64_t *mtime_ms)
{
        struct stat st;
        if (fstatat(d->in_fd, name, &st, AT_SYMLINK_NOFOLLOW) ||
            !S_ISREG(st.st_mode))
                return -1;
        *mtime_ms = mtime_ms_of(&st);
        return 0;
}

long spool_dir_expire_done(spool_dir_t *d, int64_t cutoff_ms,
                           spool_dir_expired_fn fn, void *arg, char *errstr,
                           size_t errstr_size)
{
        int fd = dup(d->done_fd);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                snprintf(errstr, errstr_size, "%s/done: %s", d->path,
                         strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        rewinddir(dir);
        /* Names first, removals after: a directory is not changed under
         * its own readdir. */
        char **names = NULL;
        int64_t *mtimes = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        int oom = 0;
        while ((e = readdir(dir))) {
                struct stat st;
                if (e->d_name[0] == '.' ||
                    fstatat(d->done_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
                    !S_ISREG(st.st_mode) || mtime_ms_of(&st) >= cutoff_ms)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        char **nn = realloc(names, ncap * sizeof(*nn));
                        if (nn)
                                names = nn;
                        int64_t *nm =
                            nn ? realloc(mtimes, ncap * sizeof(*nm)) : NULL;
                        if (nm)
                                mtimes = nm;
                        if (!nn || !nm) {
                                oom = 1;
                                break;
                        }
                        cap = ncap;
                }
                if (!(names[n] = strdup(e->d_name))) {
                        oom = 1;
                        break;
                }
                mtimes[n++] = mtime_ms_of(&st);
        }
        closedir(dir);
        long removed = 0;
        for (size_t i = 0; i < n; i++) {
                int err = unlinkat(d->done_fd, names[i], 0) ? errno : 0;
                removed += err == 0;
                fn(arg, names[i], mtimes[i], err);
                free(names[i]);
        }
        free(names);
        free(mtimes);
        if (removed)
                fsync(d->done_fd);
        if (oom) {
                /* What was listed is done; the rest waits for the next
                 * sweep. */
                snprintf(errstr, errstr_size, "%s/done: out of memory",
                         d->path);
                return -1;
        }
        return removed;
}

/* NAME for k = 0, else NAME with ".k" before its extension. */
static void candidate(const char *name, unsigned k, char *out, size_t size)
{
        if (k == 0) {
                snprintf(out, size, "%s", name);
                return;
        }
        const char *dot = strrchr(name, '.');
        if (!dot || dot == name)
                snprintf(out, size, "%s.%u", name, k);
        else
                snprintf(out, size, "%.*s.%u%s", (int)(dot - name), name, k,
                         dot);
}

static int taken(int dirfd, const char *name)
{
        return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
               errno != ENOENT;
}

int spool_dir_finish(spool_dir_t *d, const char *name, spool_dest_t dest,
                     spool_rejects_t *rj, char *final, size_t final_size,
                     char *errstr, size_t errstr_size)
{
        int dest_fd = dest == SPOOL_TO_DONE ? d->done_fd : d->rej_fd;
        const char *dest_name = dest == SPOOL_TO_DONE ? "done" : "rejected";
        int committed = !rj || spool_rejects_count(rj) == 0;
        char cand[4096], errs[4200];
        for (unsigned k = 0; k < 100000; k++) {
                candidate(name, k, cand, sizeof(cand));
                snprintf(errs, sizeof(errs), "%s.errors.jsonl", cand);
                if (taken(dest_fd, cand) ||
                    (!committed && taken(d->rej_fd, errs)))
                        continue;
                if (!committed) {
                        if (spool_rejects_commit(rj, errs, errstr,
                                                 errstr_size)) {
                                if (errno == EEXIST)
                                        continue;
                                return -1;
                        }
                        committed = 1;
                }
                if (spool_rename_noreplace(d->in_fd, name, dest_fd, cand)) {
                        if (errno == EEXIST)
                                continue;
                        snprintf(errstr, errstr_size, "move %s to %s/: %s",
                                 name, dest_name, strerror(errno));
                        return -1;
                }
                fsync(dest_fd);
                fsync(d->in_fd);
                snprintf(final, final_size, "%s", cand);
                return 0;
        }
        snprintf(errstr, errstr_size, "no free name for %s in %s/", name,
                 dest_name);
        return -1;
}
