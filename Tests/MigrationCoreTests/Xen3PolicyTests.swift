/// Xen3Policy as a pure function of PrecopyStats: the < 50 pages convergence rule, the
/// 29-round limit and the 3 x guest memory limit of xc_domain_save.c.
import MigrationCore
import XCTest

final class Xen3PolicyTests: XCTestCase {
    private func afterRound(iteration: Int, sent: Double, skipped: Double = 0, total: Double = 0) -> PrecopyDecision {
        var policy = Xen3Policy()
        return policy.afterRound(makeStats(guestPages: 1_000) {
            $0.iteration = iteration
            $0.roundPagesSent = sent
            $0.roundPagesSkipped = skipped
            $0.totalPagesSent = total
        })
    }

    func testNameAndSkipRule() {
        XCTAssertEqual(Xen3Policy().name, "xen3")
        XCTAssertTrue(Xen3Policy().skipsPagesDirtiedDuringRound)
        XCTAssertEqual(Xen3Policy().guestThrottlePercent, 0)
    }

    func testConvergesWhenSentPlusSkippedBelow50() {
        let stop = stopOf(afterRound(iteration: 3, sent: 30, skipped: 19, total: 2_000))
        XCTAssertEqual(stop?.outcome, .converged)
        XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, false)
        XCTAssertTrue(stop?.reason.contains("49") ?? false, stop?.reason ?? "")
    }

    func testContinuesAtExactly50SentPlusSkipped() {
        XCTAssertEqual(afterRound(iteration: 3, sent: 30, skipped: 20, total: 2_000), .continuePrecopy)
    }

    func testIterationLimit() {
        XCTAssertEqual(afterRound(iteration: 28, sent: 100, total: 2_000), .continuePrecopy)
        let stop = stopOf(afterRound(iteration: 29, sent: 100, total: 2_000))
        XCTAssertEqual(stop?.outcome, .offlineFallback)
        XCTAssertTrue(stop?.reason.contains("29") ?? false, stop?.reason ?? "")
    }

    func testConvergenceWinsOverIterationLimit() {
        XCTAssertEqual(stopOf(afterRound(iteration: 29, sent: 10))?.outcome, .converged)
    }

    func testTotalSentLimitIsStrictlyAbove3xGuest() {
        XCTAssertEqual(afterRound(iteration: 4, sent: 500, total: 3_000), .continuePrecopy)
        let stop = stopOf(afterRound(iteration: 4, sent: 500, total: 3_001))
        XCTAssertEqual(stop?.outcome, .offlineFallback)
        XCTAssertTrue(stop?.reason.contains("3001") ?? false, stop?.reason ?? "")
    }

    func testCustomLimits() {
        var policy = Xen3Policy(maxIterations: 2, maxFactor: 1.5)
        let round1 = makeStats(guestPages: 1_000) { $0.iteration = 1; $0.roundPagesSent = 1_000; $0.totalPagesSent = 1_000 }
        XCTAssertEqual(policy.afterRound(round1), .continuePrecopy)
        var overFactor = round1
        overFactor.totalPagesSent = 1_501
        XCTAssertEqual(stopOf(policy.afterRound(overFactor))?.outcome, .offlineFallback)
        var round2 = round1
        round2.iteration = 2
        XCTAssertEqual(stopOf(policy.afterRound(round2))?.outcome, .offlineFallback)
    }

    func testDirtyLogReadAndBatchesNeverStop() {
        var policy = Xen3Policy()
        let stats = makeStats { $0.iteration = 40; $0.dirtyPageCount = 0; $0.pendingPageCount = 0 }
        XCTAssertEqual(policy.afterDirtyLogRead(stats), .continuePrecopy)
        XCTAssertEqual(policy.betweenBatches(stats), .keepSending)
    }
}
