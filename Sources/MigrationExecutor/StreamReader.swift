import Glibc
import MigrationCore
import MigrationStream

/// Reads records from a socket through a `StreamDecoder`: blocks until a whole record is there.
/// Page data can bypass the decoder: after a page batch's head, `readPageData(into:)` reads it
/// from the socket straight into its destination.
struct StreamReader {
    let socket: BlockingSocket
    private(set) var decoder: StreamDecoder
    private var chunk: [UInt8]
    /// Bytes read from the socket so far.
    private(set) var bytesRead = 0
    /// A monotonic time by which the next record (and a page batch's data) must be whole,
    /// however the peer trickles its bytes (the socket's receive timeout alone bounds each
    /// silence, not the total); nil: none.
    var deadline: Double?

    /// `chunkBytes` bounds each read into the decoder: small, since page data (nearly all of
    /// the stream) goes past it; a page batch head of 4096 pages is 32 KiB.
    init(socket: BlockingSocket, direction: StreamDirection, chunkBytes: Int = 64 << 10) {
        self.socket = socket
        decoder = StreamDecoder(direction: direction)
        chunk = [UInt8](repeating: 0, count: chunkBytes)
    }

    /// A data stream takes its main stream's layout, to check its pages against.
    mutating func adoptLayout(_ layout: GuestLayout) { decoder.adoptLayout(layout) }

    /// The next record; throws when the stream is broken, malformed or ends first.
    mutating func next() throws(HostFailure) -> StreamRecordView {
        try readUntil { (decoder: inout StreamDecoder) throws(StreamError) in try decoder.nextRecordView() }
    }

    /// The next record or page batch head; after a head, call `readPageData(into:)`.
    mutating func nextItem() throws(HostFailure) -> StreamItem {
        try readUntil { (decoder: inout StreamDecoder) throws(StreamError) in try decoder.nextItem() }
    }

    /// Reads the current page batch's data into `targets`, which together hold exactly its
    /// `dataBytes`: what the decoder already buffered is copied, the rest read straight from
    /// the socket.
    mutating func readPageData(into targets: [UnsafeMutableRawBufferPointer]) throws(HostFailure) {
        var pieces: [iovec] = []
        pieces.reserveCapacity(targets.count)
        for target in targets {
            var filled = 0
            while filled < target.count {
                let buffered = decoder.takeBufferedPageData(upTo: target.count - filled)
                if buffered.isEmpty { break }
                buffered.withUnsafeBytes { (target.baseAddress! + filled).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                filled += buffered.count
            }
            if filled < target.count {
                pieces.append(iovec(iov_base: target.baseAddress! + filled, iov_len: target.count - filled))
            }
        }
        if !pieces.isEmpty {
            var received = 0
            try socket.readScattered(&pieces, deadline: deadline) { received += $0 }
            decoder.pageDataReadDirectly(received)
            bytesRead += received
        }
        guard decoder.pageDataOwedBytes == 0 else {
            throw HostFailure("page batch data does not fill its pages (\(decoder.pageDataOwedBytes) bytes short)")
        }
    }

    private mutating func readUntil<Item>(
        _ decode: (inout StreamDecoder) throws(StreamError) -> Item?
    ) throws(HostFailure) -> Item {
        while true {
            do {
                if let item = try decode(&decoder) { return item }
            } catch {
                throw HostFailure("malformed stream from \(socket.peer): \(error.description)")
            }
            if let deadline {
                let remaining = deadline - monotonicSeconds()
                // Said as a timed-out read, so callers name their timeout as for a silent peer.
                guard remaining > 0 else { throw HostFailure("receiving from \(socket.peer): \(String(cString: strerror(EAGAIN)))") }
                socket.setReceiveTimeout(seconds: remaining)
            }
            var failure: HostFailure?
            let count = chunk.withUnsafeMutableBytes { buffer -> Int in
                do { return try socket.read(into: buffer) } catch { failure = error as? HostFailure ?? HostFailure("\(error)"); return 0 }
            }
            if let failure { throw failure }
            guard count > 0 else { throw HostFailure("\(socket.peer) closed the connection") }
            bytesRead += count
            decoder.feed(chunk[0 ..< count])
        }
    }
}
