import MigrationCore
import XCTest

/// The pause's fixed part for the next migration comes from the newest completed runs with a
/// small paused round: the median of their device state and waits on the destination.
final class MeasuredPauseOverheadTests: XCTestCase {
    private func run(fixedSeconds: Double, pausedPages: Int = 10, outcome: MigrationOutcome = .converged,
                     phases: Bool = true) -> MigrationReport {
        var report = MigrationReport(
            outcome: outcome, reason: "", policy: "qemu", live: true, totalTimeSeconds: 1, downtimeSeconds: 0.001 + fixedSeconds + 0.002,
            bytesSent: 0, pagesSent: 0, guestPages: 1000, pageSizeBytes: 4096, maxThrottlePercent: 0,
            iterations: [IterationReport(index: 1, pagesSent: 1000, pagesSkipped: 0, pagesDirtied: pausedPages, startSeconds: 0,
                                         durationSeconds: 0.9, paused: false),
                         IterationReport(index: 2, pagesSent: pausedPages, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 0.9,
                                         durationSeconds: 0.002, paused: true)])
        if phases {
            // The final read (1 ms) and the pages (2 ms) are not part of the fixed part.
            report.pausePhases = PausePhases(finalDirtyLogReadSeconds: 0.001, finalPagesSeconds: 0.002, deviceStateSeconds: fixedSeconds / 4,
                                             destinationReadySeconds: fixedSeconds / 2, clearedToRunningSeconds: fixedSeconds / 4)
        }
        return report
    }

    func testTheMedianOfTheSmallCompletedPauses() throws {
        let reports = [run(fixedSeconds: 0.004), run(fixedSeconds: 0.001), run(fixedSeconds: 0.002),
                       run(fixedSeconds: 0.5, pausedPages: 5000),  // a large paused round: its drain would count
                       run(fixedSeconds: 0.9, outcome: .aborted), run(fixedSeconds: 0.8, phases: false)]
        XCTAssertEqual(try XCTUnwrap(MeasuredPauseOverhead.seconds(from: reports)), 0.002, accuracy: 1e-12)
    }

    func testTooFewRunsOrAnImplausibleFigureGiveNone() {
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: []))
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: [run(fixedSeconds: 0.001), run(fixedSeconds: 0.002)]))
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: Array(repeating: run(fixedSeconds: 2), count: 3)))
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: Array(repeating: run(fixedSeconds: .nan), count: 3)))
    }

    /// Only the newest 20 runs count: the path's older pauses no longer describe it. Ten new
    /// and ten old give the mean of the two middle ones; a window of 19 or 21 would not.
    func testOnlyTheNewestTwentyRunsCount() throws {
        let old = Array(repeating: run(fixedSeconds: 0.05), count: 30)
        let new = Array(repeating: run(fixedSeconds: 0.003), count: 10)
        XCTAssertEqual(MeasuredPauseOverhead.newestRuns, 20)
        XCTAssertEqual(try XCTUnwrap(MeasuredPauseOverhead.seconds(from: old + new)), (0.003 + 0.05) / 2, accuracy: 1e-12)
    }

    /// Paused rounds of 64 pages count, of 65 do not (their drain would); runs that verified
    /// memory digested it all in their pause and do not count either.
    func testTheSmallRoundBoundAndVerifiedRunsAreLeftOut() throws {
        let at64 = Array(repeating: run(fixedSeconds: 0.004, pausedPages: 64), count: 3)
        XCTAssertEqual(try XCTUnwrap(MeasuredPauseOverhead.seconds(from: at64)), 0.004, accuracy: 1e-12)
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: Array(repeating: run(fixedSeconds: 0.004, pausedPages: 65), count: 3)))
        var verified = run(fixedSeconds: 0.4)
        verified.memoryVerified = true
        XCTAssertNil(MeasuredPauseOverhead.seconds(from: Array(repeating: verified, count: 3)))
    }
}
