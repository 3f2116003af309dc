import CTLS
import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// Who may talk to whom under mutual TLS, over loopback with certificates made by the real
/// `openssl` command: both sides must hold a certificate from the operator's CA, the allow-list
/// and the expected host name narrow that down, and a plain or silent peer is turned away
/// within the handshake deadline. Every refusal is checked on both sides, for its reason.
final class TLSHandshakeTests: XCTestCase {
    func testHostsWithCertificatesFromTheCAConnectAndSeeEachOthersNames() throws {
        let files = try TLSTestCertificates.files()
        let (server, client) = try TLSLoopback.handshake(server: files.configuration("hostb"), client: files.configuration("hosta"),
                                                         expectedServerName: "hostb.test")
        let serverSide = try server.get()
        let clientSide = try client.get()
        XCTAssertTrue(serverSide.isTLS && clientSide.isTLS)
        XCTAssertEqual(serverSide.tlsPeerIdentity?.names, TLSPeerIdentity(commonName: "hosta.test", dnsNames: ["hosta.test"]).names)
        XCTAssertEqual(clientSide.tlsPeerIdentity?.commonName, "hostb.test")
        // Both ends name the same TLS 1.3 suite: ChaCha20 first on a CPU without AES instructions.
        let suite = try XCTUnwrap(serverSide.tlsPeerIdentity?.suite)
        XCTAssertEqual(clientSide.tlsPeerIdentity?.suite, suite)
        XCTAssertEqual(suite, ctls_cpu_has_aes() == 1 ? "TLS_AES_256_GCM_SHA384" : "TLS_CHACHA20_POLY1305_SHA256")
    }

    func testAClientWithoutACertificateIsRefused() throws {
        let files = try TLSTestCertificates.files()
        let (port, pending) = try TLSLoopback.serve { socket in
            try socket.startTLS(files.configuration("hostb"), role: .server, handshakeTimeoutSeconds: 20)
        }
        // The real openssl client, with the CA to check the server but no certificate of its own.
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        client.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_3", "-CAfile", files.path("ca-cert.pem"), "-quiet"]
        let input = Pipe()
        client.standardInput = input
        client.standardOutput = FileHandle.nullDevice
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer {
            if client.isRunning { client.terminate() }
            client.waitUntilExit()
        }
        let text = failureText(try pending.result())
        XCTAssertTrue(text?.contains("127.0.0.1") == true && text?.contains("the peer presented no certificate") == true, text ?? "accepted")
    }

    func testACertificateFromAnotherCAIsRefusedBothWays() throws {
        let files = try TLSTestCertificates.files()
        // A client whose certificate a rogue CA signed (for a name the server would accept).
        let (server, client) = try TLSLoopback.handshake(server: files.configuration("hostb", allowing: ["hosta.test"]),
                                                         client: files.configuration("rogue"))
        XCTAssertTrue(failureText(server)?.contains("the peer's certificate is not signed by this host's CA") == true, failureText(server) ?? "accepted")
        XCTAssertTrue(failureText(client)?.contains("unknown CA") == true, failureText(client) ?? "accepted")
        // A server whose certificate a rogue CA signed.
        let (rogueServer, honestClient) = try TLSLoopback.handshake(server: files.configuration("rogue"), client: files.configuration("hostb"))
        XCTAssertTrue(failureText(honestClient)?.contains("the peer's certificate is not signed by this host's CA") == true,
                      failureText(honestClient) ?? "accepted")
        XCTAssertTrue(failureText(rogueServer)?.contains("unknown CA") == true, failureText(rogueServer) ?? "accepted")
    }

    func testACertificateForServersOnlyCannotSend() throws {
        let files = try TLSTestCertificates.files()
        // Its host may receive (be the TLS server)...
        let (server, client) = try TLSLoopback.handshake(server: files.configuration("serveronly"), client: files.configuration("hosta"))
        XCTAssertNoThrow(try server.get())
        XCTAssertNoThrow(try client.get())
        // ...but not send: extendedKeyUsage lacks clientAuth (docs/tls.md says to list both).
        let (refusing, _) = try TLSLoopback.handshake(server: files.configuration("hostb"), client: files.configuration("serveronly"))
        XCTAssertTrue(failureText(refusing)?.contains("the peer's certificate was refused: unsuitable certificate purpose") == true,
                      failureText(refusing) ?? "accepted")
    }

    func testTheAllowListRefusesAnUnlistedNameAndAcceptsAListedOne() throws {
        let files = try TLSTestCertificates.files()
        let server = files.configuration("hostb", allowing: ["HOSTA.test", "hostc.test"])
        let (refusing, refused) = try TLSLoopback.handshake(server: server, client: files.configuration("hostb"))
        XCTAssertTrue(failureText(refusing)?.contains("has no name in the allow-list (HOSTA.test, hostc.test): name not allowed") == true,
                      failureText(refusing) ?? "accepted")
        XCTAssertTrue(failureText(refused)?.contains("the peer refused this host's certificate: name not allowed there") == true,
                      failureText(refused) ?? "accepted")
        let (accepting, accepted) = try TLSLoopback.handshake(server: server, client: files.configuration("hosta"))
        XCTAssertEqual(try accepting.get().tlsPeerIdentity?.commonName, "hosta.test")
        XCTAssertNoThrow(try accepted.get())
    }

    func testTheClientChecksTheServersNameAgainstTheHostOrItsAllowList() throws {
        let files = try TLSTestCertificates.files()
        let (server, client) = try TLSLoopback.handshake(server: files.configuration("hosta"), client: files.configuration("hostb"),
                                                         expectedServerName: "hostb.test")
        XCTAssertTrue(failureText(client)?.contains("(CN hosta.test; DNS hosta.test) is not for hostb.test") == true, failureText(client) ?? "accepted")
        XCTAssertTrue(failureText(server)?.contains("the peer refused this host's certificate: name not allowed there") == true, failureText(server) ?? "accepted")
        // An address the certificate names as an IP subjectAltName, and the allow-list instead of the host.
        for (name, allowList) in [("127.0.0.1", [String]()), ("HostA.Test", []), ("10.9.9.9", ["hosta.test"])] {
            let (server, client) = try TLSLoopback.handshake(server: files.configuration("hosta"),
                                                             client: files.configuration("hostb", allowing: allowList),
                                                             expectedServerName: name)
            XCTAssertNoThrow(try client.get(), "\(name), \(allowList)")
            XCTAssertNoThrow(try server.get(), "\(name), \(allowList)")
        }
        let (_, unlisted) = try TLSLoopback.handshake(server: files.configuration("hosta"),
                                                      client: files.configuration("hostb", allowing: ["hostb.test"]))
        XCTAssertTrue(failureText(unlisted)?.contains("has no name in the allow-list (hostb.test)") == true, failureText(unlisted) ?? "accepted")
    }

    func testAPlainClientAgainstATLSServerIsRefusedAtOnce() throws {
        let files = try TLSTestCertificates.files()
        let timeoutSeconds = 30.0
        let (port, pending) = try TLSLoopback.serve { socket in
            let started = monotonicSeconds()
            let result = Result { try socket.startTLS(files.configuration("hostb"), role: .server, handshakeTimeoutSeconds: timeoutSeconds) }
            return (result.map { _ in () }, monotonicSeconds() - started)
        }
        // A plain livemig source: it opens with the stream header.
        let client = try TLSLoopback.connect(port)
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var header: [UInt8] = []
        encoder.appendHeader(into: &header)
        try client.write(header)
        let (result, seconds) = try pending.value()
        let text = failureText(result)
        XCTAssertTrue(text?.contains("the peer did not start TLS") == true && text?.contains("127.0.0.1") == true, text ?? "accepted")
        XCTAssertLessThan(seconds, timeoutSeconds / 2, "refused at once, not at the deadline")
        // The plain client sees the connection end.
        client.setReceiveTimeout(seconds: 20)
        var byte: UInt8 = 0
        let count = try? withUnsafeMutableBytes(of: &byte) { try client.read(into: $0) }
        XCTAssertTrue(count == nil || count == 0, "the server closed the connection")
    }

    func testATLSClientAgainstAPlainServerSaysSo() throws {
        let files = try TLSTestCertificates.files()
        let (port, pending) = try TLSLoopback.serve { socket in
            // As xl's receiver does, the plain server speaks first.
            try socket.write(Array("xl migration receiver ready, send binary domain data\n".utf8))
            var byte: UInt8 = 0
            _ = try? withUnsafeMutableBytes(of: &byte) { try socket.read(into: $0) }
            return socket
        }
        let client = try TLSLoopback.connect(port)
        let text = failureText(Result { try client.startTLS(files.configuration("hosta"), role: .client, handshakeTimeoutSeconds: 20) })
        XCTAssertTrue(text?.contains("the peer did not answer with TLS") == true, text ?? "accepted")
        client.close()
        _ = try pending.result()
    }

    func testASilentPeerHitsTheHandshakeDeadlineOnEitherSide() throws {
        let files = try TLSTestCertificates.files()
        for role in [TLSRole.server, .client] {
            let (port, pending) = try TLSLoopback.serve { socket in
                guard role == .server else { return (Result<Void, Error>.success(()), 0.0, socket) }
                let started = monotonicSeconds()
                let result = Result { _ = try socket.startTLS(files.configuration("hostb"), role: .server, handshakeTimeoutSeconds: 1) }
                return (result, monotonicSeconds() - started, socket)
            }
            let client = try TLSLoopback.connect(port)
            let (result, seconds): (Result<Void, Error>, Double)
            if role == .server {
                // The client connects and says nothing.
                (result, seconds, _) = try pending.value()
            } else {
                // The server accepts and says nothing.
                let (_, _, silentServer) = try pending.value()
                let started = monotonicSeconds()
                result = Result { _ = try client.startTLS(files.configuration("hosta"), role: .client, handshakeTimeoutSeconds: 1) }
                seconds = monotonicSeconds() - started
                silentServer.close()
            }
            let text = failureText(result)
            XCTAssertTrue(text?.contains("TLS handshake with 127.0.0.1") == true && text?.contains("timed out after 1.0 s") == true,
                          "\(role): \(text ?? "accepted")")
            XCTAssertGreaterThanOrEqual(seconds, 1.0, "\(role)")
            XCTAssertLessThan(seconds, 20, "\(role)")
            client.close()
        }
    }

    func testBadFilesAndValuesAreNamed() throws {
        let files = try TLSTestCertificates.files()
        func failure(_ configuration: TLSConfiguration) -> String? { failureText(Result { try TLSContext(configuration) }) }
        var missing = files.configuration("hosta")
        missing.caFilePath = files.path("nonexistent.pem")
        XCTAssertEqual(failure(missing), "TLS CA file \(files.path("nonexistent.pem")): cannot read: No such file or directory")
        var mismatched = files.configuration("hosta")
        mismatched.privateKeyFilePath = files.path("hostb-key.pem")
        XCTAssertTrue(failure(mismatched)?.hasPrefix("TLS private key file \(files.path("hostb-key.pem")): ") == true, failure(mismatched) ?? "loaded")
        var keyAsCA = files.configuration("hosta")
        keyAsCA.caFilePath = files.path("hosta-key.pem")
        XCTAssertTrue(failure(keyAsCA)?.hasPrefix("TLS CA file \(files.path("hosta-key.pem")): ") == true, failure(keyAsCA) ?? "loaded")
        XCTAssertTrue(failure(files.configuration("hosta", allowing: ["bad name"]))?.contains("TLS allowed peer name 'bad name'") == true)
        XCTAssertNoThrow(try TLSContext(files.configuration("hosta", allowing: ["hostb.test"])))
        let socket = try BlockingSocket.file(path: files.path("hosta.ext"), write: false)
        for timeout in [Double.nan, 0, -1, .infinity, 1e9] {
            let text = failureText(Result { try socket.startTLS(files.configuration("hosta"), role: .client, handshakeTimeoutSeconds: timeout) })
            XCTAssertTrue(text?.hasPrefix("TLS handshake timeout \(timeout) s: must be more than 0") == true, text ?? "accepted \(timeout)")
        }
        let emptyName = failureText(Result { try socket.startTLS(files.configuration("hosta"), role: .client, expectedPeerName: "", handshakeTimeoutSeconds: 1) })
        XCTAssertEqual(emptyName, "TLS expected peer name '': a host name or address is not empty and has no NUL")
        let onFile = failureText(Result { try socket.startTLS(files.configuration("hosta"), role: .client, handshakeTimeoutSeconds: 1) })
        XCTAssertEqual(onFile, "\(files.path("hosta.ext")): TLS needs a network connection, not a file")
    }
}
