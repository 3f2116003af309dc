import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// The executor, the stream channel and the receiver over real loopback TCP, with plain memory
/// standing in for a hypervisor: no /dev/kvm needed. Checks that the destination's memory equals
/// the source's and that the commit handshake runs to the end.
final class InMemoryMigrationTests: XCTestCase {
    /// A "guest" that is just memory; a test writes into it between dirty-log reads.
    final class PlainMemory: IncomingGuest, @unchecked Sendable {
        let pages: Int
        let base: UnsafeMutableRawPointer
        var ran = false
        var discarded = false
        var state: [UInt8] = []

        init(pages: Int) {
            self.pages = pages
            base = UnsafeMutableRawPointer.allocate(byteCount: pages * 4096, alignment: 4096)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: pages * 4096)
        }
        deinit { base.deallocate() }

        func pageAddress(_ page: Int) -> UnsafeMutableRawPointer { base + page * 4096 }
        func loadVcpuState(_ state: [UInt8], vcpu: Int) throws(HostFailure) { self.state = state }
        var deviceState: [UInt8] = []
        func loadDeviceState(_ state: [UInt8]) throws(HostFailure) { deviceState = state }
        func run() throws(HostFailure) { ran = true }
        func discard() { discarded = true }
    }

    /// A source "hypervisor" over plain memory whose dirty log is what the test wrote.
    struct PlainHypervisor: SourceHypervisor {
        let memory: PlainMemory
        var dirty: DirtyBitmap
        var writesPerRead: Int
        var round = 0
        var paused = false

        mutating func enableDirtyLogging() throws(HostFailure) {}
        mutating func disableDirtyLogging() throws(HostFailure) {}
        mutating func peekDirtyLog() throws(HostFailure) -> DirtyBitmap { dirty }
        mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
            defer {
                dirty = DirtyBitmap(pageCount: memory.pages)
                round += 1
                // The "guest" writes a few pages again before the next read, while it runs.
                for index in 0 ..< (paused ? 0 : max(0, writesPerRead - round * 100)) {
                    let page = (index * 7919 + round) % memory.pages
                    memory.pageAddress(page).storeBytes(of: UInt64(round), as: UInt64.self)
                    dirty.insert(page)
                }
            }
            return dirty
        }
        mutating func setThrottle(percent: Int) throws(HostFailure) {}
        mutating func pauseGuest() throws(HostFailure) { paused = true }
        var resumes = 0
        mutating func resumeGuest() throws(HostFailure) {
            paused = false
            resumes += 1
        }
        mutating func captureDeviceState() throws(HostFailure) -> CapturedGuestState {
            CapturedGuestState(vcpuStates: [[1, 2, 3]], deviceState: [9])
        }
        mutating func destroyGuest() throws(HostFailure) {}
    }

    func testMemoryArrivesIdenticalAndTheHandshakeCompletes() throws {
        try migrate(pages: 65_536)  // 256 MiB
    }

    /// The same stream code over mutual TLS (BlockingSocket.startTLS on both ends, nothing else).
    func testMemoryArrivesIdenticalOverTLS() throws {
        let files = try TLSTestCertificates.files()
        try migrate(pages: 16_384) { (socket, role) throws(HostFailure) in  // 64 MiB
            try socket.startTLS(files.configuration(role == .server ? "hostb" : "hosta"), role: role, handshakeTimeoutSeconds: 20)
        }
    }

    /// Migrates `pages` of plain memory over loopback; `secure` may start TLS on each end first.
    private func migrate(pages: Int, secure: @escaping @Sendable (BlockingSocket, TLSRole) throws(HostFailure) -> Void = { _, _ in }) throws {
        let source = PlainMemory(pages: pages)
        for page in 0 ..< pages { source.pageAddress(page).storeBytes(of: UInt64(page) &* 0x9E37_79B9_7F4A_7C15, as: UInt64.self) }
        let destination = PlainMemory(pages: pages)
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var received: ReceivedMigration?; var error: String? }
        let box = Box()
        Thread {
            do {
                let connection = try listener.accept()
                try secure(connection, .server)
                box.received = try MigrationReceiver.receive(on: connection) { layout throws(HostFailure) in
                    guard layout.guestPages == UInt64(pages) else { throw HostFailure("wrong size") }
                    return destination
                }
            } catch {
                box.error = "\(error)"
            }
            done.signal()
        }.start()
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        try secure(socket, .client)
        let layout = GuestLayout(name: "plain", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout) { UnsafeRawPointer(source.pageAddress($0)) }
        var hypervisor = PlainHypervisor(memory: source, dirty: DirtyBitmap(pageCount: pages), writesPerRead: 500)
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: EngineSettings())
        let start = monotonicSeconds()
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel)
        let seconds = monotonicSeconds() - start
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertNil(box.error)
        XCTAssertEqual(report.outcome, .converged, report.reason)
        XCTAssertTrue(destination.ran, "the destination ran the guest only after being cleared")
        XCTAssertEqual(destination.state, [1, 2, 3])
        XCTAssertEqual(destination.deviceState, [9])
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0, "the memory differs")
        XCTAssertEqual(box.received?.pagesReceived, report.pagesSent)
        print(String(format: "in-memory migration: %.0f MB/s over loopback%@", Double(report.bytesSent) / seconds / 1e6, socket.isTLS ? " (TLS)" : ""))
    }
}
