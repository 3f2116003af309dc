import MigrationCore
@testable import MigrationSimulation
import XCTest

/// The progress display's time left comes from the model: played forward from each round's
/// start of a simulated migration with steady dirtying, it predicts the finish the migration
/// reaches, and it only counts down.
final class RemainingEstimateTests: XCTestCase {
    /// The estimate at the start of each live round after the first, as the executor would
    /// make it then: (seconds into the migration, time left).
    private func estimates(_ config: SimulationConfig) throws -> (report: MigrationReport, points: [(Double, RemainingMigrationEstimate)]) {
        let report = try Simulator.run(config).report
        let live = report.iterations.filter { !$0.paused }
        let first = try XCTUnwrap(live.first)
        let bytesPerSecond = Double(first.pagesSent * report.pageSizeBytes) / first.durationSeconds
        var points: [(Double, RemainingMigrationEstimate)] = []
        for index in 1 ..< live.count {
            let state = RemainingMigrationEstimate.State(
                round: index + 1, paused: false, pagesPending: Double(live[index].pagesSent), roundElapsedSeconds: 0,
                totalPagesSent: Double(live[..<index].reduce(0) { $0 + $1.pagesSent }), guestPages: Double(report.guestPages),
                pageSizeBytes: report.pageSizeBytes, bytesPerSecond: bytesPerSecond, completedLiveRounds: Array(live[..<index]))
            points.append((live[index].startSeconds, try XCTUnwrap(RemainingMigrationEstimate.estimate(state, policy: config.policy))))
        }
        return (report, points)
    }

    func testTheFinishHoldsStillAndTheTimeLeftCountsDown() throws {
        // qemu as QEMU applies it: the estimate plays whole rounds forward, and the live rounds
        // that shrink the pause (on by default) begin with a mid-round sync it does not model,
        // so there the time left may rise by a short round (0.3 s of 10 s here).
        var qemu = PolicyConfiguration(name: .qemu)
        qemu.shrinksPause = false
        for policy in [PolicyConfiguration(name: .xen4), qemu, PolicyConfiguration(name: .xen3)] {
            let config = Fixtures.config(memoryBytes: Fixtures.gib, workload: .uniform(workingSetPages: 131_072, ratePagesPerSecond: 5000),
                                         policy: policy)
            let (report, points) = try estimates(config)
            XCTAssertGreaterThanOrEqual(points.count, 2, "\(policy.name): several rounds to estimate from")
            var previous = Double.infinity
            for (start, estimate) in points {
                let finish = start + estimate.remainingSeconds
                XCTAssertEqual(finish, report.totalTimeSeconds, accuracy: 0.05 * report.totalTimeSeconds,
                               "\(policy.name) at \(start) s: finish \(finish) s, the run took \(report.totalTimeSeconds) s")
                XCTAssertLessThanOrEqual(estimate.remainingSeconds, previous, "\(policy.name) at \(start) s: the time left went up")
                previous = estimate.remainingSeconds
            }
        }
    }

    /// Under libvirt's --timeout the rounds to come end at the timeout, however the guest dirties.
    func testATimeoutEndsTheRoundsToCome() throws {
        // 30 s in, dirtying as fast as the link carries: never converges on its own.
        let round = IterationReport(index: 1, pagesSent: 100_000, pagesSkipped: 0, pagesDirtied: 100_000, startSeconds: 0,
                                    durationSeconds: 4, paused: false)
        let state = RemainingMigrationEstimate.State(round: 2, paused: false, pagesPending: 100_000, roundElapsedSeconds: 0, totalPagesSent: 100_000,
                                                     guestPages: 262_144, pageSizeBytes: 4096, bytesPerSecond: 1.024e8,
                                                     completedLiveRounds: [round], elapsedSeconds: 30)
        var timeout = PolicyConfiguration(name: .timeout, timeoutSeconds: 40, fallbackRounds: 0)
        let estimate = try XCTUnwrap(RemainingMigrationEstimate.estimate(state, policy: timeout))
        // Rounds of 4 s each: the one under way ends at 34 s, the next at 38, the one after at
        // 42 s, past the timeout, and then the pause of 100,000 pages (4 s).
        XCTAssertEqual(estimate.remainingSeconds, 12 + 4 + RemainingMigrationEstimate.defaultFixedPauseSeconds, accuracy: 0.01)
        timeout.timeoutSeconds = 10_000
        let later = try XCTUnwrap(RemainingMigrationEstimate.estimate(state, policy: timeout))
        // No end before the timeout: the rounds played forward run to their cap of 1,000 (4,000 s).
        XCTAssertGreaterThan(later.remainingSeconds, 3_000)
    }

    func testThePauseIsWhatIsLeftOnceTheGuestIsPausedAndNothingIsKnownWithoutARate() {
        let paused = RemainingMigrationEstimate.State(round: 4, paused: true, pagesPending: 25_000, roundElapsedSeconds: 0.01, totalPagesSent: 1e6,
                                                      guestPages: 262_144, pageSizeBytes: 4096, bytesPerSecond: 1.024e8, completedLiveRounds: [])
        let estimate = RemainingMigrationEstimate.estimate(paused, policy: PolicyConfiguration(name: .xen4))
        XCTAssertEqual(estimate?.remainingSeconds ?? 0, 1.0 + RemainingMigrationEstimate.defaultFixedPauseSeconds, accuracy: 1e-9)
        XCTAssertEqual(estimate?.downtimeSeconds, estimate?.remainingSeconds)
        var unknown = paused
        unknown.bytesPerSecond = 0
        XCTAssertNil(RemainingMigrationEstimate.estimate(unknown, policy: PolicyConfiguration(name: .xen4)))
    }
}
