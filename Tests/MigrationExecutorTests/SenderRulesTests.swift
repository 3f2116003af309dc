import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// The source's waits are bounded and it can be cancelled until it commits: a destination that
/// stops reading, one that never says "ready", a `--max-downtime` that runs out while paused,
/// and a cancel from another thread all end in an aborted migration with the source guest
/// running again; a cancel after the commit is refused.
final class SenderRulesTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory
    typealias PlainHypervisor = InMemoryMigrationTests.PlainHypervisor
    private let pages = 16_384  // 64 MiB

    /// A destination that accepts, sends its challenge, and then reads (and drops) everything,
    /// or nothing, and never answers again.
    private final class MuteDestination: @unchecked Sendable {
        let listener: ListeningSocket
        private var connection: BlockingSocket?

        /// With `drainedEvery`, it also says `drained` for a mark never sent (number 99), at
        /// that interval, for ever.
        init(reads: Bool, drainedEvery: Double? = nil) throws {
            listener = try ListeningSocket(host: "127.0.0.1", port: 0)
            Thread { [self] in
                guard let socket = try? listener.accept() else { return }
                connection = socket
                var encoder = StreamEncoder(direction: .destinationToSource)
                var opening: [UInt8] = []
                encoder.appendHeader(into: &opening)
                try? encoder.append(.challenge(nonce: [UInt8](repeating: 1, count: 16)), into: &opening)
                try? socket.write(opening)
                if let drainedEvery {
                    var drained: [UInt8] = []
                    try? encoder.append(.drained(sequence: 99), into: &drained)
                    let bytes = drained
                    Thread {
                        while (try? socket.write(bytes)) != nil { usleep(UInt32(drainedEvery * 1e6)) }
                    }.start()
                }
                guard reads else { return }
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while (buffer.withUnsafeMutableBytes { (try? socket.read(into: $0)) ?? 0 }) > 0 {}
            }.start()
        }
    }

    private func migrate(to destination: MuteDestination, timeouts: SenderTimeouts, cancellation: MigrationCancellation = MigrationCancellation(),
                         maxDowntimeSeconds: Double? = nil, live: Bool = true,
                         whenStarted: () -> Void = {}) throws -> (MigrationReport, PlainHypervisor) {
        let source = PlainMemory(pages: pages)
        // Data in every page: zero pages would go as 8-byte markers and never fill the socket.
        for page in 0 ..< pages { source.pageAddress(page).storeBytes(of: UInt64(page) | 1 << 63, as: UInt64.self) }
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: destination.listener.port))
        cancellation.attach(socket, shutdownWriting: true)
        let layout = GuestLayout(name: "plain", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout, timeouts: timeouts) { UnsafeRawPointer(source.pageAddress($0)) }
        var hypervisor = PlainHypervisor(memory: source, dirty: DirtyBitmap(pageCount: pages), writesPerRead: 0)
        var settings = EngineSettings()
        settings.live = live
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: settings)
        whenStarted()
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel, cancellation: cancellation,
                                           maxDowntimeSeconds: maxDowntimeSeconds)
        return (report, hypervisor)
    }

    func testADestinationThatStopsReadingHitsTheStallTimeout() throws {
        let (report, hypervisor) = try migrate(to: try MuteDestination(reads: false), timeouts: SenderTimeouts(stalledSendSeconds: 0.5))
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("took no data for 0.5 s (the sender's stall timeout)"), report.reason)
        XCTAssertFalse(hypervisor.paused, "the source guest must run again")
    }

    /// A destination that answers drain marks the source never sent (for ever) cannot hold the
    /// source in its wait before the pause: the migration stops there, the guest never paused.
    func testADestinationAnsweringMarksNeverSentIsRefusedBeforeThePause() throws {
        let (report, hypervisor) = try migrate(to: try MuteDestination(reads: true, drainedEvery: 0.01), timeouts: SenderTimeouts())
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("answered drain mark 99, which was never sent or was answered already (1 sent, 0 late)"), report.reason)
        XCTAssertEqual(hypervisor.resumes, 0, "it never paused")
        XCTAssertFalse(hypervisor.paused)
        XCTAssertNil(report.pausePhases)
    }

    func testADestinationThatNeverSaysReadyLetsTheSourceResume() throws {
        let (report, hypervisor) = try migrate(to: try MuteDestination(reads: true), timeouts: SenderTimeouts(readySeconds: 0.5))
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("did not say readyToUnpause (type 16) within 0.5 s"), report.reason)
        XCTAssertEqual(hypervisor.resumes, 1, "paused for the final round, then resumed exactly once")
        XCTAssertFalse(hypervisor.paused)
    }

    func testMaxDowntimeResumesTheSourceWhenTheDestinationStalls() throws {
        let start = monotonicSeconds()
        let (report, hypervisor) = try migrate(to: try MuteDestination(reads: true), timeouts: SenderTimeouts(),
                                               maxDowntimeSeconds: 0.3)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("within --max-downtime 0.3 s"), report.reason)
        XCTAssertEqual(hypervisor.resumes, 1)
        XCTAssertLessThan(monotonicSeconds() - start, 30, "the default 60 s ready timeout must not be what ended it")
    }

    func testACancelFromAnotherThreadStopsAnOfflineCopyAndResumes() throws {
        let cancellation = MigrationCancellation()
        // The destination reads nothing, so the copy blocks in a send until the cancel wakes it.
        let (report, hypervisor) = try migrate(to: try MuteDestination(reads: false), timeouts: SenderTimeouts(),
                                               cancellation: cancellation, live: false) {
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel(reason: "migrate --cancel") }
        }
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.hasPrefix("cancelled: migrate --cancel"), report.reason)
        XCTAssertEqual(hypervisor.resumes, 1)
        XCTAssertFalse(cancellation.hasCommitted)
    }

    func testACancelAfterTheCommitIsRefused() {
        let cancellation = MigrationCancellation()
        XCTAssertTrue(cancellation.commit())
        XCTAssertFalse(cancellation.cancel(reason: "too late"))
        XCTAssertNil(cancellation.cancelledReason)
        let cancelled = MigrationCancellation()
        XCTAssertTrue(cancelled.cancel(reason: "first"))
        XCTAssertFalse(cancelled.commit(), "a cancelled migration never commits")
    }
}
