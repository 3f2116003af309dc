import Foundation
import MigrationCore
import MigrationExecutor
import XCTest

/// Data over mutual TLS: every BlockingSocket call the stream code uses carries bytes intact
/// both ways (gathered page writes and scattered page reads included), and what crosses the
/// link is ciphertext.
final class TLSDataTests: XCTestCase {
    static let pageBytes = 4096

    func testScatterGatherAndPlainCallsCarrySeveralMiBBothWays() throws {
        let (client, server) = try TLSLoopback.pair()
        // Client to server: 2048 pages (8 MiB) gathered in a shuffled order behind a small head,
        // and a 1 MiB piece (written without staging); read scattered into the same layout.
        let pages = 2048
        let source = patternBytes(pages * Self.pageBytes + (1 << 20), seed: 1)
        let order = Array(0 ..< pages).shuffled()
        let head = patternBytes(100, seed: 2)
        let received = Pending { () throws -> ([UInt8], [UInt8], Int) in
            var headIn = [UInt8](repeating: 0, count: head.count)
            var pagesIn = [UInt8](repeating: 0, count: source.count)
            var reported = 0
            try headIn.withUnsafeMutableBytes { headBuffer in
                try pagesIn.withUnsafeMutableBytes { pageBuffer in
                    var pieces = [iovec(iov_base: headBuffer.baseAddress, iov_len: head.count)]
                    pieces += order.map { iovec(iov_base: pageBuffer.baseAddress! + $0 * Self.pageBytes, iov_len: Self.pageBytes) }
                    pieces.append(iovec(iov_base: pageBuffer.baseAddress! + pages * Self.pageBytes, iov_len: 1 << 20))
                    try server.readScattered(&pieces) { reported += $0 }
                }
            }
            return (headIn, pagesIn, reported)
        }
        try head.withUnsafeBytes { headBuffer in
            try source.withUnsafeBytes { pageBuffer in
                var pieces = [iovec(iov_base: UnsafeMutableRawPointer(mutating: headBuffer.baseAddress), iov_len: head.count)]
                pieces += order.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: pageBuffer.baseAddress! + $0 * Self.pageBytes), iov_len: Self.pageBytes) }
                pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: pageBuffer.baseAddress! + pages * Self.pageBytes), iov_len: 1 << 20))
                try client.writeGathered(&pieces)
            }
        }
        let (headIn, pagesIn, reported) = try received.value()
        XCTAssertEqual(headIn, head)
        XCTAssertTrue(pagesIn == source, "the pages arrived where the scatter list put them")
        XCTAssertEqual(reported, head.count + source.count)

        // Server to client: plain writes, read back with read(into:) in odd-sized pieces.
        let reply = patternBytes(3 << 20 | 1, seed: 3)
        let sending = Pending { try server.write(reply) }
        var back: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 10_007)
        while back.count < reply.count {
            let count = try chunk.withUnsafeMutableBytes { try client.read(into: $0) }
            XCTAssertGreaterThan(count, 0)
            guard count > 0 else { break }
            back += chunk[0 ..< count]
        }
        try sending.value()
        XCTAssertTrue(back == reply, "the reply arrived intact")

        // A close sends close_notify: the other side reads the end of the stream.
        client.close()
        XCTAssertEqual(try chunk.withUnsafeMutableBytes { try server.read(into: $0) }, 0)
    }

    func testTheLinkCarriesNoPlaintextUnderTLS() throws {
        // 4 KiB that an eavesdropper knows, sent 64 times (as a guest page could be).
        let page = patternBytes(Self.pageBytes, seed: 4)
        let files = try TLSTestCertificates.files()
        for tls in [false, true] {
            let (port, pending) = try TLSLoopback.serve { socket in
                if tls { try socket.startTLS(files.configuration("hostb"), role: .server, handshakeTimeoutSeconds: 20) }
                var received = [UInt8](repeating: 0, count: page.count * 64)
                var pieces = [iovec]()
                try received.withUnsafeMutableBytes { buffer in
                    pieces = (0 ..< 64).map { iovec(iov_base: buffer.baseAddress! + $0 * page.count, iov_len: page.count) }
                    try socket.readScattered(&pieces) { _ in }
                }
                return received
            }
            let proxy = try LoopbackCaptureProxy(targetPort: port)
            let client = try TLSLoopback.connect(proxy.port)
            if tls { try client.startTLS(files.configuration("hosta"), role: .client, handshakeTimeoutSeconds: 20) }
            try page.withUnsafeBytes { buffer in
                var pieces = (0 ..< 64).map { _ in iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: page.count) }
                try client.writeGathered(&pieces)
            }
            XCTAssertTrue(try pending.value() == Array((0 ..< 64).map { _ in page }.joined()), "tls \(tls): the server got the pages")
            client.close()
            let captured = Data(try proxy.captured())
            XCTAssertGreaterThanOrEqual(captured.count, 64 * page.count, "tls \(tls): the proxy saw the whole stream")
            // Without TLS the capture holds the page (the proxy does capture); with TLS not even 32 bytes of it.
            XCTAssertEqual(captured.range(of: Data(page)) != nil, !tls, "tls \(tls)")
            XCTAssertEqual(captured.range(of: Data(page.prefix(32))) != nil, !tls, "tls \(tls)")
        }
    }
}
