/*
 * bd_csv: CSV exports that open in Excel as they are.  The file starts with
 * a UTF-8 byte order mark (Excel reads BOM-less CSV in the system code page,
 * GBK on a Chinese Windows, and garbles the Chinese); rows end in CRLF
 * (RFC 4180); every cell is quoted, with quotes doubled, so a value never
 * splits a cell or a row.  A text cell that starts with = + - @, a tab or a
 * carriage return gets a leading apostrophe, so a spreadsheet shows it
 * instead of evaluating it as a formula ("CSV injection": an enterprise
 * named =HYPERLINK(...) stays a name).  Numbers are written as they are.
 */
#ifndef BD_CSV_H
#define BD_CSV_H

#include "bd_buf.h"

void bd_csv_bom(bd_buf_t *b);

/* One cell: `first` says whether it opens a row (no separator before it).
 * NULL is an empty cell.  `numeric`: the value is a number from the
 * database, written without the formula guard. */
void bd_csv_cell(bd_buf_t *b, const char *s, int first, int numeric);

void bd_csv_end_row(bd_buf_t *b);

#endif
