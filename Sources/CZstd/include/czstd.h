// CZstd: Zstandard (Debian's libzstd-dev) as livemig's page compression uses it.
//
// Why a shim and not a bare module map: the wrappers keep zstd's size_t error convention
// (an error is a huge size_t, told apart with ZSTD_isError) on this side and hand Swift a
// plain result and a message, and they pin the frame options livemig's stream relies on (the
// content size is written into every frame, so the receiver can check it before decompressing).
#ifndef LIVEMIG_CZSTD_H
#define LIVEMIG_CZSTD_H

#include <stddef.h>
#include <stdint.h>

typedef struct livemig_zstd_compressor livemig_zstd_compressor;
typedef struct livemig_zstd_decompressor livemig_zstd_decompressor;

/// A compression context at `level` (1 to 19; livemig uses low levels, as QEMU's multifd
/// zstd does by default), reused for every batch of one stream. NULL when out of memory.
livemig_zstd_compressor *livemig_zstd_compressor_new(int level);
void livemig_zstd_compressor_free(livemig_zstd_compressor *compressor);

/// Compresses `source` (`source_size` bytes) into one frame in `destination` (at most
/// `capacity` bytes). Returns the frame's size, or 0 when it does not fit `capacity` (the
/// caller then sends the data as it is) or on an error (its name in `*error`).
size_t livemig_zstd_compress(livemig_zstd_compressor *compressor, void *destination, size_t capacity,
                             const void *source, size_t source_size, const char **error);

livemig_zstd_decompressor *livemig_zstd_decompressor_new(void);
void livemig_zstd_decompressor_free(livemig_zstd_decompressor *decompressor);

/// Decompresses one frame of `source_size` bytes into exactly `expected` bytes at
/// `destination`. Returns 0 on success, -1 otherwise with the reason in `*error`: a frame that
/// does not say its size, says another one, is malformed, or holds more than one frame.
int livemig_zstd_decompress(livemig_zstd_decompressor *decompressor, void *destination, size_t expected,
                            const void *source, size_t source_size, const char **error);

#endif
