/// The engine's own loop (`SourceMigration`, as KVM and the simulator run it) and libxenguest's
/// loop (`PrecopyCallbackAdvisor`, as Xen runs it) keep their books in one `RoundLedger`: fed the
/// same migration (the same dirty counts, the same send times) they show a policy the same stats
/// at the same points and report the same rounds.
import MigrationCore
import XCTest

final class RoundLedgerAgreementTests: XCTestCase {
    /// A policy that writes down what it was shown at the two points both loops ask it.
    struct RecordingPolicy: PrecopyPolicy {
        var base: Xen4Policy
        let seen: Seen
        final class Seen: @unchecked Sendable { var stats: [(String, PrecopyStats)] = [] }

        var name: String { base.name }
        mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision {
            seen.stats.append(("afterRound", stats))
            return base.afterRound(stats)
        }
        mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
            seen.stats.append(("afterDirtyLogRead", stats))
            return base.afterDirtyLogRead(stats)
        }
    }

    private let guestPages = 8192
    private let dirtyCounts = [3000, 700, 30]
    private let secondsPerBatch = 0.01

    private func engineRun() throws -> (RecordingPolicy.Seen, MigrationReport) {
        let seen = RecordingPolicy.Seen()
        var migration = makeSourceMigration(guestPages: guestPages, policy: RecordingPolicy(base: Xen4Policy(), seen: seen))
        let counts = dirtyCounts
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { [guestPages] read in
            bitmap(pageCount: guestPages, pages: 0 ..< counts[min(read, counts.count) - 1])
        })
        driver.sendSeconds = secondsPerBatch
        return (seen, try XCTUnwrap(driver.run(&migration)))
    }

    /// Xen 4.17's `send_memory_live`, each pass taking as long as the engine's batches of it.
    private func xenRun() -> (RecordingPolicy.Seen, PrecopyCallbackAdvisor) {
        let seen = RecordingPolicy.Seen()
        var advisor = PrecopyCallbackAdvisor(policy: RecordingPolicy(base: Xen4Policy(), seen: seen), guestPageCount: guestPages)
        var iteration = 0, totalWritten = 0, dirty = guestPages, now = 0.0, cleans = 0
        while true {
            let top = advisor.answer(iteration: iteration, totalWritten: totalWritten, dirtyCount: dirty, nowSeconds: now)
            iteration += 1
            let batches = (Double(dirty) / 1024).rounded(.up)
            now += batches * secondsPerBatch
            if top != .continuePrecopy { break }
            totalWritten += dirty
            if advisor.answer(iteration: iteration, totalWritten: totalWritten, dirtyCount: -1, nowSeconds: now) != .continuePrecopy { break }
            dirty = dirtyCounts[min(cleans, dirtyCounts.count - 1)]
            cleans += 1
        }
        return (seen, advisor)
    }

    func testBothLoopsShowThePolicyTheSameStats() throws {
        let (engineSeen, _) = try engineRun()
        let (xenSeen, _) = xenRun()
        XCTAssertEqual(engineSeen.stats.map(\.0), xenSeen.stats.map(\.0))
        XCTAssertEqual(engineSeen.stats.count, 7)
        for ((point, engine), (_, xen)) in zip(engineSeen.stats, xenSeen.stats) {
            XCTAssertEqual(engine.iteration, xen.iteration, point)
            XCTAssertEqual(engine.dirtyPageCount, xen.dirtyPageCount, point)
            XCTAssertEqual(engine.totalPagesSent, xen.totalPagesSent, point)
            XCTAssertEqual(engine.totalBytesSent, xen.totalBytesSent, "\(point): bytes with their headers in both")
            XCTAssertEqual(engine.roundPagesSent, xen.roundPagesSent, point)
            XCTAssertEqual(engine.pendingPageCount, xen.pendingPageCount, point)
            XCTAssertEqual(engine.elapsedSeconds, xen.elapsedSeconds, accuracy: 1e-9, point)
            XCTAssertEqual(engine.secondsSinceDirtyLogRead, xen.secondsSinceDirtyLogRead, accuracy: 1e-9, point)
        }
    }

    func testBothLoopsReportTheSameLiveRounds() throws {
        let (_, engineReport) = try engineRun()
        let (_, advisor) = xenRun()
        let xenReport = advisor.report(live: true, totalSeconds: engineReport.totalTimeSeconds, downtimeSeconds: engineReport.downtimeSeconds,
                                       pausedPages: engineReport.iterations.last!.pagesSent, pausedStartSeconds: 0.5, bytesSent: engineReport.bytesSent)
        XCTAssertEqual(xenReport.outcome, engineReport.outcome)
        XCTAssertEqual(xenReport.reason, engineReport.reason)
        let engineLive = engineReport.iterations.filter { !$0.paused }
        let xenLive = xenReport.iterations.filter { !$0.paused }
        XCTAssertEqual(xenLive.map(\.index), engineLive.map(\.index))
        XCTAssertEqual(xenLive.map(\.pagesSent), engineLive.map(\.pagesSent))
        XCTAssertEqual(xenLive.map(\.pagesDirtied), engineLive.map(\.pagesDirtied))
        // The same times (summed batch by batch in one, pass by pass in the other).
        for (xen, engine) in zip(xenLive, engineLive) {
            XCTAssertEqual(xen.startSeconds, engine.startSeconds, accuracy: 1e-9)
        }
        // Every pass but the last: Xen asks nothing after the pass it sends following its stop.
        for (xen, engine) in zip(xenLive.dropLast(), engineLive.dropLast()) {
            XCTAssertEqual(xen.durationSeconds, engine.durationSeconds, accuracy: 1e-9)
        }
        XCTAssertEqual(xenReport.pagesSent, engineReport.pagesSent)
    }
}
