#include "czstd.h"

#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

struct livemig_zstd_compressor { ZSTD_CCtx *context; };
struct livemig_zstd_decompressor { ZSTD_DCtx *context; };

livemig_zstd_compressor *livemig_zstd_compressor_new(int level) {
    livemig_zstd_compressor *compressor = malloc(sizeof *compressor);
    if (!compressor) return NULL;
    compressor->context = ZSTD_createCCtx();
    if (!compressor->context ||
        ZSTD_isError(ZSTD_CCtx_setParameter(compressor->context, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(compressor->context, ZSTD_c_contentSizeFlag, 1))) {
        ZSTD_freeCCtx(compressor->context);
        free(compressor);
        return NULL;
    }
    return compressor;
}

void livemig_zstd_compressor_free(livemig_zstd_compressor *compressor) {
    if (!compressor) return;
    ZSTD_freeCCtx(compressor->context);
    free(compressor);
}

size_t livemig_zstd_compress(livemig_zstd_compressor *compressor, void *destination, size_t capacity,
                             const void *source, size_t source_size, const char **error) {
    *error = NULL;
    size_t written = ZSTD_compress2(compressor->context, destination, capacity, source, source_size);
    if (ZSTD_isError(written)) {
        // Too small a destination is the expected case for data that does not compress.
        if (ZSTD_getErrorCode(written) != ZSTD_error_dstSize_tooSmall) *error = ZSTD_getErrorName(written);
        return 0;
    }
    return written;
}

livemig_zstd_decompressor *livemig_zstd_decompressor_new(void) {
    livemig_zstd_decompressor *decompressor = malloc(sizeof *decompressor);
    if (!decompressor) return NULL;
    decompressor->context = ZSTD_createDCtx();
    if (!decompressor->context) {
        free(decompressor);
        return NULL;
    }
    return decompressor;
}

void livemig_zstd_decompressor_free(livemig_zstd_decompressor *decompressor) {
    if (!decompressor) return;
    ZSTD_freeDCtx(decompressor->context);
    free(decompressor);
}

int livemig_zstd_decompress(livemig_zstd_decompressor *decompressor, void *destination, size_t expected,
                            const void *source, size_t source_size, const char **error) {
    *error = NULL;
    unsigned long long declared = ZSTD_getFrameContentSize(source, source_size);
    if (declared == ZSTD_CONTENTSIZE_ERROR) { *error = "not a zstd frame"; return -1; }
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) { *error = "the frame does not say its size"; return -1; }
    if (declared != expected) { *error = "the frame's size is not the batch's pages"; return -1; }
    size_t frame = ZSTD_findFrameCompressedSize(source, source_size);
    if (ZSTD_isError(frame)) { *error = ZSTD_getErrorName(frame); return -1; }
    if (frame != source_size) { *error = "bytes after the frame"; return -1; }
    // The output is bounded by `expected`: a frame that would write more fails here.
    size_t written = ZSTD_decompressDCtx(decompressor->context, destination, expected, source, source_size);
    if (ZSTD_isError(written)) { *error = ZSTD_getErrorName(written); return -1; }
    if (written != expected) { *error = "the frame held fewer bytes than it said"; return -1; }
    return 0;
}
