import Dispatch
import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
import XCTest

/// Zero pages over a real socket: the source sends pages that are all zero as `zeroPages`
/// markers, the destination makes them read as zero (clearing a page it had received data for
/// in an earlier round), and the memory arrives identical with far fewer bytes on the wire.
final class ZeroPageMigrationTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory

    /// A guest whose memory has data in every third page; while the first round runs it zeroes
    /// some of those pages (already sent with data) and writes into some zero ones.
    struct RewritingHypervisor: SourceHypervisor {
        let memory: PlainMemory
        var reads = 0
        var paused = false
        mutating func enableDirtyLogging() throws(HostFailure) {}
        mutating func disableDirtyLogging() throws(HostFailure) {}
        mutating func peekDirtyLog() throws(HostFailure) -> DirtyBitmap { DirtyBitmap(pageCount: memory.pages) }
        mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
            reads += 1
            var dirty = DirtyBitmap(pageCount: memory.pages)
            guard reads == 1 else { return dirty }
            for page in stride(from: 0, to: 300, by: 3) {
                memory.pageAddress(page).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
                dirty.insert(page)
                memory.pageAddress(page + 1).storeBytes(of: 0xABCD, as: UInt64.self)
                dirty.insert(page + 1)
            }
            return dirty
        }
        mutating func setThrottle(percent: Int) throws(HostFailure) {}
        mutating func pauseGuest() throws(HostFailure) { paused = true }
        mutating func resumeGuest() throws(HostFailure) { paused = false }
        mutating func captureDeviceState() throws(HostFailure) -> CapturedGuestState {
            CapturedGuestState(vcpuStates: [[1]], deviceState: [2])
        }
        mutating func destroyGuest() throws(HostFailure) {}
    }

    func testZeroPagesGoAsMarkersAndTheMemoryArrivesIdentical() throws {
        let pages = 16_384
        let source = PlainMemory(pages: pages)
        for page in stride(from: 0, to: pages, by: 3) {
            source.pageAddress(page).storeBytes(of: UInt64(page) | 1 << 40, as: UInt64.self)
        }
        let destination = PlainMemory(pages: pages)
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var received: ReceivedMigration?; var error: String? }
        let box = Box()
        Thread {
            do {
                box.received = try MigrationReceiver.receive(on: try listener.accept()) { _ throws(HostFailure) in destination }
            } catch {
                box.error = "\(error)"
            }
            done.signal()
        }.start()
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let layout = GuestLayout(name: "zero", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout) { UnsafeRawPointer(source.pageAddress($0)) }
        var hypervisor = RewritingHypervisor(memory: source)
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: EngineSettings())
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel)
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertNil(box.error)
        XCTAssertEqual(report.outcome, .converged, report.reason)
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0,
                       "the memory differs (a page zeroed after it was sent with data must be cleared there)")
        for page in stride(from: 0, to: 300, by: 3) {
            XCTAssertEqual(destination.pageAddress(page).load(as: UInt64.self), 0, "page \(page)")
        }
        // Round 1: 5,462 of 16,384 pages with data, the rest markers; round 2: the 100 zeroed
        // pages as markers, the 100 written ones with data.
        let dataPages = 5_462 + 100
        let zeroPages = try XCTUnwrap(report.zeroPagesSent)
        XCTAssertEqual(zeroPages, pages - 5_462 + 100)
        XCTAssertEqual(report.pagesSent, dataPages + zeroPages)
        XCTAssertEqual(box.received?.pagesReceived, report.pagesSent)
        XCTAssertLessThan(report.bytesSent, dataPages * (4096 + 8) + zeroPages * 8 + 20 * 32 + 1024,
                          "zero pages cost their number, not their 4 KiB")
    }
}
