import MigrationCore
@testable import MigrationSimulation
import XCTest

/// Each policy's limits, seen end to end through the simulator.
final class StopRuleSimulationTests: XCTestCase {
    func testXen4StopsAfterFiveLiveIterationsOnANonConvergingGuest() throws {
        let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .xen4))).report
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertEqual(report.liveIterationCount, 5)
        XCTAssertEqual(report.iterations.count, 6)
        XCTAssertTrue(report.reason.contains("5 live iterations"), report.reason)
    }

    func testXen3StopsOnceMoreThanThreeTimesMemoryIsSent() throws {
        // 64 MiB guest, all of it rewritten at 60,000 pages/s against a link carrying about
        // 30,000: each round dirties about as much as it sends, and the skip rule lets most out.
        let config = Fixtures.config(memoryBytes: 64 * Fixtures.mib,
                                     workload: .uniform(workingSetPages: 16_384, ratePagesPerSecond: 60_000),
                                     policy: PolicyConfiguration(name: .xen3))
        let report = try Simulator.run(config).report
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("3 x guest memory"), report.reason)
        let liveSent = report.iterations.filter { !$0.paused }.map(\.pagesSent).reduce(0, +)
        XCTAssertGreaterThan(liveSent, 3 * 16_384)
        // The round before the last live one had not yet crossed the limit.
        let beforeLast = report.iterations.filter { !$0.paused }.dropLast().map(\.pagesSent).reduce(0, +)
        XCTAssertLessThanOrEqual(beforeLast, 3 * 16_384)
        XCTAssertLessThanOrEqual(report.iterations.count, 30)
    }

    func testXen3NeverRunsMoreThanThirtyRounds() throws {
        // A 4 GiB guest with a hot set of exactly 64 pages rewritten constantly: every round finds
        // 64 + a few pages, never under 50, and never 3 x memory: only DEF_MAX_ITERS stops it.
        let config = Fixtures.config(memoryBytes: 4 * Fixtures.gib,
                                     workload: .uniform(workingSetPages: 64, ratePagesPerSecond: 1_000_000),
                                     bytesPerSecond: 1.25e9, policy: PolicyConfiguration(name: .xen3))
        let report = try Simulator.run(config).report
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("29 live rounds"), report.reason)
        // The hot pages are dirty at every peek, so rounds 2 to 29 skip them all and send nothing
        // (such passes are not listed); the paused pass is the 30th.
        XCTAssertEqual(report.iterations.last?.index, 30)
        XCTAssertEqual(report.iterations.last?.paused, true)
        XCTAssertGreaterThanOrEqual(report.iterations.last?.pagesSent ?? 0, 64)
    }

    func testQemuFallsBackWhenTheGuestCannotConverge() throws {
        let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .qemu, fallbackRounds: 3))).report
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("cannot converge"), report.reason)
        XCTAssertEqual(report.iterations.last?.paused, true)
        // The paused round carries the whole hot working set.
        XCTAssertGreaterThanOrEqual(report.iterations.last?.pagesSent ?? 0, 30_000)
    }

    func testQemuConvergesWhenPendingBytesFitTheDowntimeLimit() throws {
        let config = Fixtures.config(memoryBytes: Fixtures.gib, workload: .uniform(workingSetPages: 8192, ratePagesPerSecond: 2000),
                                     policy: PolicyConfiguration(name: .qemu, downtimeLimitSeconds: 0.3))
        let report = try Simulator.run(config).report
        XCTAssertEqual(report.outcome, .converged)
        // 300 ms of a 125 MB/s link: the paused round holds at most 37.5 MB of pages.
        let pausedBytes = Double(report.iterations.last!.pagesSent) * 4096
        XCTAssertLessThan(pausedBytes, 0.3 * 125_000_000)
        XCTAssertLessThan(report.downtimeSeconds, 0.35)
    }

    func testAutoConvergeThrottlesTheGuestUntilItConverges() throws {
        let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .qemu, autoConverge: true, fallbackRounds: 0))).report
        XCTAssertEqual(report.outcome, .converged, report.reason)
        XCTAssertGreaterThanOrEqual(report.maxThrottlePercent, 20)
        XCTAssertEqual((report.maxThrottlePercent - 20) % 10 == 0 || report.maxThrottlePercent == 99, true)
    }

    func testAutoConvergeIsNotCutShortByTheDefaultFallback() throws {
        // qemu's default fallback (5 rounds) used to give up at a 30 % throttle; it now waits
        // until the throttle is at its maximum, as QEMU itself has no fallback.
        for fidelity in [Fidelity.page, .fluid] {
            let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .qemu, autoConverge: true), fidelity: fidelity)).report
            XCTAssertEqual(report.outcome, .converged, "\(fidelity): \(report.reason)")
            XCTAssertGreaterThan(report.maxThrottlePercent, 30, "\(fidelity)")
        }
    }

    func testDirtyLimitSlowsTheGuestTowardItsTargetAndConverges() throws {
        // 100,000 writes/s over 32,768 pages against a 1 Gbit/s link (30,500 pages/s): the
        // dirty limit of 2,000 pages/s brings the guest's dirtying under the link's rate.
        for fidelity in [Fidelity.page, .fluid] {
            let result = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .qemu, dirtyLimitPagesPerSecond: 2_000),
                                                        fidelity: fidelity))
            let report = result.report
            XCTAssertEqual(report.outcome, .converged, "\(fidelity): \(report.reason)")
            XCTAssertGreaterThan(report.maxThrottlePercent, 80, "\(fidelity): 100,000 writes/s toward 2,000 dirty pages/s")
            // The last live round's dirty rate is near the target (dirty pages / round time).
            let live = report.iterations.filter { !$0.paused }
            let last = try XCTUnwrap(live.last)
            let rate = Double(last.pagesDirtied) / last.durationSeconds
            XCTAssertLessThan(rate, 6_000, "\(fidelity): the dirty rate fell toward 2,000 pages/s")
        }
    }

    func testADirtyLimitAboveWhatTheLinkCarriesStillFallsBack() throws {
        // A limit of 10^9 pages/s never slows this guest: the throttle stays at 0, and the
        // fallback counts its non-converging rounds as it does without a limit.
        for fidelity in [Fidelity.page, .fluid] {
            let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .qemu, dirtyLimitPagesPerSecond: 1e9),
                                                        fidelity: fidelity)).report
            XCTAssertEqual(report.outcome, .offlineFallback, "\(fidelity): \(report.reason)")
            XCTAssertEqual(report.maxThrottlePercent, 0, "\(fidelity)")
        }
    }

    func testTimeoutSuspendsTheGuestAfterTheGivenSeconds() throws {
        let report = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .timeout, timeoutSeconds: 10))).report
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("timeout"), report.reason)
        let paused = try XCTUnwrap(report.iterations.last)
        XCTAssertTrue(paused.paused)
        // The guest is paused at the first batch boundary at or after 10 s (a batch is 34 ms here).
        XCTAssertGreaterThanOrEqual(paused.startSeconds, 10)
        XCTAssertLessThan(paused.startSeconds, 10.1)
    }

    func testRateLimitCapsTheTransfer() throws {
        var config = Fixtures.config(memoryBytes: 256 * Fixtures.mib, workload: .idle, bytesPerSecond: 1.25e9,
                                     policy: PolicyConfiguration(name: .xen4))
        config.costs = Fixtures.freeCosts
        config.engine.rateLimitBytesPerSecond = 50_000_000
        let report = try Simulator.run(config).report
        let expected = Double(report.bytesSent) / 50_000_000
        XCTAssertEqual(report.totalTimeSeconds, expected, accuracy: expected * 0.01)
    }

    func testOfflineMigrationPausesFirstAndCopiesOnce() throws {
        var config = Fixtures.hog(policy: PolicyConfiguration(name: .xen4))
        config.engine.live = false
        let report = try Simulator.run(config).report
        XCTAssertEqual(report.iterations.count, 1)
        XCTAssertEqual(report.iterations[0].paused, true)
        XCTAssertEqual(report.iterations[0].pagesSent, 131_072)
        // Downtime runs from the moment the pause took effect (1 ms pause cost) to the guest running there.
        XCTAssertEqual(report.downtimeSeconds, report.totalTimeSeconds - config.costs.pauseSeconds, accuracy: 1e-9)
    }
}
