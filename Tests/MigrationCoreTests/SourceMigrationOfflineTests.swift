/// SourceMigration with EngineSettings(live: false): pause first, one paused pass over every
/// page, no dirty logging.
import MigrationCore
import XCTest

final class SourceMigrationOfflineTests: XCTestCase {
    func testOfflineMigrationPausesFirstAndCopiesEverythingOnce() throws {
        var migration = makeSourceMigration(guestPages: 3000, policy: Xen4Policy(), settings: EngineSettings(live: false))
        var driver = ScriptedSourceDriver(guestPages: 3000, readLog: { _ in
            XCTFail("an offline migration reads no dirty log")
            return DirtyBitmap(pageCount: 3000)
        })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.actions, [
            .pauseGuest, .send, .send, .send, .sendDeviceState, .awaitDestinationReady,
            .clearDestinationToRun, .destroySource, .finished,
        ])
        XCTAssertFalse(report.live)
        XCTAssertNotEqual(report.outcome, .aborted)
        XCTAssertEqual(report.iterations.count, 1)
        XCTAssertEqual(report.iterations[0].index, 1)
        XCTAssertEqual(report.iterations[0].pagesSent, 3000)
        XCTAssertTrue(report.iterations[0].paused)
        XCTAssertEqual(driver.sends.flatMap(\.pages), Array(0 ..< 3000))
        XCTAssertEqual(report.bytesSent, 12_312_048 + 5_000)
        // Paused from the start: the whole migration is downtime.
        XCTAssertEqual(report.downtimeSeconds, report.totalTimeSeconds, accuracy: 1e-12)
        XCTAssertEqual(report.totalTimeSeconds, 0.003, accuracy: 1e-9)
    }

    func testOfflineMigrationDoesNotPeekEvenUnderXen3() throws {
        var migration = makeSourceMigration(guestPages: 100, policy: Xen3Policy(), settings: EngineSettings(live: false))
        var driver = ScriptedSourceDriver(guestPages: 100, readLog: { _ in DirtyBitmap(pageCount: 100) })
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.count(.peekDirtyLog), 0)
        XCTAssertEqual(driver.count(.enableDirtyLogging), 0)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [100])
    }
}
