/*
 * libtk103: TK103-family GPS tracker protocols.
 * Detection, framing, decoding, replies, commands, frame lines, geometry.
 * Every exported symbol starts with tk_.
 */
#ifndef TK103_H
#define TK103_H

#define TK103_VERSION_MAJOR 0

#include "tk_dialect.h"
#include "tk_record.h"
#include "tk_decode.h"
#include "tk_frameline.h"
#include "tk_util.h"
#include "tk_harden.h"
#include "tk_file.h"
#include "tk_xexun2.h"
#include "tk_cmd.h"

const char *tk_version(void);

#endif
