import MigrationCalibration
import MigrationCore
import XCTest

/// What past migrations say about the link and the pause: medians over the completed runs.
final class HistoryFitTests: XCTestCase {
    /// A run of two live passes (`livePages` pages in `liveSeconds`) and a paused one.
    private func report(_ outcome: MigrationOutcome = .converged, livePages: Int, liveSeconds: Double,
                        pausedPages: Int, downtimeSeconds: Double) -> MigrationReport {
        MigrationReport(
            outcome: outcome, reason: "", policy: "xen4", live: true, totalTimeSeconds: liveSeconds + downtimeSeconds,
            downtimeSeconds: downtimeSeconds, bytesSent: 0, pagesSent: livePages + pausedPages, guestPages: livePages,
            pageSizeBytes: 4096, maxThrottlePercent: 0, iterations: [
                IterationReport(index: 1, pagesSent: livePages / 2, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 0,
                                durationSeconds: liveSeconds / 2, paused: false),
                IterationReport(index: 2, pagesSent: livePages / 2, pagesSkipped: 0, pagesDirtied: 0, startSeconds: liveSeconds / 2,
                                durationSeconds: liveSeconds / 2, paused: false),
                IterationReport(index: 3, pagesSent: pausedPages, pagesSkipped: 0, pagesDirtied: 0, startSeconds: liveSeconds,
                                durationSeconds: downtimeSeconds, paused: true),
            ])
    }

    func testTheLinkTheCapsShareAndThePausesFixedPartAreMedians() {
        // 100,000 pages of 4 KiB in 4 s: 102.4 MB/s, against caps of 125 MB/s (0.8192) and
        // 110 MB/s; uncapped runs at 102.4 and 204.8 MB/s; an aborted run is left out.
        let runs = [
            HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 4, pausedPages: 250, downtimeSeconds: 0.015),
                           rateLimitBytesPerSecond: 125e6),
            HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 4, pausedPages: 250, downtimeSeconds: 0.017),
                           rateLimitBytesPerSecond: 110e6),
            HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 4, pausedPages: 250, downtimeSeconds: 0.019),
                           rateLimitBytesPerSecond: nil),
            HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 2, pausedPages: 250, downtimeSeconds: 0.021),
                           rateLimitBytesPerSecond: nil),
            HistoryFit.Run(report: report(.aborted, livePages: 10, liveSeconds: 4, pausedPages: 0, downtimeSeconds: 9),
                           rateLimitBytesPerSecond: nil),
        ]
        let fit = HistoryFit(runs)
        XCTAssertEqual(fit.cappedRuns, 2)
        XCTAssertEqual(fit.capEfficiency ?? 0, (102.4 / 125 + 102.4 / 110) / 2, accuracy: 1e-9)
        XCTAssertEqual(fit.uncappedRuns, 2)
        XCTAssertEqual(fit.uncappedBytesPerSecond ?? 0, (102.4e6 + 204.8e6) / 2, accuracy: 1)
        XCTAssertEqual(fit.uncappedSpreadBytesPerSecond ?? 0, 102.4e6 / 2.0.squareRoot(), accuracy: 1, "the two rates' standard deviation")
        // 250 paused pages take 10 ms at 102.4 MB/s and 5 ms at 204.8 MB/s: the fixed parts
        // are 5, 7, 9 and 16 ms; their median is 8 ms.
        XCTAssertEqual(fit.pausedRuns, 4)
        XCTAssertEqual(fit.pauseOverheadSeconds ?? 0, 0.008, accuracy: 1e-9)
    }

    /// A report that says where its pause went gives the fixed part directly: the downtime
    /// less its paused pages' phase, whatever rate the live passes ran at (a capped run's
    /// paused round goes at the link's rate, not the cap's).
    func testAReportsPhasesGiveThePausesFixedPart() {
        var capped = report(livePages: 100_000, liveSeconds: 4, pausedPages: 2000, downtimeSeconds: 0.012)
        capped.pausePhases = PausePhases(finalDirtyLogReadSeconds: 0.001, finalPagesSeconds: 0.005, deviceStateSeconds: 0.001,
                                         destinationReadySeconds: 0.003, clearedToRunningSeconds: 0.002)
        let fit = HistoryFit([HistoryFit.Run(report: capped, rateLimitBytesPerSecond: 125e6)])
        // Without the phases: 2,000 pages at the live 102.4 MB/s take 80 ms, more than the
        // whole 12 ms pause, and the fixed part would be 0.
        XCTAssertEqual(fit.pauseOverheadSeconds ?? 0, 0.007, accuracy: 1e-9)

        // Beside a run with a small paused round, the large one's drain is left out: the fixed
        // part comes from the small one alone.
        var small = report(livePages: 100_000, liveSeconds: 4, pausedPages: 20, downtimeSeconds: 0.002)
        small.pausePhases = PausePhases(finalDirtyLogReadSeconds: 0.0003, finalPagesSeconds: 0.0001, deviceStateSeconds: 0.0002,
                                        destinationReadySeconds: 0.0009, clearedToRunningSeconds: 0.0005)
        let both = HistoryFit([HistoryFit.Run(report: capped, rateLimitBytesPerSecond: 125e6),
                               HistoryFit.Run(report: small, rateLimitBytesPerSecond: 125e6)])
        XCTAssertEqual(both.pauseOverheadSeconds ?? 0, 0.0019, accuracy: 1e-9)
        XCTAssertEqual(both.pausedRuns, 1)
    }

    func testZeroPagesDoNotCountAsBytesOverTheLink() {
        // 100,000 pages in 4 s, of which 75,000 went as zero-page markers: 25,000 pages of
        // data, 25.6 MB/s (not the 102.4 MB/s the page count alone would say).
        var fresh = report(livePages: 100_000, liveSeconds: 4, pausedPages: 250, downtimeSeconds: 0.015)
        fresh.zeroPagesSent = 75_000
        XCTAssertEqual(HistoryFit.liveBytesPerSecond(fresh) ?? 0, 25.6e6, accuracy: 1)
        // Its time went to reading memory, not to the link: the link's fit leaves it out
        // (more than a tenth of its pages were markers), its pause still counts.
        let fit = HistoryFit([HistoryFit.Run(report: fresh, rateLimitBytesPerSecond: nil)])
        XCTAssertEqual(fit.uncappedRuns, 0)
        XCTAssertEqual(fit.pausedRuns, 1)
        var few = fresh
        few.zeroPagesSent = 10_000
        XCTAssertEqual(HistoryFit([HistoryFit.Run(report: few, rateLimitBytesPerSecond: nil)]).uncappedRuns, 1, "a tenth or less still counts")
        fresh.zeroPagesSent = 100_000
        XCTAssertNil(HistoryFit.liveBytesPerSecond(fresh), "nothing but markers says nothing about the link")
    }

    func testARunSteeredMidFlightSaysNothingAboutTheLink() {
        let steered = HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 1, pausedPages: 250, downtimeSeconds: 0.015),
                                     rateLimitBytesPerSecond: 10e6, steeredMidFlight: true)
        let plain = HistoryFit.Run(report: report(livePages: 100_000, liveSeconds: 4, pausedPages: 250, downtimeSeconds: 0.015),
                                   rateLimitBytesPerSecond: nil)
        let fit = HistoryFit([steered, plain])
        XCTAssertEqual(fit.cappedRuns, 0, "a cap lifted mid-flight would read as a cap exceeded")
        XCTAssertEqual(fit.uncappedRuns, 1)
        XCTAssertEqual(fit.uncappedBytesPerSecond ?? 0, 102.4e6, accuracy: 1)
        XCTAssertEqual(fit.pausedRuns, 2, "its pause still counts")
    }

    func testNoCompletedRunFitsNothing() {
        let fit = HistoryFit([HistoryFit.Run(report: report(.aborted, livePages: 10, liveSeconds: 1, pausedPages: 0, downtimeSeconds: 0),
                                             rateLimitBytesPerSecond: nil)])
        XCTAssertNil(fit.capEfficiency)
        XCTAssertNil(fit.uncappedBytesPerSecond)
        XCTAssertNil(fit.pauseOverheadSeconds)
        XCTAssertEqual(fit.uncappedRuns + fit.cappedRuns + fit.pausedRuns, 0)
    }
}
