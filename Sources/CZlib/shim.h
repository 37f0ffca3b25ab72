#ifndef INSIGHTS_CZLIB_SHIM_H
#define INSIGHTS_CZLIB_SHIM_H

#include <zlib.h>

/// deflateInit2 is a macro (it passes the version and struct size); a function Swift can call.
/// Raw deflate (negative window bits: no zlib header), window 32 KiB, memory level 8.
static inline int czlib_deflate_init_raw(z_streamp s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 is a macro as well; raw inflate matching czlib_deflate_init_raw.
static inline int czlib_inflate_init_raw(z_streamp s) { return inflateInit2(s, -15); }

/// inflateInit2 for a gzip or zlib stream (window bits 15 + 32: the header is detected).
static inline int czlib_inflate_init_auto(z_streamp s) { return inflateInit2(s, 15 + 32); }

#endif
