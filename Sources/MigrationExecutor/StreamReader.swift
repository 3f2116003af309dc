import MigrationCore
import MigrationStream

/// Reads records from a socket through a `StreamDecoder`: blocks until a whole record is there.
struct StreamReader {
    let socket: BlockingSocket
    private(set) var decoder: StreamDecoder
    private var chunk: [UInt8]
    /// Bytes read from the socket so far.
    private(set) var bytesRead = 0

    init(socket: BlockingSocket, direction: StreamDirection, chunkBytes: Int = 1 << 20) {
        self.socket = socket
        decoder = StreamDecoder(direction: direction)
        chunk = [UInt8](repeating: 0, count: chunkBytes)
    }

    /// The next record; throws when the stream is broken, malformed or ends first.
    mutating func next() throws(HostFailure) -> StreamRecordView {
        while true {
            do {
                if let record = try decoder.nextRecordView() { return record }
            } catch {
                throw HostFailure("malformed stream from \(socket.peer): \(error.description)")
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
