import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// `migrate --verify-memory` end to end over loopback: the source sends the digest of the paused
/// guest's memory, the receiver compares its own before "ready". Equal: the guest runs there
/// and both sides know it was verified. Different (a page lost on the way, here a digest off by
/// one bit): the destination refuses, throws its copy away, and the source resumes.
final class MemoryVerificationTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory

    private func migrate(digestOffByOne: Bool) throws -> (MigrationReport, StreamChannel, ScriptedSourceHypervisor, received: ReceivedMigration?, error: String?) {
        let pages = 4096
        let source = PlainMemory(pages: pages)
        for page in 0 ..< pages { source.pageAddress(page).storeBytes(of: UInt64(page) &* 0x9E37_79B9_7F4A_7C15, as: UInt64.self) }
        let destination = PlainMemory(pages: pages)
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        final class Box: @unchecked Sendable { var received: ReceivedMigration?; var error: String? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            do {
                let connection = try listener.accept()
                defer { connection.close() }
                box.received = try MigrationReceiver.receive(on: connection) { _ in destination }
            } catch {
                box.error = "\(error)"
            }
        }.start()
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        defer { socket.close() }
        let layout = GuestLayout(name: "plain", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout) { UnsafeRawPointer(source.pageAddress($0)) }
        var hypervisor = ScriptedSourceHypervisor(plain: .init(memory: source, dirty: DirtyBitmap(pageCount: pages), writesPerRead: 300),
                                                  digest: digestOffByOne ? .offByOne : .right)
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: EngineSettings())
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel)
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        return (report, channel, hypervisor, box.received, box.error)
    }

    func testEqualMemoryIsVerifiedOnBothSides() throws {
        let (report, channel, _, received, error) = try migrate(digestOffByOne: false)
        XCTAssertNil(error)
        XCTAssertEqual(report.outcome, .converged, report.reason)
        XCTAssertTrue(channel.sentMemoryDigest)
        XCTAssertEqual(received?.memoryVerified, true)
    }

    func testDifferentMemoryIsRefusedBeforeReadyAndTheSourceResumes() throws {
        let (report, _, hypervisor, received, error) = try migrate(digestOffByOne: true)
        XCTAssertNil(received)
        XCTAssertTrue(error?.contains("the memory received differs from the source's") == true, error ?? "no error")
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("differs from the source's"), report.reason)
        XCTAssertFalse(hypervisor.plain.paused, "the source resumes")
        XCTAssertEqual(hypervisor.plain.resumes, 1)
    }
}
