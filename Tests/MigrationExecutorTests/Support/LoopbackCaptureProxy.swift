import Foundation
import MigrationCore
import MigrationExecutor

/// A recording man in the middle on loopback: accepts one connection, connects it to
/// 127.0.0.1:`targetPort` and copies bytes both ways, keeping a copy of everything that went
/// from the client to the server (what an eavesdropper on the link would capture).
final class LoopbackCaptureProxy: @unchecked Sendable {
    let port: Int
    private let done: Pending<[UInt8]>

    init(targetPort: Int) throws {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        port = listener.port
        done = Pending {
            let client = try listener.accept()
            let server = try TLSLoopback.connect(targetPort)
            let back = Pending { try Self.copy(from: server, to: client, keeping: false) }
            let captured = try Self.copy(from: client, to: server, keeping: true)
            _ = try back.result()
            return captured
        }
    }

    /// What the client sent, once both directions have ended.
    func captured(within seconds: Double = 60) throws -> [UInt8] { try done.value(within: seconds) }

    /// Copies until `source` ends, then ends `target`'s direction too.
    private static func copy(from source: BlockingSocket, to target: BlockingSocket, keeping: Bool) throws -> [UInt8] {
        var kept: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = (try? chunk.withUnsafeMutableBytes { try source.read(into: $0) }) ?? 0
            guard count > 0 else { break }
            if keeping { kept += chunk[0 ..< count] }
            guard (try? chunk.withUnsafeBytes({ try target.write(UnsafeRawBufferPointer(rebasing: $0[0 ..< count])) })) != nil else { break }
        }
        shutdown(target.fd, Int32(SHUT_WR))
        return kept
    }
}
