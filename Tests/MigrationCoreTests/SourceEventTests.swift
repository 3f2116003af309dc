/// `SourceMigration.handle(_:now:)`: a cancel or a new limit arriving mid-flight, each
/// range-checked, each refused with a sentence when it cannot apply.
import MigrationCore
import XCTest

final class SourceEventTests: XCTestCase {
    func testACancelBeforeThePauseResumesNothingAndTurnsLoggingOff() throws {
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: 10_000, readLog: { _ in DirtyBitmap(pageCount: 10_000) })
        driver.events = [3: .cancel(reason: "asked by the operator")]
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.eventAnswers, [.accepted])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "cancelled: asked by the operator")
        XCTAssertEqual(Array(driver.actions.prefix(5)), [.enableDirtyLogging, .send, .send, .disableDirtyLogging, .finished])
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testACancelWhilePausedResumesTheSourceOnce() throws {
        let dirty = bitmap(pageCount: 2000, pages: 0 ..< 1500)
        var migration = makeSourceMigration(guestPages: 2000, policy: Xen4Policy(maxIterations: 1))
        var driver = ScriptedSourceDriver(guestPages: 2000, readLog: { _ in dirty })
        // Polled after the pause: enable, 2 sends, read, (Xen 4's live send of the dirty), pause.
        let pauseIndex = try pauseIndexOfAnUncancelledRun(dirty: dirty)
        driver.events = [pauseIndex + 1: .cancel(reason: "asked by the operator")]
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(driver.count(.resumeSource), 1)
        XCTAssertEqual(driver.count(.clearDestinationToRun), 0)
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    private func pauseIndexOfAnUncancelledRun(dirty: DirtyBitmap) throws -> Int {
        var migration = makeSourceMigration(guestPages: 2000, policy: Xen4Policy(maxIterations: 1))
        var driver = ScriptedSourceDriver(guestPages: 2000, readLog: { _ in dirty })
        _ = try XCTUnwrap(driver.run(&migration))
        return try XCTUnwrap(driver.actions.firstIndex(of: .pauseGuest))
    }

    func testACancelOnceTheDestinationMayRunTheGuestIsRefused() throws {
        var migration = makeSourceMigration(guestPages: 100, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: 100, readLog: { _ in DirtyBitmap(pageCount: 100) })
        _ = try XCTUnwrap(driver.run(&migration))
        let clearIndex = try XCTUnwrap(driver.actions.firstIndex(of: .clearDestinationToRun))

        var again = makeSourceMigration(guestPages: 100, policy: Xen4Policy())
        var second = ScriptedSourceDriver(guestPages: 100, readLog: { _ in DirtyBitmap(pageCount: 100) })
        second.events = [clearIndex + 1: .cancel(reason: "too late")]
        let report = try XCTUnwrap(second.run(&again))
        XCTAssertEqual(second.eventAnswers.count, 1)
        guard case .refused(let why) = second.eventAnswers[0] else { return XCTFail("a cancel after clearance was taken") }
        XCTAssertTrue(why.contains("cleared to run"), why)
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertEqual(again.handle(.cancel(reason: "after"), now: 1), .refused("the migration has already ended"))
    }

    func testANewBandwidthCapPacesTheBatchesAfterIt() throws {
        var migration = makeSourceMigration(guestPages: 5120, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: 5120, readLog: { _ in DirtyBitmap(pageCount: 5120) })
        // After the first batch: one 1024-page batch (4_202_512 bytes) per second.
        driver.events = [2: .setRateLimit(bytesPerSecond: 4_202_512)]
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.eventAnswers, [.accepted])
        XCTAssertEqual(driver.sends[0].startSeconds, 0)
        XCTAssertGreaterThan(driver.count(.waitUntil), 2)
        // Batches 2-5 under the cap: the fifth starts 3 s after the second.
        XCTAssertEqual(driver.sends[4].startSeconds - driver.sends[1].startSeconds, 3, accuracy: 1e-6)
        XCTAssertEqual(report.outcome, .converged)
    }

    func testLiftingTheCapStopsTheWaits() throws {
        var migration = makeSourceMigration(guestPages: 5120, policy: Xen4Policy(), settings: EngineSettings(rateLimitBytesPerSecond: 4_202_512))
        var driver = ScriptedSourceDriver(guestPages: 5120, readLog: { _ in DirtyBitmap(pageCount: 5120) })
        driver.events = [4: .setRateLimit(bytesPerSecond: nil)]
        _ = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.count(.waitUntil), 1)
        XCTAssertNil(migration.settings.rateLimitBytesPerSecond)
    }

    func testOutOfRangeLimitsAreRefusedNamingTheInput() {
        var migration = makeSourceMigration(guestPages: 100, policy: QemuPolicy())
        for bad in [0.0, -1, .nan, .infinity, 1e300] {
            guard case .refused(let why) = migration.handle(.setRateLimit(bytesPerSecond: bad), now: 0) else {
                return XCTFail("cap \(bad) taken")
            }
            XCTAssertTrue(why.hasPrefix("bandwidth cap"), why)
        }
        for bad in [0.0, 0.0001, -3, .nan, 2001] {
            guard case .refused(let why) = migration.handle(.setDowntimeLimit(seconds: bad), now: 0) else {
                return XCTFail("downtime limit \(bad) taken")
            }
            XCTAssertTrue(why.hasPrefix("downtime limit"), why)
        }
        XCTAssertNil(migration.settings.rateLimitBytesPerSecond)
    }

    func testADowntimeLimitGoesToAPolicyThatHasOne() throws {
        var xen = makeSourceMigration(guestPages: 100, policy: Xen4Policy())
        XCTAssertEqual(xen.handle(.setDowntimeLimit(seconds: 0.1), now: 0), .refused("policy xen4 has no downtime limit to set"))

        // 1,500 of 2,000 pages dirtied every round at 1 ms a batch: about 5.8 ms of pages,
        // never under a 1 ms limit, so QEMU's rule goes on; a 1 s limit lets it stop.
        let dirty = bitmap(pageCount: 2000, pages: 0 ..< 1500)
        var migration = makeSourceMigration(guestPages: 2000, policy: QemuPolicy(downtimeLimitSeconds: 0.001))
        var driver = ScriptedSourceDriver(guestPages: 2000, readLog: { _ in dirty })
        driver.sendSeconds = 0.01
        driver.events = [40: .setDowntimeLimit(seconds: 1)]
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(driver.eventAnswers, [.accepted])
        XCTAssertEqual(report.outcome, .converged)
        let pause = try XCTUnwrap(driver.actions.firstIndex(of: .pauseGuest))
        XCTAssertGreaterThan(pause, 40, "converged before the new limit")
    }
}
