/// SourceMigration's failure handling: which clean-up actions follow a failed action before
/// the pause, after it, and after the destination was cleared to run, and whether the source
/// guest is left running.
import MigrationCore
import XCTest

final class SourceMigrationFailureTests: XCTestCase {
    private let guestPages = 3000

    private func run(policy: any PrecopyPolicy = Xen4Policy(),
                     failure: @escaping (ActionKind, [ActionKind]) -> String?)
        throws -> (report: MigrationReport, driver: ScriptedSourceDriver, migration: SourceMigration<BitmapPageTracker>) {
        let empty = DirtyBitmap(pageCount: guestPages)
        var migration = makeSourceMigration(guestPages: guestPages, policy: policy)
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in empty })
        driver.failure = failure
        let report = try XCTUnwrap(driver.run(&migration))
        return (report, driver, migration)
    }

    func testSendFailureInRoundOneDisablesLoggingAndLeavesTheGuestRunning() throws {
        let (report, driver, migration) = try run(failure: ScriptedSourceDriver.failNth(.send, 2, "link down"))
        XCTAssertEqual(driver.actions, [.enableDirtyLogging, .send, .send, .disableDirtyLogging, .finished])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "link down")
        XCTAssertEqual(report.bytesSent, 4_202_512) // only the first batch completed
        XCTAssertEqual(report.pagesSent, 1024, "the failed batch sent nothing")
        XCTAssertEqual(report.iterations.map(\.pagesSent), [1024])
        XCTAssertEqual(report.downtimeSeconds, 0)
        XCTAssertTrue(migration.sourceGuestRunning)
        XCTAssertTrue(migration.isFinished)
        XCTAssertEqual(driver.count(.pauseGuest), 0)
        XCTAssertEqual(driver.count(.resumeSource), 0)
    }

    func testFailureToEnableDirtyLoggingFinishesAtOnce() throws {
        let (report, driver, migration) = try run(failure: ScriptedSourceDriver.failNth(.enableDirtyLogging, 1, "no shadow"))
        XCTAssertEqual(driver.actions, [.enableDirtyLogging, .finished])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "no shadow")
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testDestinationReadyFailureResumesTheSourceExactlyOnce() throws {
        let (report, driver, migration) = try run(
            failure: ScriptedSourceDriver.failNth(.awaitDestinationReady, 1, "destination crashed"))
        XCTAssertEqual(Array(driver.actions.suffix(6)), [
            .readAndClearDirtyLog, .sendDeviceState, .awaitDestinationReady,
            .disableDirtyLogging, .resumeSource, .finished,
        ])
        XCTAssertEqual(driver.count(.resumeSource), 1)
        XCTAssertEqual(driver.count(.clearDestinationToRun), 0)
        XCTAssertEqual(driver.count(.destroySource), 0)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "destination crashed")
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testSendFailureInThePausedRoundResumesTheSource() throws {
        // 3000 pages dirty again: the paused round has 3 batches; its first send fails.
        let all = DirtyBitmap.full(pageCount: guestPages)
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(maxIterations: 1))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in all })
        driver.failure = ScriptedSourceDriver.failNth(.send, 4, "link down")
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .send, .send, .send, .pauseGuest, .readAndClearDirtyLog, .send,
            .disableDirtyLogging, .resumeSource, .finished,
        ])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testResumeFailureIsReportedAndTheGuestIsNotRunning() throws {
        let (report, driver, migration) = try run(failure: { kind, before in
            switch kind {
            case .awaitDestinationReady: return "destination crashed"
            case .resumeSource: return "hypervisor refused"
            default: return nil
            }
        })
        XCTAssertEqual(Array(driver.actions.suffix(3)), [.disableDirtyLogging, .resumeSource, .finished])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.hasPrefix("destination crashed"), report.reason)
        XCTAssertTrue(report.reason.contains("resuming the source failed: hypervisor refused"), report.reason)
        XCTAssertFalse(migration.sourceGuestRunning)
    }

    func testClearToRunFailureLeavesTheSourcePausedAndNotDestroyed() throws {
        let (report, driver, migration) = try run(
            failure: ScriptedSourceDriver.failNth(.clearDestinationToRun, 1, "connection reset"))
        XCTAssertEqual(Array(driver.actions.suffix(3)), [.awaitDestinationReady, .clearDestinationToRun, .finished])
        XCTAssertEqual(driver.count(.resumeSource), 0)
        XCTAssertEqual(driver.count(.destroySource), 0)
        XCTAssertEqual(driver.count(.disableDirtyLogging), 0)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("connection reset"), report.reason)
        XCTAssertTrue(report.reason.contains("left paused"), report.reason)
        XCTAssertEqual(report.sourceLeftPaused, true, "the report carries the verdict for the operator's tools")
        XCTAssertFalse(migration.sourceGuestRunning)
    }

    /// A cancel that came before "cleared to unpause" was sent: the destination was never
    /// cleared, so the source resumes its guest (contrast the failed clear above).
    func testAClearNotPerformedResumesTheSource() throws {
        let empty = DirtyBitmap(pageCount: guestPages)
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in empty })
        driver.notPerformed = { kind, _ in kind == .clearDestinationToRun ? "cancelled: migrate --cancel" : nil }
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(Array(driver.actions.suffix(5)),
                       [.awaitDestinationReady, .clearDestinationToRun, .disableDirtyLogging, .resumeSource, .finished])
        XCTAssertEqual(driver.count(.destroySource), 0)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "cancelled: migrate --cancel")
        XCTAssertNil(report.sourceLeftPaused)
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testDestroyFailureKeepsTheOutcomeAndAppendsToTheReason() throws {
        let (report, driver, _) = try run(failure: ScriptedSourceDriver.failNth(.destroySource, 1, "EBUSY"))
        XCTAssertEqual(Array(driver.actions.suffix(2)), [.destroySource, .finished])
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertTrue(report.reason.hasPrefix("dirty count 0"), report.reason)
        XCTAssertTrue(report.reason.contains("destroying the source failed: EBUSY"), report.reason)
    }

    func testAbortLiftsTheGuestThrottleFirst() throws {
        // QEMU auto-converge on a 2048-page guest dirtying every page, 0.6 s per batch: reads
        // at 1.2 s and 2.4 s close two high periods, so round 3 starts by throttling to 20 %.
        let pageCount = 2048
        let all = DirtyBitmap.full(pageCount: pageCount)
        var migration = makeSourceMigration(guestPages: pageCount, policy: QemuPolicy(autoConverge: .init()))
        var driver = ScriptedSourceDriver(guestPages: pageCount, readLog: { _ in all })
        driver.sendSeconds = 0.6
        driver.failure = { kind, before in
            kind == .send && before.contains(.throttleGuest(20)) ? "link down" : nil
        }
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .send, .send, .readAndClearDirtyLog, .send, .send, .readAndClearDirtyLog,
            .throttleGuest(20), .send, .throttleGuest(0), .disableDirtyLogging, .finished,
        ])
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.maxThrottlePercent, 20)
        XCTAssertTrue(migration.sourceGuestRunning)
    }
}
