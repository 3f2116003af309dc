import Foundation
import MigrationCore
import MigrationExecutor
import XCTest

/// Work on a thread of its own whose result a test collects with a deadline.
final class Pending<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<T, Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread { [self] in
            outcome = Result { try body() }
            done.signal()
        }.start()
    }

    /// The result, waiting at most `seconds` (a test failure, not a hang, when it does not come).
    func result(within seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> Result<T, Error> {
        guard done.wait(timeout: .now() + seconds) == .success, let outcome else {
            XCTFail("no result within \(seconds) s", file: file, line: line)
            throw HostFailure("no result within \(seconds) s")
        }
        return outcome
    }

    func value(within seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        try result(within: seconds, file: file, line: line).get()
    }
}

/// Loopback connections for the TLS tests (127.0.0.1 only).
enum TLSLoopback {
    /// Listens on a free loopback port and runs `server` on the first connection, on a thread.
    static func serve<T>(_ server: @escaping @Sendable (BlockingSocket) throws -> T) throws -> (port: Int, pending: Pending<T>) {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let pending = Pending { try server(try listener.accept()) }
        return (listener.port, pending)
    }

    static func connect(_ port: Int) throws -> BlockingSocket {
        try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: port))
    }

    /// Both ends of a connection with TLS on, or the two sides' failures.
    static func handshake(server: TLSConfiguration, client: TLSConfiguration, expectedServerName: String? = nil,
                          timeoutSeconds: Double = 20) throws -> (server: Result<BlockingSocket, Error>, client: Result<BlockingSocket, Error>) {
        let (port, pending) = try serve { socket in
            try socket.startTLS(server, role: .server, handshakeTimeoutSeconds: timeoutSeconds)
            return socket
        }
        let socket = try connect(port)
        let clientResult = Result { () throws -> BlockingSocket in
            try socket.startTLS(client, role: .client, expectedPeerName: expectedServerName, handshakeTimeoutSeconds: timeoutSeconds)
            return socket
        }
        // A refused side closes; the other must not wait on it.
        if case .failure = clientResult { socket.close() }
        return (try pending.result(), clientResult)
    }

    /// A connected pair with TLS on (hosta the client, hostb the server).
    static func pair() throws -> (client: BlockingSocket, server: BlockingSocket) {
        let files = try TLSTestCertificates.files()
        let (server, client) = try handshake(server: files.configuration("hostb"), client: files.configuration("hosta"))
        return (try client.get(), try server.get())
    }
}

/// The text of a failure, for assertions on what it says.
func failureText<T>(_ result: Result<T, Error>) -> String? {
    guard case .failure(let error) = result else { return nil }
    return (error as? HostFailure)?.description ?? "\(error)"
}

/// `count` bytes of a fixed pseudo-random pattern (no run of it occurs by chance elsewhere).
func patternBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var state = seed
    bytes.withUnsafeMutableBytes { buffer in
        for offset in stride(from: 0, to: count, by: 8) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            withUnsafeBytes(of: state ^ (state >> 29)) { word in
                buffer.baseAddress!.advanced(by: offset).copyMemory(from: word.baseAddress!, byteCount: min(8, count - offset))
            }
        }
    }
    return bytes
}
