/// `SourceMigration`'s tagged actions with more than one out at once: the sends of a round
/// overlap up to `maxActionsInFlight`, completions may come back in any order, and every step
/// that reads or changes the round waits until all of them are in. With 1 out at a time the
/// protocol is the serial one every other test drives.
import MigrationCore
import XCTest

final class TaggedActionTests: XCTestCase {
    private func settings(inFlight: Int, rateLimit: Double? = nil) -> EngineSettings {
        var settings = EngineSettings(rateLimitBytesPerSecond: rateLimit)
        settings.maxActionsInFlight = inFlight
        return settings
    }

    func testSendsOverlapUpToTheCapAndEveryPageArrivesOnce() throws {
        // 10,000 pages (10 batches), 300 dirty per read: never under Xen 4's 50, so it runs
        // its rounds and then pauses with the 300 (an offline fallback).
        let dirty = bitmap(pageCount: 10_000, pages: 1000 ..< 1300)
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings(inFlight: 4))
        var driver = ConcurrentSourceDriver(readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertEqual(driver.mostSendsOut, 4)
        // Round 1 sent every page exactly once, whatever order the batches came back in.
        XCTAssertEqual(Set(driver.sentPages.prefix(10_000)), Set(0 ..< 10_000))
        XCTAssertEqual(report.pagesSent, driver.sentPages.count)
        // Nothing but sends was ever out beside another action (no cap, no throttle, no peek).
        XCTAssertTrue(driver.sideSteps.isEmpty, "\(driver.sideSteps)")
    }

    func testTheSameMigrationWithOneOrFourOutReportsTheSameRounds() throws {
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 2000)
        var one = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings(inFlight: 1))
        var four = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings(inFlight: 4))
        var serial = ConcurrentSourceDriver(readLog: { _ in dirty })
        var parallel = ConcurrentSourceDriver(readLog: { _ in dirty })
        let serialReport = try XCTUnwrap(serial.run(&one))
        let parallelReport = try XCTUnwrap(parallel.run(&four))

        XCTAssertEqual(serial.mostSendsOut, 1)
        XCTAssertEqual(parallelReport.outcome, serialReport.outcome)
        XCTAssertEqual(parallelReport.iterations.map(\.pagesSent), serialReport.iterations.map(\.pagesSent))
        XCTAssertEqual(parallelReport.iterations.map(\.pagesDirtied), serialReport.iterations.map(\.pagesDirtied))
        XCTAssertEqual(parallelReport.bytesSent, serialReport.bytesSent)
        // The steps between rounds come in the same order: only the sends' interleaving differs.
        XCTAssertEqual(parallel.actions.filter { $0 != .send }, serial.actions.filter { $0 != .send })
    }

    func testPeeksGoOutBesideSendsButNeverTwoSideStepsAtOnce() throws {
        // Xen 3 peeks the log before each batch; with four streams a peek may go out while
        // sends are out, alone beside them.
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 100)
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen3Policy(), settings: settings(inFlight: 4))
        // Each batch needs the peek before it; answering the peek first lets sends pile up.
        var driver = ConcurrentSourceDriver(readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertNotEqual(report.outcome, .aborted)
        XCTAssertGreaterThan(driver.mostSendsOut, 1)
        XCTAssertFalse(driver.sideSteps.isEmpty)
        for (kind, outBeside) in driver.sideSteps {
            XCTAssertEqual(kind, .peekDirtyLog)
            XCTAssertTrue(outBeside.allSatisfy { $0 == .send }, "\(kind) went out beside \(outBeside)")
        }
    }

    func testTheCapPacesBatchesOutTogether() throws {
        // One batch per second under the cap; four streams must not send four at once.
        let cap = 4_202_512.0
        var migration = makeSourceMigration(guestPages: 4096, policy: Xen4Policy(), settings: settings(inFlight: 4, rateLimit: cap))
        var driver = ConcurrentSourceDriver(readLog: { _ in DirtyBitmap(pageCount: 4096) })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .converged)
        XCTAssertGreaterThanOrEqual(report.totalTimeSeconds, 3.0)
        XCTAssertGreaterThan(driver.count(.waitUntil), 0)
    }

    func testAFailedStreamAbortsOnceTheOthersAreInAndTheSourceRuns() throws {
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings(inFlight: 4))
        var driver = ConcurrentSourceDriver(readLog: { _ in DirtyBitmap(pageCount: 10_000) })
        driver.failingSend = (index: 2, message: "stream 2: connection reset")
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "stream 2: connection reset")
        XCTAssertTrue(migration.sourceGuestRunning)
        XCTAssertEqual(driver.count(.disableDirtyLogging), 1)
        XCTAssertEqual(driver.count(.pauseGuest), 0)
        // The abort's own steps waited for the other streams' batches.
        XCTAssertTrue(driver.sideSteps.isEmpty, "\(driver.sideSteps)")
    }

    func testPollHandsOutNothingAtTheCapAndResumesOnACompletion() throws {
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings(inFlight: 2))
        let enable = try XCTUnwrap(migration.poll(now: 0))
        XCTAssertNil(migration.poll(now: 0), "a send went out beside enabling dirty logging")
        migration.complete(enable.id, .done, now: 0)
        let first = try XCTUnwrap(migration.poll(now: 0))
        let second = try XCTUnwrap(migration.poll(now: 0))
        XCTAssertNotEqual(first.id, second.id)
        XCTAssertNil(migration.poll(now: 0))
        migration.complete(second.id, .done, now: 0.001)
        XCTAssertNotNil(migration.poll(now: 0.001))
    }
}
