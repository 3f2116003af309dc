/// QemuPolicy as a pure function of PrecopyStats: threshold = bandwidth x downtime limit,
/// stop/sync when the pending bytes fall under it, and auto-converge's throttle steps.
import MigrationCore
import XCTest

final class QemuPolicyTests: XCTestCase {
    /// 1 MB/s measured: threshold 300_000 bytes; 73 pages = 299_008 bytes, 74 = 303_104.
    private func stats(pending: Double, bandwidth: Double = 1_000_000) -> PrecopyStats {
        makeStats(guestPages: 10_000) {
            $0.iteration = 2
            $0.dirtyPageCount = pending
            $0.pendingPageCount = pending
            $0.measuredBandwidthBytesPerSecond = bandwidth
        }
    }

    func testThresholdIsBandwidthTimesDowntimeLimit() {
        XCTAssertEqual(QemuPolicy().thresholdBytes(stats(pending: 1)), 300_000, accuracy: 1e-6)
        XCTAssertEqual(QemuPolicy(downtimeLimitSeconds: 1).thresholdBytes(stats(pending: 1, bandwidth: 123_456)), 123_456, accuracy: 1e-6)
        XCTAssertEqual(QemuPolicy().name, "qemu")
    }

    func testAfterDirtyLogReadStopsWhenPendingBytesUnderThreshold() {
        var policy = QemuPolicy()
        let stop = stopOf(policy.afterDirtyLogRead(stats(pending: 73)))
        XCTAssertEqual(stop?.outcome, .converged)
        XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, false)
        XCTAssertTrue(stop?.reason.contains("299008") ?? false, stop?.reason ?? "")
        XCTAssertEqual(policy.afterDirtyLogRead(stats(pending: 74)), .continuePrecopy)
    }

    func testNothingPendingStopsEvenWithoutMeasuredBandwidth() {
        var policy = QemuPolicy()
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(stats(pending: 0, bandwidth: 0)))?.outcome, .converged)
        XCTAssertEqual(policy.afterDirtyLogRead(stats(pending: 1, bandwidth: 0)), .continuePrecopy)
    }

    func testBetweenBatchesSyncsWhenPendingBytesUnderThreshold() {
        var policy = QemuPolicy()
        XCTAssertEqual(policy.betweenBatches(stats(pending: 73)), .syncDirtyLogNow)
        XCTAssertEqual(policy.betweenBatches(stats(pending: 74)), .keepSending)
    }

    func testAfterRoundAlwaysContinues() {
        var policy = QemuPolicy()
        XCTAssertEqual(policy.afterRound(stats(pending: 0)), .continuePrecopy)
    }

    // MARK: Auto-converge

    /// A sync at `elapsed` seconds: 1_000_000 bytes more on the wire than the last one,
    /// `dirty` pages dirtied (200 pages = 819_200 bytes > 50 % of 1_000_000).
    private func sync(_ policy: inout QemuPolicy, number: Int, elapsed: Double, dirty: Double = 200,
                      totalBytes: Double? = nil) {
        _ = policy.afterDirtyLogRead(makeStats(guestPages: 1_000_000) {
            $0.iteration = number
            $0.elapsedSeconds = elapsed
            $0.totalBytesSent = totalBytes ?? Double(number) * 1_000_000
            $0.dirtyPageCount = dirty
            $0.pendingPageCount = 500_000
        })
    }

    func testWithoutAutoConvergeNoThrottle() {
        var policy = QemuPolicy()
        for n in 1 ... 6 { sync(&policy, number: n, elapsed: 1.5 * Double(n)) }
        XCTAssertEqual(policy.guestThrottlePercent, 0)
    }

    func testThrottleSteps20Then30ThenCappedAt99() {
        var policy = QemuPolicy(autoConverge: .init())
        var observed: [Int] = []
        for n in 1 ... 20 {
            sync(&policy, number: n, elapsed: 1.5 * Double(n))
            observed.append(policy.guestThrottlePercent)
        }
        // Every second high period raises the throttle: 20, 30, ..., 90, then min(100, 99).
        XCTAssertEqual(observed, [0, 20, 20, 30, 30, 40, 40, 50, 50, 60, 60, 70, 70, 80, 80, 90, 90, 99, 99, 99])
    }

    func testSyncsWithinOneSecondOfThePeriodStartDoNotCloseIt() {
        var policy = QemuPolicy(autoConverge: .init())
        sync(&policy, number: 1, elapsed: 0.5)
        sync(&policy, number: 2, elapsed: 1.0) // not > 0 + 1
        XCTAssertEqual(policy.guestThrottlePercent, 0)
        sync(&policy, number: 3, elapsed: 1.5) // closes period 1: high count 1
        sync(&policy, number: 4, elapsed: 2.0) // not > 1.5 + 1
        XCTAssertEqual(policy.guestThrottlePercent, 0)
        sync(&policy, number: 5, elapsed: 2.6) // closes period 2: high count 2
        XCTAssertEqual(policy.guestThrottlePercent, 20)
    }

    func testDirtiedBytesMustExceedHalfTheTransferredBytes() {
        // Transferred 1_000_000 per period; 122 pages = 499_712 bytes (< 50 %), 123 = 503_808 (> 50 %).
        var low = QemuPolicy(autoConverge: .init())
        for n in 1 ... 4 { sync(&low, number: n, elapsed: 1.5 * Double(n), dirty: 122) }
        XCTAssertEqual(low.guestThrottlePercent, 0)
        var high = QemuPolicy(autoConverge: .init())
        for n in 1 ... 2 { sync(&high, number: n, elapsed: 1.5 * Double(n), dirty: 123) }
        XCTAssertEqual(high.guestThrottlePercent, 20)
    }

    func testDirtyPagesAccumulateOverTheWholePeriod() {
        // Three syncs of 50 pages each per period (only the third closes it, 1.2 s after its
        // start) while 1_000_000 bytes go out: 150 pages = 614_400 bytes > 500_000, although
        // any one sync (204_800 bytes) would not be.
        var policy = QemuPolicy(autoConverge: .init())
        for period in 0 ..< 2 {
            let start = 1.2 * Double(period)
            let bytes = Double(period + 1) * 1_000_000
            sync(&policy, number: 3 * period + 1, elapsed: start + 0.4, dirty: 50, totalBytes: bytes)
            sync(&policy, number: 3 * period + 2, elapsed: start + 0.8, dirty: 50, totalBytes: bytes)
            sync(&policy, number: 3 * period + 3, elapsed: start + 1.2, dirty: 50, totalBytes: bytes)
        }
        XCTAssertEqual(policy.guestThrottlePercent, 20)
    }

    func testTheConsultationBeforeTheFirstPassIsNoSyncForAutoConverge() {
        // The engine asks every policy once before round 1 with every page "dirty" (iteration 0);
        // QEMU's first bitmap sync finds nothing new, so that must not count as a high period.
        var policy = QemuPolicy(autoConverge: QemuPolicy.AutoConverge())
        var stats = PrecopyStats(guestPageCount: 100_000, pageSizeBytes: 4096)
        stats.dirtyPageCount = 100_000
        _ = policy.afterDirtyLogRead(stats)
        // Two quiet periods after it: the throttle must stay off.
        for period in 1 ... 2 {
            stats.iteration = period
            stats.elapsedSeconds = 1.5 * Double(period)
            stats.totalBytesSent = 1e9 * Double(period)
            stats.dirtyPageCount = 10
            _ = policy.afterDirtyLogRead(stats)
        }
        XCTAssertEqual(policy.guestThrottlePercent, 0)
    }
}
