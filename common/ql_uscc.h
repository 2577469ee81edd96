/*
 * ql_uscc: the unified social credit code (统一社会信用代码, GB 32100-2015).
 * 18 characters from 0-9A-HJ-NPQRTUWXY; characters 3-8 are digits (the
 * registration region); characters 9-17 are the GB 11714 organisation code
 * whose 9th character (the code's 17th) is its own check; character 18 is the
 * check over the first 17.  Pure functions, no allocation.
 */
#ifndef QL_USCC_H
#define QL_USCC_H

#include <stddef.h>

typedef enum {
        QL_USCC_OK = 0,
        QL_USCC_BAD_FORMAT,    /* length, alphabet or digit positions wrong */
        QL_USCC_BAD_ORG_CHECK, /* 17th character: GB 11714 check fails */
        QL_USCC_BAD_CHECK,     /* 18th character: overall check fails */
} ql_uscc_status_t;

/* How to treat a code whose structure is right but a check character fails:
 * STRICT rejects, WARN accepts with a warning.  Format errors always reject. */
typedef enum { QL_USCC_STRICT = 0, QL_USCC_WARN } ql_uscc_mode_t;

/* Check `code` (NUL-terminated).  On anything but QL_USCC_OK a one-line
 * explanation is written to errstr (may be NULL). */
ql_uscc_status_t ql_uscc_check(const char *code, char *errstr,
                               size_t errstr_size);

/* "strict" / "warn" -> mode; -1 if unknown. */
int ql_uscc_mode_parse(const char *s);

/* Complete a code: given its first 16 characters in code[0..15], write the
 * GB 11714 check into code[16], the overall check into code[17] and a NUL
 * into code[18].  Returns 0, or -1 if the 16 characters are not well formed.
 * Used to generate valid codes (ql-simlab, tests). */
int ql_uscc_complete(char code[19]);

#endif
