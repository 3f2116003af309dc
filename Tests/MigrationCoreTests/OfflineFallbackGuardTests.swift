/// OfflineFallbackGuard: falls back after `rounds` consecutive rounds whose dirty count is at
/// least dirtyRatio x the pages the round sent; a converging round resets the streak.
import MigrationCore
import XCTest

final class OfflineFallbackGuardTests: XCTestCase {
    /// A read after round `iteration` that sent 1_000 pages and found `dirty` pages dirty, with
    /// the transfer rate measured (`bytesPerSecond`, 0 before the meter's first window).
    private func read(_ policy: inout OfflineFallbackGuard, iteration: Int, dirty: Double,
                      bytesPerSecond: Double = 100e6) -> PrecopyDecision {
        policy.afterDirtyLogRead(makeStats(guestPages: 100_000) {
            $0.iteration = iteration
            $0.roundPagesSent = 1_000
            $0.dirtyPageCount = dirty
            $0.pendingPageCount = dirty
            $0.measuredBandwidthBytesPerSecond = bytesPerSecond
        })
    }

    func testRoundsBeforeARateIsMeasuredNeitherCountNorBreakAStreak() {
        // A fresh guest's first pass of zero pages ends before the meter's first window: its
        // tiny rounds say nothing about the link.
        var policy = OfflineFallbackGuard(base: Xen3Policy(), rounds: 2)
        XCTAssertEqual(read(&policy, iteration: 1, dirty: 5_000, bytesPerSecond: 0), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 2, dirty: 5_000, bytesPerSecond: 0), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 3, dirty: 900), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 4, dirty: 10, bytesPerSecond: 0), .continuePrecopy)
        XCTAssertEqual(stopOf(read(&policy, iteration: 5, dirty: 900))?.outcome, .offlineFallback,
                       "the unmeasured round 4 broke the streak")
    }

    func testFallsBackOnTheThirdConsecutiveBadRound() {
        // Xen3Policy never stops after a read, so every stop below is the guard's.
        var policy = OfflineFallbackGuard(base: Xen3Policy(), rounds: 3)
        XCTAssertEqual(read(&policy, iteration: 1, dirty: 900), .continuePrecopy) // 900 >= 0.9 x 1000
        XCTAssertEqual(read(&policy, iteration: 2, dirty: 1_500), .continuePrecopy)
        let stop = stopOf(read(&policy, iteration: 3, dirty: 900))
        XCTAssertEqual(stop?.outcome, .offlineFallback)
        XCTAssertTrue(stop?.reason.contains("cannot converge") ?? false, stop?.reason ?? "")
    }

    func testAGoodRoundResetsTheStreak() {
        var policy = OfflineFallbackGuard(base: Xen3Policy(), rounds: 3)
        XCTAssertEqual(read(&policy, iteration: 1, dirty: 900), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 2, dirty: 900), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 3, dirty: 899), .continuePrecopy) // good: resets
        XCTAssertEqual(read(&policy, iteration: 4, dirty: 900), .continuePrecopy)
        XCTAssertEqual(read(&policy, iteration: 5, dirty: 900), .continuePrecopy)
        XCTAssertEqual(stopOf(read(&policy, iteration: 6, dirty: 900))?.outcome, .offlineFallback)
    }

    func testTheConsultBeforeTheFirstRoundDoesNotCount() {
        var policy = OfflineFallbackGuard(base: Xen3Policy(), rounds: 1)
        XCTAssertEqual(read(&policy, iteration: 0, dirty: 100_000), .continuePrecopy)
        XCTAssertEqual(stopOf(read(&policy, iteration: 1, dirty: 1_000))?.outcome, .offlineFallback)
    }

    func testBaseStopPassesThroughAndNameIsTheBases() {
        var policy = OfflineFallbackGuard(base: Xen4Policy(), rounds: 1)
        XCTAssertEqual(policy.name, "xen4")
        // Xen 4 converges on 10 dirty pages before the guard looks at the ratio.
        let stop = stopOf(read(&policy, iteration: 1, dirty: 10))
        XCTAssertEqual(stop?.outcome, .converged)
        XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, true)
        XCTAssertEqual(OfflineFallbackGuard(base: Xen3Policy(), rounds: 2).skipsPagesDirtiedDuringRound, true)
    }
}
