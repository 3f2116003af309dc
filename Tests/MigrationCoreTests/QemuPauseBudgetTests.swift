/// QemuPolicy's budget for the whole pause: the threshold leaves room for the pause's
/// overhead, and with `shrinksPauseLive` a migration whose pages already fit goes on live while
/// another round would shrink its pause.
import MigrationCore
import XCTest

final class QemuPauseBudgetTests: XCTestCase {
    /// 1 MB/s measured, a 300 ms limit; `pending` pages found by a read after `since` seconds
    /// of which `dirty` were dirtied since the last read.
    private func stats(pending: Double, dirty: Double? = nil, since: Double = 1, overhead: Double = 0) -> PrecopyStats {
        makeStats(guestPages: 10_000) {
            $0.iteration = 2
            $0.dirtyPageCount = dirty ?? pending
            $0.pendingPageCount = pending
            $0.measuredBandwidthBytesPerSecond = 1_000_000
            $0.secondsSinceDirtyLogRead = since
            $0.pauseOverheadSeconds = overhead
        }
    }

    func testTheThresholdLeavesRoomForThePausesOverheadButAtLeastHalfTheLimit() {
        let policy = QemuPolicy()
        XCTAssertEqual(policy.thresholdBytes(stats(pending: 1, overhead: 0.1)), 200_000, accuracy: 1e-6)
        XCTAssertEqual(policy.thresholdBytes(stats(pending: 1, overhead: 0.5)), 150_000, accuracy: 1e-6, "half of 300 ms")
        // 60 pages (245,760 bytes) fit 300 ms of pages but not the 200 ms left beside 100 ms of overhead.
        var qemu = QemuPolicy()
        XCTAssertNotNil(stopOf(qemu.afterDirtyLogRead(stats(pending: 60))))
        XCTAssertEqual(qemu.afterDirtyLogRead(stats(pending: 60, overhead: 0.1)), .continuePrecopy)
    }

    func testAnotherLiveRoundWhileItShrinksThePause() {
        var policy = QemuPolicy(shrinksPauseLive: true)
        // 40 pages pending (164 ms of pages, within the limit), 10 dirtied in the last second:
        // sending them takes 0.16 s, in which the guest dirties 1.6 pages, well under 3/4 of 40.
        XCTAssertEqual(policy.afterDirtyLogRead(stats(pending: 40, dirty: 10)), .continuePrecopy)
        // Until the round ends, no mid-round sync although the pages are under the threshold.
        XCTAssertEqual(policy.betweenBatches(stats(pending: 30)), .keepSending)
        XCTAssertEqual(policy.afterRound(stats(pending: 0)), .continuePrecopy)
        XCTAssertEqual(policy.betweenBatches(stats(pending: 30)), .syncDirtyLogNow)
        // A guest that dirties as fast as the link carries gains nothing from another round.
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(stats(pending: 40, dirty: 300, since: 1)))?.outcome, .converged)
        // Pages that take under 1 ms (fewer than 245 bytes: none here) are not worth a round;
        // neither is a pending count under a whole page (the fluid model's).
        var small = QemuPolicy(shrinksPauseLive: true)
        XCTAssertNotNil(stopOf(small.afterDirtyLogRead(stats(pending: 0.5, dirty: 0))))
        // Without the refinement, QEMU's rule stops at once.
        var plain = QemuPolicy()
        XCTAssertNotNil(stopOf(plain.afterDirtyLogRead(stats(pending: 40, dirty: 10))))
    }

    func testShrinkingRoundsAreBounded() {
        var policy = QemuPolicy(shrinksPauseLive: true)
        var rounds = 0
        while case .continuePrecopy = policy.afterDirtyLogRead(stats(pending: 40, dirty: 1)), rounds < 100 {
            _ = policy.afterRound(stats(pending: 0))
            rounds += 1
        }
        XCTAssertEqual(rounds, QemuPolicy.maxShrinkingRounds)
    }

    func testTheConfigurationShrinksByDefaultAndTheScenarioKeySaysOtherwise() {
        var configuration = PolicyConfiguration(name: .qemu)
        var policy = configuration.makePolicy()
        XCTAssertEqual(policy.afterDirtyLogRead(stats(pending: 40, dirty: 10)), .continuePrecopy)
        configuration.shrinksPause = false
        XCTAssertTrue(configuration.scenarioKeys.contains("policy.shrinkPause=false"))
        policy = configuration.makePolicy()
        XCTAssertNotNil(stopOf(policy.afterDirtyLogRead(stats(pending: 40, dirty: 10))))
    }
}
