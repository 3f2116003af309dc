/// SourceMigration driven end to end to a converged finish: an idle guest under Xen 4 and
/// Xen 3 (exact action sequences, report contents) and Xen 4's "send the dirty pages live
/// once more" before pausing.
import MigrationCore
import XCTest

final class SourceMigrationConvergenceTests: XCTestCase {
    private let guestPages = 3000
    /// 2 x wireBytes(1024) + wireBytes(952) = 2 x 4_202_512 + 3_907_024.
    private let fullPassWireBytes = 12_312_048

    private func idleDriver() -> ScriptedSourceDriver {
        let empty = DirtyBitmap(pageCount: guestPages)
        return ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in empty })
    }

    func testIdleGuestUnderXen4() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy())
        var driver = idleDriver()
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .send, .send, .send, .readAndClearDirtyLog,
            .pauseGuest, .readAndClearDirtyLog, .sendDeviceState, .awaitDestinationReady,
            .clearDestinationToRun, .destroySource, .finished,
        ])
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertTrue(report.reason.contains("dirty count 0"), report.reason)
        XCTAssertEqual(report.policy, "xen4")
        XCTAssertTrue(report.live)
        XCTAssertEqual(report.iterations.count, 2)
        XCTAssertEqual(report.iterations[0].index, 1)
        XCTAssertEqual(report.iterations[0].pagesSent, 3000)
        XCTAssertEqual(report.iterations[0].pagesDirtied, 0)
        XCTAssertFalse(report.iterations[0].paused)
        XCTAssertTrue(report.iterations[1].paused)
        XCTAssertEqual(report.iterations[1].pagesSent, 0)
        XCTAssertEqual(report.liveIterationCount, 1)
        XCTAssertEqual(report.pagesSent, 3000)
        XCTAssertEqual(report.guestPages, 3000)
        XCTAssertEqual(report.bytesSent, fullPassWireBytes + 5_000)
        XCTAssertEqual(driver.sends.map(\.pageCount), [1024, 1024, 952])
        XCTAssertEqual(driver.sends.flatMap(\.pages), Array(0 ..< 3000))
        XCTAssertEqual(report.totalTimeSeconds, 0.003, accuracy: 1e-9)
        XCTAssertEqual(report.iterations[0].durationSeconds, 0.003, accuracy: 1e-9)
        XCTAssertTrue(migration.isFinished)
        XCTAssertFalse(migration.sourceGuestRunning) // destroyed: it runs on the destination
        XCTAssertEqual(migration.report, report)
    }

    func testIdleGuestUnderXen3PeeksBeforeEveryBatch() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen3Policy())
        var driver = idleDriver()
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .peekDirtyLog, .send, .peekDirtyLog, .send, .peekDirtyLog, .send,
            .readAndClearDirtyLog, .pauseGuest, .readAndClearDirtyLog, .sendDeviceState,
            .awaitDestinationReady, .clearDestinationToRun, .destroySource, .finished,
        ])
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertTrue(report.reason.contains("< 50"), report.reason)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [3000, 0])
        XCTAssertEqual(report.iterations.map(\.paused), [false, true])
        XCTAssertEqual(report.bytesSent, fullPassWireBytes + 5_000)
    }

    func testDowntimeRunsFromPauseToDestinationRunning() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy())
        var driver = idleDriver()
        driver.actionSeconds = [.sendDeviceState: 0.01, .awaitDestinationReady: 0.02, .clearDestinationToRun: 0.005]
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.downtimeSeconds, 0.035, accuracy: 1e-9)
        XCTAssertEqual(report.totalTimeSeconds, 0.038, accuracy: 1e-9)
    }

    func testXen4SendsTheLastDirtyPagesLiveBeforePausing() throws {
        let dirtyAfterRound1 = Array(stride(from: 0, to: 2960, by: 74)) // 40 pages
        XCTAssertEqual(dirtyAfterRound1.count, 40)
        let reads = [
            bitmap(pageCount: guestPages, pages: dirtyAfterRound1),
            bitmap(pageCount: guestPages, pages: [1, 2, 3, 4, 5]),
        ]
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { reads[$0 - 1] })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .send, .send, .send, .readAndClearDirtyLog, .send,
            .pauseGuest, .readAndClearDirtyLog, .send, .sendDeviceState, .awaitDestinationReady,
            .clearDestinationToRun, .destroySource, .finished,
        ])
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertTrue(report.reason.contains("40"), report.reason)
        XCTAssertEqual(report.iterations.map(\.index), [1, 2, 3])
        XCTAssertEqual(report.iterations.map(\.pagesSent), [3000, 40, 5])
        XCTAssertEqual(report.iterations.map(\.pagesDirtied), [40, 5, 0])
        XCTAssertEqual(report.iterations.map(\.paused), [false, false, true])
        XCTAssertEqual(driver.pagesSent(afterReads: 1), dirtyAfterRound1)
        XCTAssertEqual(driver.pagesSent(afterReads: 2), [1, 2, 3, 4, 5])
        // 12_312_048 + (40 x 4104 + 16) + (5 x 4104 + 16) + 5_000 device state.
        XCTAssertEqual(report.bytesSent, 12_312_048 + 164_176 + 20_536 + 5_000)
        XCTAssertEqual(report.pagesSent, 3045)
    }

    func testTinyGuestUnderXen4IsSentLiveOnceThenPaused() throws {
        // 40 pages < 50 before round 1: stop-and-copy, but Xen 4 still sends them live first.
        let empty = DirtyBitmap(pageCount: 40)
        var migration = makeSourceMigration(guestPages: 40, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: 40, readLog: { _ in empty })
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.actions.prefix(4), [.enableDirtyLogging, .send, .pauseGuest, .readAndClearDirtyLog])
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [40, 0])
        XCTAssertEqual(report.iterations.map(\.paused), [false, true])
    }
}
