/*
 * Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput on saved inputs
 * without libFuzzer, so the crash regressions (tests/fuzz/regressions/) and
 * the seed corpora (tests/fuzz/corpus/) are ordinary CTest tests of every
 * build, sanitizers or not.  Arguments are files or directories (their files
 * are replayed in name order; names starting with '.' and README* are
 * skipped; a directory that does not exist holds no inputs, so a target
 * without regressions needs no empty directory).  It names each input before
 * running it, so a crash points at the file.  Exit status 0 when every input
 * ran, 1 when none was found or one could not be read; a failing input
 * aborts (that is the test failing).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

/* Read the whole file; *len gets its size.  NULL with errno on failure. */
static unsigned char *read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        unsigned char *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 4096;
                        unsigned char *b = realloc(buf, cap);
                        if (!b) {
                                free(buf);
                                fclose(f);
                                errno = ENOMEM;
                                return NULL;
                        }
                        buf = b;
                }
                size_t r = fread(buf + n, 1, cap - n, f);
                n += r;
                if (r == 0)
                        break;
        }
        int bad = ferror(f);
        fclose(f);
        if (bad) {
                free(buf);
                errno = EIO;
                return NULL;
        }
        *len = n;
        return buf;
}

static int replay_file(const char *path)
{
        size_t len = 0;
        unsigned char *buf = read_file(path, &len);
        if (!buf) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
        /* A copy of exactly len bytes, so ASan sees any read past the end. */
        unsigned char *exact = malloc(len ? len : 1);
        if (!exact) {
                free(buf);
                return -1;
        }
        memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        return 0;
}

static int skipped(const char *name)
{
        return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays one argument; adds the inputs run to *count.  -1 on a read error. */
static int replay_arg(const char *arg, size_t *count)
{
        struct stat st;
        if (stat(arg, &st) != 0 && errno == ENOENT) {
                fprintf(stderr, "replay: %s: none\n", arg);
                return 0;
        }
        if (stat(arg, &st) != 0) {
                fprintf(stderr, "replay: %s: %s\n", arg, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (replay_file(arg) != 0)
                        return -1;
                (*count)++;
                return 0;
        }
        struct dirent **names;
        int n = scandir(arg, &names, NULL, by_name);
        if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", arg, strerror(errno));
                return -1;
        }
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char path[4096];
                if (!skipped(names[i]->d_name) &&
                    (size_t)snprintf(path, sizeof(path), "%s/%s", arg,
                                     names[i]->d_name) < sizeof(path) &&
                    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (replay_file(path) != 0)
                                rc = -1;
                        else
                                (*count)++;
                }
                free(names[i]);
        }
        free(names);
        return rc;
}

int main(int argc, char **argv)
{
        size_t count = 0;
        int rc = 0;
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++)
                if (replay_arg(argv[i], &count) != 0)
                        rc = 1;
        if (count == 0) {
                fprintf(stderr, "replay: no inputs found\n");
                return 1;
        }
        printf("replay: %zu inputs replayed, none crashed\n", count);
        return rc;
}
