/*
 * bd_csv: quoting and the formula guard for CSV cells (see bd_csv.h).
 */
#include "bd_csv.h"

#include <string.h>

void bd_csv_bom(bd_buf_t *b)
{
        bd_buf_puts(b, "\xEF\xBB\xBF");
}

void bd_csv_cell(bd_buf_t *b, const char *s, int first, int numeric)
{
        if (!first)
                bd_buf_putc(b, ',');
        bd_buf_putc(b, '"');
        if (s) {
                if (!numeric && strchr("=+-@\t\r", s[0]) && s[0])
                        bd_buf_putc(b, '\'');
                for (const char *p = s, *q; *p; p = q + 1) {
                        q = strchr(p, '"');
                        if (!q) {
                                bd_buf_puts(b, p);
                                break;
                        }
                        bd_buf_putn(b, p, (size_t)(q - p));
                        bd_buf_puts(b, "\"\"");
                }
        }
        bd_buf_putc(b, '"');
}

void bd_csv_end_row(bd_buf_t *b)
{
        bd_buf_puts(b, "\r\n");
}
