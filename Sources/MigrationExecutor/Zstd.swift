import CZstd
import MigrationCore

/// One stream's Zstandard compression context (libzstd, through CZstd), reused for every batch.
final class ZstdCompressor {
    /// QEMU's `multifd-zstd-level` defaults to 1: the fastest level, for a link that waits.
    static let defaultLevel: Int32 = 1
    private let context: OpaquePointer

    init(level: Int32 = ZstdCompressor.defaultLevel) throws(HostFailure) {
        guard let context = livemig_zstd_compressor_new(level) else { throw HostFailure("zstd: cannot make a compression context (out of memory?)") }
        self.context = context
    }

    deinit { livemig_zstd_compressor_free(context) }

    /// Compresses `source` into `destination`; the frame's size, or nil when it would not fit
    /// (the data does not compress enough: send it as it is).
    func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(HostFailure) -> Int? {
        var error: UnsafePointer<CChar>?
        let written = livemig_zstd_compress(context, destination.baseAddress, destination.count, source.baseAddress, source.count, &error)
        if let error { throw HostFailure("zstd: \(String(cString: error))") }
        return written > 0 ? written : nil
    }
}

/// One receiving stream's Zstandard decompression context.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() throws(HostFailure) {
        guard let context = livemig_zstd_decompressor_new() else { throw HostFailure("zstd: cannot make a decompression context (out of memory?)") }
        self.context = context
    }

    deinit { livemig_zstd_decompressor_free(context) }

    /// Decompresses one frame into exactly `destination.count` bytes, or throws naming why not.
    func decompress(_ frame: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(HostFailure) {
        var error: UnsafePointer<CChar>?
        let status = frame.withUnsafeBytes { livemig_zstd_decompress(context, destination.baseAddress, destination.count, $0.baseAddress, $0.count, &error) }
        guard status == 0 else { throw HostFailure("a compressedPages frame refused: \(error.map { String(cString: $0) } ?? "zstd failed")") }
    }
}
