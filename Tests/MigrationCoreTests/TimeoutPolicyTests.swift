/// TimeoutPolicy (libvirt --timeout): delegates to QEMU's rule before the timeout and stops
/// with an offline fallback at or after it.
import MigrationCore
import XCTest

final class TimeoutPolicyTests: XCTestCase {
    /// 1 MB/s measured (QEMU threshold 300_000 bytes), `pending` pages of 4 KiB pending.
    private func stats(elapsed: Double, pending: Double) -> PrecopyStats {
        makeStats(guestPages: 10_000) {
            $0.iteration = 2
            $0.elapsedSeconds = elapsed
            $0.dirtyPageCount = pending
            $0.pendingPageCount = pending
            $0.measuredBandwidthBytesPerSecond = 1_000_000
        }
    }

    func testName() {
        XCTAssertEqual(TimeoutPolicy(timeoutSeconds: 10).name, "timeout")
    }

    func testBetweenBatchesDelegatesBeforeTheTimeout() {
        var policy = TimeoutPolicy(timeoutSeconds: 10)
        XCTAssertEqual(policy.betweenBatches(stats(elapsed: 9.999, pending: 1_000)), .keepSending)
        // 10 pages = 40_960 bytes < 300_000: QEMU's own rule asks for a sync.
        XCTAssertEqual(policy.betweenBatches(stats(elapsed: 9.999, pending: 10)), .syncDirtyLogNow)
    }

    func testBetweenBatchesAtAndAfterTheTimeoutStopsWithFallback() {
        var policy = TimeoutPolicy(timeoutSeconds: 10)
        for elapsed in [10.0, 25.0] {
            let stop = stopOf(policy.betweenBatches(stats(elapsed: elapsed, pending: 1_000)))
            XCTAssertEqual(stop?.outcome, .offlineFallback, "at \(elapsed) s")
            XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, false)
            XCTAssertTrue(stop?.reason.contains("10 s") ?? false, stop?.reason ?? "")
        }
        // The timeout wins over QEMU's sync request.
        XCTAssertEqual(stopOf(policy.betweenBatches(stats(elapsed: 10, pending: 10)))?.outcome, .offlineFallback)
    }

    func testAfterRoundAtTheTimeout() {
        var policy = TimeoutPolicy(timeoutSeconds: 10)
        XCTAssertEqual(policy.afterRound(stats(elapsed: 9.5, pending: 1_000)), .continuePrecopy)
        XCTAssertEqual(stopOf(policy.afterRound(stats(elapsed: 10, pending: 1_000)))?.outcome, .offlineFallback)
    }

    func testAfterDirtyLogReadKeepsQemuConvergenceEvenAfterTheTimeout() {
        var policy = TimeoutPolicy(timeoutSeconds: 10)
        XCTAssertEqual(policy.afterDirtyLogRead(stats(elapsed: 5, pending: 1_000)), .continuePrecopy)
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(stats(elapsed: 5, pending: 10)))?.outcome, .converged)
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(stats(elapsed: 11, pending: 10)))?.outcome, .converged)
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(stats(elapsed: 11, pending: 1_000)))?.outcome, .offlineFallback)
    }
}
