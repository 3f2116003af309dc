/// SourceMigration under EngineSettings.rateLimitBytesPerSecond: the engine inserts waitUntil
/// actions so that nothing moves on (next batch, dirty-log read, pause) before the bytes sent
/// so far fit under the cap; the whole migration then takes at least bytes / cap. Once a live
/// migration's guest is paused the cap no longer paces (unless `capsPausedRound`); an offline
/// migration stays capped throughout.
import MigrationCore
import XCTest

final class SourceMigrationRateLimitTests: XCTestCase {
    func testRateLimitPacesBatchStarts() throws {
        // Cap = one full 1024-page batch (4_202_512 bytes) per second; sends take 1 ms.
        let cap = 4_202_512.0
        let empty = DirtyBitmap(pageCount: 3000)
        var migration = makeSourceMigration(guestPages: 3000, policy: Xen4Policy(),
                                            settings: EngineSettings(rateLimitBytesPerSecond: cap))
        var driver = ScriptedSourceDriver(guestPages: 3000, readLog: { _ in empty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.actions.prefix(6), [.enableDirtyLogging, .send, .waitUntil, .send, .waitUntil, .send])
        XCTAssertEqual(driver.waits[0], 1.0, accuracy: 1e-9)
        XCTAssertEqual(driver.waits[1], 2.0, accuracy: 1e-9)
        XCTAssertEqual(driver.sends.map(\.startSeconds), [0, 1, 2])
        // The third batch (952 pages, 3_907_024 bytes) must also fit before the guest is paused:
        // 2 s + 3_907_024 / cap = 2.9297 s, then the driver's 1 ms steps.
        let afterLastBatch = 2 + 3_907_024 / cap
        XCTAssertEqual(driver.waits[2], afterLastBatch, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(report.totalTimeSeconds, Double(report.bytesSent - 65_536) / cap - 1e-9)
        XCTAssertLessThan(report.totalTimeSeconds, afterLastBatch + 0.1)
        XCTAssertEqual(report.outcome, .converged)
    }

    func testNoBatchStartsBeforeTheBytesAheadOfItFitUnderTheCap() throws {
        // 10_000 pages, 40 dirty per read (Xen 4 then sends them live once more), a cap far
        // below the fake link's speed.
        let cap = 10_000_000.0
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 40)
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(),
                                            settings: EngineSettings(rateLimitBytesPerSecond: cap))
        var driver = ScriptedSourceDriver(guestPages: 10_000, readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertGreaterThan(driver.count(.waitUntil), 0)
        let firstStart = driver.sends[0].startSeconds
        var bytesAhead = 0.0
        for send in driver.sends {
            XCTAssertGreaterThanOrEqual(send.startSeconds - firstStart, bytesAhead / cap - 1e-9)
            bytesAhead += send.wireBytes
        }
        // Every batch but the last is paced: the total time covers those bytes at the cap.
        let paced = bytesAhead - driver.sends.last!.wireBytes
        XCTAssertGreaterThanOrEqual(report.totalTimeSeconds, paced / cap)
        XCTAssertEqual(report.pagesSent, 10_000 + 40 + 40)
    }

    /// A migration whose paused round has pages (Xen 4 gives up live migration with 1,500
    /// dirty pages pending after its last round), under a cap far below the link.
    private func pausedRound(capsPausedRound: Bool, live: Bool = true) throws -> (actions: [ActionKind], report: MigrationReport) {
        var settings = EngineSettings(rateLimitBytesPerSecond: 10_000_000, live: live)
        settings.capsPausedRound = capsPausedRound
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 1500)
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: settings)
        var driver = ScriptedSourceDriver(guestPages: 10_000, readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))
        return (driver.actions, report)
    }

    func testThePausedRoundRunsAtTheLinksRate() throws {
        let (actions, report) = try pausedRound(capsPausedRound: false)
        let pause = try XCTUnwrap(actions.firstIndex(of: .pauseGuest))
        XCTAssertGreaterThan(actions[..<pause].filter { $0 == .waitUntil }.count, 0, "the live rounds are paced")
        XCTAssertFalse(actions[pause...].contains(.waitUntil), "nothing waits for the cap once the guest is paused: \(actions[pause...])")
        let paused = try XCTUnwrap(report.iterations.last)
        XCTAssertTrue(paused.paused)
        XCTAssertGreaterThan(paused.pagesSent, 1000)
        // 1,500 pages at 10 MB/s would take 0.6 s; the scripted link's 1 ms steps take far less.
        XCTAssertLessThan(report.downtimeSeconds, 0.1)
    }

    func testCapsPausedRoundKeepsTheCapAfterThePause() throws {
        let (actions, report) = try pausedRound(capsPausedRound: true)
        let pause = try XCTUnwrap(actions.firstIndex(of: .pauseGuest))
        XCTAssertTrue(actions[pause...].contains(.waitUntil), "the paused round waits for the cap: \(actions[pause...])")
        XCTAssertGreaterThan(report.downtimeSeconds, 0.4, "about 1,500 pages at 10 MB/s")
    }

    func testAnOfflineMigrationStaysCapped() throws {
        let (actions, report) = try pausedRound(capsPausedRound: false, live: false)
        let pause = try XCTUnwrap(actions.firstIndex(of: .pauseGuest))
        XCTAssertTrue(actions[pause...].contains(.waitUntil), "offline: all of it is the paused round, and capped")
        XCTAssertGreaterThan(report.totalTimeSeconds, Double(report.bytesSent) / 10_000_000 * 0.8)
    }

    /// A live migration that stops before its first round (a timeout already past) sends the
    /// whole guest in its paused round, capped, as offline.
    func testALiveMigrationStoppedBeforeItsFirstRoundStaysCapped() throws {
        let empty = DirtyBitmap(pageCount: 3000)
        var migration = makeSourceMigration(guestPages: 3000, policy: TimeoutPolicy(timeoutSeconds: 0),
                                            settings: EngineSettings(rateLimitBytesPerSecond: 4_202_512))
        var driver = ScriptedSourceDriver(guestPages: 3000, readLog: { _ in empty })
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.liveIterationCount, 0, "\(report.iterations)")
        let pause = try XCTUnwrap(driver.actions.firstIndex(of: .pauseGuest))
        XCTAssertTrue(driver.actions[pause...].contains(.waitUntil), "\(driver.actions)")
        XCTAssertGreaterThan(report.downtimeSeconds, 1.5, "3,000 pages at one batch a second")
    }
}
