import Foundation
import XCTest

/// Mutual TLS end to end on the command line: a guest moves between two hosts over TLS and a
/// recording of the link holds none of its memory (the same recording of a plain migration
/// does); a plain source and a source whose certificate comes from another CA are refused by
/// a TLS receiver, and their guests keep running at home. Certificates come from
/// scripts/make-tls-certs (the openssl commands of docs/tls.md). Real KVM firmware guests.
final class TLSMigrationCLITests: GuestHostsTestCase {
    private func makeCertificates(_ directory: String, _ hosts: [String]) throws {
        let result = try LivemigProcess.runExecutable("/bin/bash", ["scripts/make-tls-certs", directory] + hosts)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// A firmware guest whose image (and so a known run of its memory) the test holds.
    private func startFirmwareGuest(_ name: String, _ runDirectory: String) throws -> [UInt8] {
        let image = hosts.root.appendingPathComponent("fw.bin").path
        XCTAssertEqual(try hosts.livemig(["guest", "test-image", image]).status, 0)
        let started = try hosts.livemig(["guest", "start", name, "--memory", "16M", "--image", image, "--run-dir", runDirectory])
        XCTAssertEqual(started.status, 0, started.stderr)
        return Array(try XCTUnwrap(FileManager.default.contents(atPath: image)).prefix(64))
    }

    func testAGuestMovesOverTLSAndTheLinkCarriesNoneOfItsMemory() throws {
        let pki = hosts.root.appendingPathComponent("pki").path
        try makeCertificates(pki, ["hosta=127.0.0.1", "hostb=127.0.0.1"])
        let (hostA, hostB, hostC) = (hosts.runDirectory("a"), hosts.runDirectory("b"), hosts.runDirectory("c"))
        let plainPort = try hosts.startLoopbackReceiver(hostC).port
        let tlsPort = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--tls-dir", "\(pki)/hostb"]).port
        let imageStart = try startFirmwareGuest("fw", hostA)

        // Plain, A to C: a recording of the link holds the guest's memory.
        let plainProxy = try CapturingProxy(forwardingTo: plainPort)
        let plain = try hosts.livemig(["migrate", "fw", "127.0.0.1:\(plainProxy.port)", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plainProxy.captured(contains: imageStart), "the plain recording should hold the firmware image")

        // TLS, C to B: the recording holds none of it. Every page whole (no zero-page markers),
        // so that the whole guest's size crosses the proxy.
        let tlsProxy = try CapturingProxy(forwardingTo: tlsPort)
        let moved = try hosts.livemig(["migrate", "fw", "127.0.0.1:\(tlsProxy.port)", "--tls-dir", "\(pki)/hosta",
                                       "--no-zero-pages", "--format", "json", "--run-dir", hostC])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertEqual(try LivemigProcess.jsonObject(moved.stdout)["outcome"] as? String, "converged")
        XCTAssertGreaterThan(tlsProxy.captured.count, 16 << 20, "the whole guest went through the proxy")
        XCTAssertFalse(tlsProxy.captured(contains: imageStart), "guest memory crossed the link in clear")
        XCTAssertTrue(listing(hostB).contains("fw"), listing(hostB))
        XCTAssertFalse(listing(hostC).contains("fw"), listing(hostC))
    }

    func testATLSReceiverRefusesPlainAndForeignSourcesAndTheirGuestsStayHome() throws {
        let pki = hosts.root.appendingPathComponent("pki").path, rogue = hosts.root.appendingPathComponent("rogue").path
        try makeCertificates(pki, ["hostb=127.0.0.1"])
        try makeCertificates(rogue, ["hosta=127.0.0.1"])
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--tls-dir", "\(pki)/hostb"]).port
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)

        let plain = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--run-dir", hostA])
        XCTAssertNotEqual(plain.status, 0, "a plain source must be refused")
        XCTAssertTrue(plain.stderr.contains("requires TLS"), plain.stderr)
        let foreign = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--tls-dir", "\(rogue)/hosta", "--run-dir", hostA])
        XCTAssertNotEqual(foreign.status, 0, "a certificate from another CA must be refused")
        XCTAssertTrue(foreign.stderr.lowercased().contains("certificate") || foreign.stderr.contains("CA"), foreign.stderr)

        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
        let before = heartbeatCount("web", hostA)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("web", hostA) >= before + 3 })
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("web") }, listing(hostB))
    }

    /// A destination that is not one of the operator's hosts (its certificate comes from
    /// another CA) would say "ready" and "running" and keep the guest; a TLS source refuses it
    /// at the handshake, before a byte of the guest leaves, and keeps its guest.
    func testATLSSourceRefusesAFakeDestinationAndKeepsItsGuest() throws {
        let pki = hosts.root.appendingPathComponent("pki").path, rogue = hosts.root.appendingPathComponent("rogue").path
        try makeCertificates(pki, ["hosta=127.0.0.1"])
        try makeCertificates(rogue, ["hostb=127.0.0.1"])
        let (hostA, fake) = (hosts.runDirectory("a"), hosts.runDirectory("fake"))
        let port = try hosts.startLoopbackReceiver(fake, extraArguments: ["--tls-dir", "\(rogue)/hostb"]).port
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let moved = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--tls-dir", "\(pki)/hosta", "--run-dir", hostA])
        XCTAssertNotEqual(moved.status, 0, "the source must not give its guest to a destination outside its CA")
        XCTAssertTrue(moved.stderr.contains("not signed by this host's CA"), moved.stderr)
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
        XCTAssertFalse(listing(fake).contains("web"), listing(fake))
    }
}
