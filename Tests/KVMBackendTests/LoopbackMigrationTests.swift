import Foundation
@testable import KVMBackend
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// A running 256 MiB KVM guest migrated live over loopback TCP under each policy: the engine
/// core driven by the executor on one side, the receiver on the other. The destination's memory
/// must equal the source's at the pause, and the heartbeat must go on there.
final class LoopbackMigrationTests: XCTestCase {
    private let mib = 1 << 20




    private func runningGuest(_ workload: GuestWorkload, memoryMiB: Int = 256) throws -> KVMGuest {
        let guest = try KVMGuest.create(name: "guest", memoryBytes: memoryMiB * mib, workload: workload)
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 5) { guest.counters.heartbeats >= 3 }, "the guest did not start")
        return guest
    }

    private func assertArrivedIntact(_ outcome: LoopbackMigrator.Outcome, sourceHeartbeats: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(outcome.receiveError, file: file, line: line)
        let received = try XCTUnwrap(outcome.received, file: file, line: line)
        let destination = try XCTUnwrap((received.guest as? KVMIncomingGuest)?.guest, file: file, line: line)
        defer { destination.destroy() }
        XCTAssertNotEqual(outcome.source.report.outcome, .aborted, outcome.source.report.reason, file: file, line: line)
        XCTAssertEqual(outcome.destinationDigest, outcome.source.sourceDigestAtPause,
                       "the destination's memory differs from the source's at the pause", file: file, line: line)
        XCTAssertNotNil(outcome.source.sourceDigestAtPause, file: file, line: line)
        XCTAssertFalse(outcome.source.sourceRunning, "the source copy is gone", file: file, line: line)
        // The heartbeat goes on over there, counting on from the source's.
        XCTAssertTrue(waitUntil(seconds: 5) { destination.counters.heartbeats >= UInt64(sourceHeartbeats) + 3 },
                      "heartbeats at the destination: \(destination.counters.heartbeats)", file: file, line: line)
        XCTAssertNil(destination.failure, file: file, line: line)
        let report = outcome.source.report
        XCTAssertEqual(report.iterations.last?.paused, true, file: file, line: line)
        XCTAssertGreaterThanOrEqual(report.pagesSent, report.guestPages, "every page went at least once", file: file, line: line)
        // The report's wall-clock measurements: the guest's last heartbeat before the pause and
        // its next one, printed over there; the gap between them holds the whole downtime.
        let measured = try XCTUnwrap(report.measured, "no wall-clock measurements in the report", file: file, line: line)
        let before = try XCTUnwrap(measured.lastLineBeforePause.flatMap { Int($0.dropFirst(3)) }, "\(measured)", file: file, line: line)
        XCTAssertEqual(measured.firstLineAfterUnpause, "hb \(before + 1)", file: file, line: line)
        let downtime = try XCTUnwrap(measured.downtimeBothClocksSeconds, file: file, line: line)
        let gap = try XCTUnwrap(measured.guestVisibleGapSeconds, file: file, line: line)
        XCTAssertGreaterThan(downtime, 0, file: file, line: line)
        XCTAssertGreaterThanOrEqual(gap, downtime, "the guest-visible gap holds the downtime", file: file, line: line)
    }

    func testLiveMigrationUnderEachPolicyArrivesIntact() throws {
        try requireKVM()
        for name in PolicyName.allCases {
            let guest = try runningGuest(GuestWorkload(kind: .uniform, workingSetPages: 8192, ratePagesPerSecond: 20_000))
            let outcome = try LoopbackMigrator.migrate(guest, policy: PolicyConfiguration(name: name, timeoutSeconds: 30))
            let beats = Int(guest.counters.heartbeats)
            XCTAssertEqual(outcome.source.report.policy, name.rawValue)
            try assertArrivedIntact(outcome, sourceHeartbeats: beats)
            let report = outcome.source.report
            switch name {
            case .xen3, .xen4:
                // Thousands of pages are dirty after the first pass: more passes follow.
                XCTAssertGreaterThan(report.liveIterationCount, 1, "\(name): pre-copy ran more than the first pass")
            case .qemu, .timeout:
                // QEMU stops as soon as the dirty pages fit the 300 ms budget at the measured rate.
                XCTAssertTrue(report.reason.contains("downtime limit"), "\(name): \(report.reason)")
            }
        }
    }

    func testOfflineMigrationPausesFirstAndArrivesIntact() throws {
        try requireKVM()
        let guest = try runningGuest(GuestWorkload(kind: .hotCold, workingSetPages: 16_384, hotPages: 512,
                                                   ratePagesPerSecond: 10_000, coldRatePagesPerSecond: 1000))
        var settings = EngineSettings()
        settings.live = false
        let outcome = try LoopbackMigrator.migrate(guest, policy: PolicyConfiguration(name: .xen4), settings: settings)
        XCTAssertEqual(outcome.source.report.iterations.count, 1)
        XCTAssertEqual(outcome.source.report.iterations.first?.pagesSent, 65_536)
        try assertArrivedIntact(outcome, sourceHeartbeats: Int(guest.counters.heartbeats))
    }

    func testAGuestThatCannotConvergeFallsBackToOfflineAndArrivesIntact() throws {
        try requireKVM()
        // 8 MiB rewritten at 20,000 pages/s (80 MB/s) over a link capped at 16 MB/s.
        var settings = EngineSettings()
        settings.rateLimitBytesPerSecond = 16_000_000
        for policy in [PolicyConfiguration(name: .xen4), PolicyConfiguration(name: .qemu, fallbackRounds: 2)] {
            let guest = try runningGuest(GuestWorkload(kind: .uniform, workingSetPages: 2048, ratePagesPerSecond: 20_000),
                                         memoryMiB: 16)
            let outcome = try LoopbackMigrator.migrate(guest, policy: policy, settings: settings)
            let report = outcome.source.report
            XCTAssertEqual(report.outcome, .offlineFallback, "\(policy.name): \(report.reason)")
            XCTAssertTrue(report.reason.contains(policy.name == .xen4 ? "5 live iterations" : "cannot converge"), report.reason)
            XCTAssertGreaterThan(report.iterations.last?.pagesSent ?? 0, 1000, "the paused round carries the hot pages")
            try assertArrivedIntact(outcome, sourceHeartbeats: Int(guest.counters.heartbeats))
        }
    }
}
