import Foundation
import MigrationCore
import MigrationExecutor

/// A TCP proxy on loopback that forwards connections to another port and keeps a copy of every
/// byte that passes, in both directions: what an eavesdropper on the link would record.
final class CapturingProxy: @unchecked Sendable {
    let port: Int
    private let listener: ListeningSocket
    private let upstreamPort: Int
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    init(forwardingTo upstreamPort: Int) throws {
        listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        port = listener.port
        self.upstreamPort = upstreamPort
        Thread { [self] in acceptLoop() }.start()
    }

    /// Everything captured so far.
    var captured: [UInt8] { lock.withLock { bytes } }

    /// Whether `needle` appears anywhere in what was captured.
    func captured(contains needle: [UInt8]) -> Bool {
        let haystack = captured
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, Array(haystack[index ..< index + needle.count]) == needle { return true }
            index += 1
        }
        return false
    }

    private func acceptLoop() {
        while let client = try? listener.accept() {
            guard let upstream = try? BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: upstreamPort)) else {
                client.close()
                continue
            }
            Thread { [self] in pump(from: client, to: upstream) }.start()
            Thread { [self] in pump(from: upstream, to: client) }.start()
        }
    }

    private func pump(from source: BlockingSocket, to destination: BlockingSocket) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { (try? source.read(into: $0)) ?? 0 }
            guard count > 0 else { break }
            lock.withLock { bytes.append(contentsOf: buffer[0 ..< count]) }
            guard (try? destination.write(Array(buffer[0 ..< count]))) != nil else { break }
        }
        shutdown(destination.fd, Int32(SHUT_WR))
    }
}
