/// Guest pages with their frame numbers and their data compressed as one frame (stream version 5,
/// `migrate --compress zstd`): the data, page `pageNumbers[0]` first, is exactly
/// `pageNumbers.count` × page size bytes once decompressed. The page numbers follow a page
/// batch's rules (strictly ascending, below the guest's page count, at most as many as a batch
/// holds). The source sends a batch this way only when the frame is smaller than the data; the
/// destination checks that the frame says exactly the batch's size, and decompresses into no
/// more than that. QEMU's multifd zstd compresses each channel's packet the same way
/// (migration/multifd-zstd.c).
public struct CompressedPages: Sendable, Equatable {
    /// The compression of `frame`.
    public enum Algorithm: UInt32, Sendable, CaseIterable {
        /// One Zstandard frame with its content size (RFC 8878).
        case zstd = 1
        /// Stream version 6: XBZRLE deltas (`XbzrleDelta`), one per page in order, each a
        /// little-endian UInt32 length (0 up to the page size) and that many bytes, applied to
        /// the copy the destination holds (`migrate --compress xbzrle`). The lengths and
        /// deltas fill the frame exactly.
        case xbzrle = 2
    }

    public var pageNumbers: [UInt64]
    public var algorithm: Algorithm
    /// The compressed data: 1 byte up to the batch's data size.
    public var frame: [UInt8]

    public init(pageNumbers: [UInt64], algorithm: Algorithm = .zstd, frame: [UInt8]) {
        self.pageNumbers = pageNumbers
        self.algorithm = algorithm
        self.frame = frame
    }
}
