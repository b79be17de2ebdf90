/*
 * tk_gt06.h: the GT06 (Concox) dialect's helpers shared by the decoder,
 * the command builder and the simulator.  Internal to libtk103 (not
 * installed).  The wire format is described in docs/protocol/gt06.md.
 */
#ifndef TK_GT06_H
#define TK_GT06_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-16/X-25 (CRC-ITU): reflected 0x1021, init and final XOR 0xFFFF. */
uint16_t tk_gt06_crc(const uint8_t *p, size_t n);

/*
 * Build one short (78 78) frame: type, content, serial, CRC and stop
 * bits.  Returns its length, or 0 when it does not fit in cap or the
 * content is longer than a short frame carries.
 */
size_t	tk_gt06_frame(uint8_t type, const uint8_t *content, size_t clen,
	    uint16_t serial, uint8_t *out, size_t cap);

/* The reply to a 0x8A time request at ms since the epoch (UTC). */
size_t	tk_gt06_time_reply(int64_t now_ms, uint8_t *out, size_t cap);

/*
 * Does the reply due for this frame acknowledge data the device keeps
 * until answered (positions, status, alarms)?  The login and time
 * answers are handshakes, not acknowledgements.
 */
bool	tk_gt06_reply_is_ack(const uint8_t *f, size_t n);

#endif
