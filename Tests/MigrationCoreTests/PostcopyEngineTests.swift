/// Post-copy in the engine: when it hands over (after N live rounds, or instead of an offline
/// fallback), the order of the hand-over, requested pages going first, the report, and what a
/// failure or a cancel after the hand-over leaves (the source paused, never resumed, never
/// destroyed).
import MigrationCore
import XCTest

final class PostcopyEngineTests: XCTestCase {
    private let guestPages = 3000

    /// Pages 0..<1500 dirty at every read: a migration that never converges.
    private func hotLog(_ read: Int) -> DirtyBitmap {
        var log = DirtyBitmap(pageCount: guestPages)
        log.insert(range: 0 ..< 1500)
        return log
    }

    /// Post-copy's background batches as large as pre-copy's (1024 pages), and no peeks before
    /// the live round's batches, so that the scripts below count sends and polls simply;
    /// `testPostcopyPushesInSmallBatches` and `testTheLiveRoundBeforeTheHandOverSkipsPagesDirtiedAgain`
    /// check the defaults.
    private func settings(_ postcopy: PostcopySwitch) -> EngineSettings {
        var settings = EngineSettings()
        settings.postcopy = postcopy
        settings.postcopyBatchPages = settings.maxBatchPages
        settings.postcopySkipsPagesDirtiedAgain = false
        return settings
    }

    /// By default post-copy pushes 64 pages a batch, so that a requested page waits behind a
    /// small batch; requests are served between them, and every missing page goes once.
    func testPostcopyPushesInSmallBatches() throws {
        var settings = EngineSettings()
        settings.postcopy = .afterLiveRounds(1)
        settings.postcopySkipsPagesDirtiedAgain = false
        XCTAssertEqual(settings.postcopyBatchPages, 64)
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings)
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        // Poll 12: after the hand-over (8) and three post-copy sends.
        driver.events = [12: .pagesRequested(PageRequest(pages: [1499]))]
        let report = try XCTUnwrap(driver.run(&migration))
        // Round 1 sent 3 batches of 1024; the rest is post-copy's.
        let postcopySends = driver.sends.dropFirst(3).map(\.pages)
        XCTAssertEqual(postcopySends.count, 25, "1499 pages in 64s, and the one asked for")
        XCTAssertEqual(postcopySends.map(\.count).max(), 64)
        XCTAssertEqual(postcopySends[3], [1499], "the request goes right after the batch being written")
        XCTAssertEqual(postcopySends.flatMap { $0 }.sorted(), Array(0 ..< 1500))
        XCTAssertEqual(report.postcopy?.pagesSent, 1500)
    }

    func testAfterOneLiveRoundTheGuestRunsOnTheDestinationWithTheDirtyPagesMissing() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        driver.actionSeconds = [.pauseGuest: 0.010, .startPostcopy: 0.002]
        let report = try XCTUnwrap(driver.run(&migration))
        // Round 1 (3 batches), its dirty-log read, the pause, the final read, the device state, the
        // hand-over, then the 1500 missing pages (2 batches), the end, the destroy: no paused
        // round, no clearance.
        XCTAssertEqual(driver.actions, [
            .enableDirtyLogging, .send, .send, .send, .readAndClearDirtyLog, .pauseGuest, .readAndClearDirtyLog, .sendDeviceState,
            .startPostcopy, .send, .send, .awaitDestinationReady, .destroySource, .finished,
        ])
        XCTAssertEqual(driver.postcopyMissing, Array(0 ..< 1500))
        XCTAssertEqual(report.outcome, .postcopy)
        XCTAssertEqual(report.reason, "post-copy after 1 live round, as asked")
        XCTAssertEqual(report.iterations.map(\.postcopy), [nil, true])
        XCTAssertEqual(report.iterations.map(\.pagesSent), [3000, 1500])
        XCTAssertEqual(report.liveIterationCount, 1)
        // The downtime ends at the hand-over, not when the last page arrives.
        XCTAssertEqual(report.downtimeSeconds, 0.002, accuracy: 1e-9)
        XCTAssertEqual(report.totalTimeSeconds, 0.003 + 0.010 + 0.002 + 0.002, accuracy: 1e-9)
        let postcopy = try XCTUnwrap(report.postcopy)
        XCTAssertEqual(postcopy.pagesMissingAtStart, 1500)
        XCTAssertEqual(postcopy.pagesSent, 1500)
        XCTAssertEqual(postcopy.requests, 0)
        XCTAssertEqual(postcopy.durationSeconds, 0.002, accuracy: 1e-9)
        XCTAssertFalse(migration.sourceGuestRunning)
    }

    /// By default the live round before a hand-over peeks at the dirty log before each batch and
    /// passes over pages dirty again: they go once, after the hand-over, instead of twice (and
    /// the destination holds no stale copy of them to throw away).
    func testTheLiveRoundBeforeTheHandOverSkipsPagesDirtiedAgain() throws {
        var settings = EngineSettings()
        settings.postcopy = .afterLiveRounds(1)
        XCTAssertTrue(settings.postcopySkipsPagesDirtiedAgain)
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings)
        // The hot half is dirty again from the first peek on.
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog, peekLog: hotLog)
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.outcome, .postcopy)
        XCTAssertGreaterThan(driver.peeksDone, 0)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [1500, 1500], "the hot half goes once, after the hand-over")
        XCTAssertEqual(report.iterations.first?.pagesSkipped, 1500)
        XCTAssertEqual(driver.postcopyMissing, Array(0 ..< 1500))
        XCTAssertEqual(driver.sends.flatMap(\.pages).sorted(), Array(0 ..< 3000), "every page once")

        // Without the rule, the same guest's hot half goes twice.
        settings.postcopySkipsPagesDirtiedAgain = false
        var plain = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings)
        var plainDriver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog, peekLog: hotLog)
        let plainReport = try XCTUnwrap(plainDriver.run(&plain))
        XCTAssertEqual(plainDriver.peeksDone, 0)
        XCTAssertEqual(plainReport.iterations.map(\.pagesSent), [3000, 1500])

        // After two rounds: only round 2 peeks (round 1 sends every page, as the policies expect).
        settings.postcopySkipsPagesDirtiedAgain = true
        settings.postcopy = .afterLiveRounds(2)
        var later = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings)
        var laterDriver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog, peekLog: hotLog)
        let laterReport = try XCTUnwrap(laterDriver.run(&later))
        XCTAssertEqual(laterReport.outcome, .postcopy)
        XCTAssertEqual(laterReport.iterations.first?.pagesSent, 3000)
        XCTAssertEqual(laterReport.iterations.first?.pagesSkipped, 0)
        XCTAssertGreaterThan(laterDriver.peeksDone, 0, "round 2 peeked")
        XCTAssertEqual(laterDriver.postcopyMissing, Array(0 ..< 1500))
        XCTAssertEqual(laterReport.postcopy?.pagesSent, 1500)
        // Round 2 passed over the hot half (sending nothing, it is not listed): without the rule
        // it would have sent it, [3000, 1500, 1500] and 4500 pages before post-copy's end.
        XCTAssertEqual(laterReport.iterations.map(\.pagesSent), [3000, 1500])
        XCTAssertEqual(laterDriver.sends.flatMap(\.pages).count, 4500, "round 1's 3000 and the hot half once")
    }

    func testRequestedPagesGoBeforeThePagesInOrderAndOnlyOnce() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        // Polls: 0 enable, 1-3 round 1, 4 read, 5 pause, 6 read, 7 state, 8 hand-over, 9 first post-copy send.
        driver.events = [9: .pagesRequested(PageRequest(pages: [1400, 7, 1400, 2999])), 10: .pagesRequested(PageRequest(pages: [7]))]
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.eventAnswers, [.accepted, .accepted])
        let postcopySends = driver.sends.suffix(3).map(\.pages)
        // 2999 was sent in round 1 and is not dirty: not missing, nothing to send. 7 asked again: sent once.
        XCTAssertEqual(postcopySends.first, [1400, 7])
        XCTAssertEqual(postcopySends.dropFirst().flatMap { $0 }, (0 ..< 1500).filter { $0 != 7 && $0 != 1400 })
        XCTAssertEqual(report.postcopy?.requests, 2)
        XCTAssertEqual(report.postcopy?.pagesRequested, 2)
        XCTAssertEqual(report.pagesSent, 4500)
    }

    func testAGiveUpOnConvergenceBecomesPostcopyInsteadOfAnOfflineCopy() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(maxIterations: 3),
                                            settings: settings(.insteadOfFallback))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.outcome, .postcopy)
        XCTAssertTrue(report.reason.hasPrefix("pre-copy would not converge ("), report.reason)
        XCTAssertEqual(driver.count(.startPostcopy), 1)
        XCTAssertEqual(driver.count(.clearDestinationToRun), 0)
        XCTAssertEqual(report.iterations.last?.postcopy, true)
    }

    func testWithoutPostcopyTheSameGuestFallsBackOffline() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(maxIterations: 3))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertEqual(driver.count(.startPostcopy), 0)
        XCTAssertNil(report.postcopy)
    }

    func testAConvergedStopIsNotHandedOver() throws {
        // Nothing dirty: Xen 4 converges after round 1 and the paused round is empty.
        let empty = DirtyBitmap(pageCount: guestPages)
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.insteadOfFallback))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in empty })
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertEqual(driver.count(.startPostcopy), 0)
        XCTAssertEqual(driver.count(.clearDestinationToRun), 1)
    }

    func testALinkFailureInPostcopyLeavesTheSourcePausedNeitherResumedNorDestroyed() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        // The first send after the hand-over (the 4th send) fails.
        driver.failure = ScriptedSourceDriver.failNth(.send, 4, "connection reset")
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(Array(driver.actions.suffix(3)), [.startPostcopy, .send, .finished])
        XCTAssertEqual(driver.count(.resumeSource), 0)
        XCTAssertEqual(driver.count(.destroySource), 0)
        XCTAssertEqual(driver.count(.disableDirtyLogging), 0)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.sourceLeftPaused, true)
        XCTAssertTrue(report.reason.contains("post-copy was cut short") && report.reason.contains("connection reset"), report.reason)
        XCTAssertEqual(report.postcopy?.pagesMissingAtStart, 1500)
        XCTAssertFalse(migration.sourceGuestRunning)
        XCTAssertTrue(migration.isFinished)
    }

    /// Runs a post-copy after one round with `adjust` applied to the driver.
    private func runAfterOneRound(_ adjust: (inout ScriptedSourceDriver) -> Void) throws
        -> (report: MigrationReport, driver: ScriptedSourceDriver, migration: SourceMigration<BitmapPageTracker>) {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        adjust(&driver)
        let report = try XCTUnwrap(driver.run(&migration))
        return (report, driver, migration)
    }

    func testAFailedEndOfPostcopyOrHandOverLeavesTheSourcePausedToo() throws {
        for (kind, message) in [(ActionKind.awaitDestinationReady, "no answer"), (.startPostcopy, "reset mid-clearance")] {
            let (report, driver, migration) = try runAfterOneRound { $0.failure = ScriptedSourceDriver.failNth(kind, 1, message) }
            XCTAssertEqual(driver.count(.resumeSource), 0, "\(kind)")
            XCTAssertEqual(driver.count(.destroySource), 0, "\(kind)")
            XCTAssertEqual(report.sourceLeftPaused, true, "\(kind)")
            XCTAssertFalse(migration.sourceGuestRunning)
        }
    }

    func testAHandOverNeverPerformedResumesTheSource() throws {
        let (report, driver, migration) = try runAfterOneRound { driver in
            driver.notPerformed = { kind, _ in kind == .startPostcopy ? "cancelled first" : nil }
        }
        XCTAssertEqual(driver.count(.resumeSource), 1)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertNil(report.sourceLeftPaused)
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    func testAHandOverTheDestinationReleasedResumesTheSource() throws {
        let (report, driver, migration) = try runAfterOneRound { driver in
            driver.released = { kind, _ in kind == .startPostcopy ? "could not unpause" : nil }
        }
        XCTAssertEqual(driver.count(.resumeSource), 1, "the destination never ran the guest: the source runs it again")
        XCTAssertEqual(driver.count(.destroySource), 0)
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertNil(report.sourceLeftPaused)
        XCTAssertTrue(report.reason.contains("could not unpause"), report.reason)
        XCTAssertTrue(migration.sourceGuestRunning)
    }

    /// Two actions out at once: a send after the hand-over fails while another is out; the
    /// source stays paused whatever completes after (one interruption, never a resume).
    func testWithTwoActionsOutAFailedPostcopySendStillLeavesTheSourcePaused() throws {
        for failing in [4, 5] {
            var engine = settings(.afterLiveRounds(1))
            engine.maxActionsInFlight = 2
            var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: engine)
            var driver = ConcurrentSourceDriver(readLog: hotLog)
            driver.failingSend = (failing, "stream \(failing) reset")
            let report = try XCTUnwrap(driver.run(&migration))
            XCTAssertEqual(driver.count(.startPostcopy), 1)
            XCTAssertEqual(driver.count(.resumeSource), 0, "send \(failing)")
            XCTAssertEqual(driver.count(.destroySource), 0, "send \(failing)")
            XCTAssertEqual(report.outcome, .aborted)
            XCTAssertEqual(report.sourceLeftPaused, true)
            XCTAssertTrue(report.reason.contains("stream \(failing) reset"), report.reason)
            XCTAssertFalse(migration.sourceGuestRunning)
        }
    }

    func testACancelAfterTheHandOverIsRefusedAndRequestsBeforeItAreToo() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        driver.events = [2: .pagesRequested(PageRequest(pages: [1])), 10: .cancel(reason: "operator")]
        let report = try XCTUnwrap(driver.run(&migration))
        guard case .refused(let early) = driver.eventAnswers[0], case .refused(let late) = driver.eventAnswers[1] else {
            return XCTFail("both refused: \(driver.eventAnswers)")
        }
        XCTAssertTrue(early.contains("no post-copy"), early)
        XCTAssertTrue(late.contains("too late to cancel"), late)
        XCTAssertEqual(report.outcome, .postcopy)
    }

    func testRequestsForPagesOutsideTheGuestAreRefused() throws {
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: settings(.afterLiveRounds(1)))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        driver.events = [9: .pagesRequested(PageRequest(pages: [3000])), 10: .pagesRequested(PageRequest(count: -1))]
        _ = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.eventAnswers.count, 2)
        for answer in driver.eventAnswers {
            guard case .refused(let why) = answer else { return XCTFail("accepted a request outside the guest") }
            XCTAssertTrue(why.contains("the guest has 3000"), why)
        }
    }

    func testAnOfflineMigrationNeverHandsOver() throws {
        var engine = settings(.insteadOfFallback)
        engine.live = false
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy(), settings: engine)
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: hotLog)
        let report = try XCTUnwrap(driver.run(&migration))
        XCTAssertEqual(driver.count(.startPostcopy), 0)
        XCTAssertNotEqual(report.outcome, .postcopy)
    }
}
