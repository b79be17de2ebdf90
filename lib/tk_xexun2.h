/*
 * tk_xexun2.h: xexun2 (binary FA AF) byte stuffing, for the decoder, the
 * command encoders and tests (docs/protocol/xexun2.md, Escaping).
 */
#ifndef TK_XEXUN2_H
#define TK_XEXUN2_H

#include <stddef.h>
#include <stdint.h>

#define TK_XEXUN2_HDR	18	/* FA AF, type, index, IMEI 8, attr/len, checksum */

/*
 * Unescape a raw frame: FB BF 01 -> FA AF, FB BF 02 -> FB BF; every other
 * byte (the FA AF flags included) is copied.  The output is never longer
 * than the input.  Returns the output length, or 0 when cap < n.
 */
size_t	tk_xexun2_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/*
 * Escape a whole unescaped frame for sending: the first and last two bytes
 * (the FA AF flags) are copied as they are, FA AF between them becomes
 * FB BF 01 and FB BF becomes FB BF 02.  Needs n >= 4.  Returns the output
 * length, or 0 when it does not fit in cap (3 * n / 2 + 4 always does).
 */
size_t	tk_xexun2_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* The payload checksum: ~(byte sum) with the carry folded.  The
 * truncated form (~sum & 0xFFFF) differs only above a 0xFFFF sum. */
uint16_t tk_xexun2_checksum(const uint8_t *p, size_t n);

#endif
