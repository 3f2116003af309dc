/// SourceMigration driven to an offline fallback: Xen 4's 5-iteration limit, Xen 3's
/// 3 x guest memory and 29-round limits, Xen 3's skip rule starving a hot page set, and the
/// OfflineFallbackGuard inside the engine.
import MigrationCore
import XCTest

final class SourceMigrationFallbackTests: XCTestCase {
    /// A 20_000-page guest whose every read returns the same 10_000 (even) pages.
    private let guestPages = 20_000
    private var halfDirty: DirtyBitmap { bitmap(pageCount: 20_000, pages: stride(from: 0, to: 20_000, by: 2)) }

    func testXen4StopsAfterFiveLiveIterations() throws {
        let dirty = halfDirty
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen4Policy())
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("limit of 5 live iterations"), report.reason)
        XCTAssertEqual(report.liveIterationCount, 5)
        XCTAssertEqual(report.iterations.map(\.index), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(report.iterations.map(\.pagesSent), [20_000, 10_000, 10_000, 10_000, 10_000, 10_000])
        XCTAssertEqual(report.iterations.map(\.paused), [false, false, false, false, false, true])
        // Round 5's dirty pages are found by the read after the pause.
        XCTAssertEqual(report.iterations.map(\.pagesDirtied), [10_000, 10_000, 10_000, 10_000, 10_000, 0])
        XCTAssertEqual(driver.readsDone, 5) // after rounds 1...4, then the final read
        XCTAssertEqual(report.pagesSent, 70_000) // 20_000 + 4 x 10_000 live, 10_000 paused
        XCTAssertEqual(driver.pagesSent(afterReads: 1), Array(stride(from: 0, to: 20_000, by: 2)))
    }

    func testXen3StopsOnceMoreThanThreeTimesGuestMemoryWasSent() throws {
        // Empty peeks: nothing is skipped. After live round k, 20_000 + 10_000 (k - 1) pages
        // have gone: 60_000 after round 5 (not > 60_000), 70_000 after round 6 (stop).
        let dirty = halfDirty
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen3Policy())
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("70000"), report.reason)
        XCTAssertTrue(report.reason.contains("DEF_MAX_FACTOR"), report.reason)
        XCTAssertEqual(report.liveIterationCount, 6)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [20_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000])
        XCTAssertEqual(report.iterations.last?.paused, true)
        XCTAssertEqual(report.pagesSent, 80_000)
        XCTAssertEqual(driver.readsDone, 6)
        // One peek per batch: 20 batches in round 1, 10 in each of rounds 2...6.
        XCTAssertEqual(driver.peeksDone, 20 + 5 * 10)
    }

    func testXen3NeverRunsMoreThan29LiveRounds() throws {
        // 1_000_000 pages, 60 dirty per round: 60 >= 50 never converges and
        // 1_000_000 + 60 x 28 never reaches 3 x guest memory, so the round limit stops it.
        let pageCount = 1_000_000
        let dirty = bitmap(pageCount: pageCount, pages: stride(from: 0, to: 960_000, by: 16_000))
        XCTAssertEqual(dirty.count, 60)
        var migration = makeSourceMigration(guestPages: pageCount, policy: Xen3Policy(), collectsPageNumbers: false)
        var driver = ScriptedSourceDriver(guestPages: pageCount, readLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("29 live rounds"), report.reason)
        XCTAssertEqual(report.iterations.count, 30)
        XCTAssertEqual(report.liveIterationCount, 29)
        XCTAssertEqual(report.iterations.map(\.index), Array(1 ... 30))
        XCTAssertEqual(report.iterations[0].pagesSent, 1_000_000)
        XCTAssertEqual(Set(report.iterations.dropFirst().map(\.pagesSent)), [60])
        XCTAssertEqual(report.iterations[29].paused, true)
        XCTAssertEqual(driver.readsDone, 29) // after rounds 1...28, then the final read
        XCTAssertEqual(report.pagesSent, 1_000_000 + 29 * 60)
    }

    func testXen3SkipRuleStarvesPagesDirtiedInEveryRound() throws {
        // Peeks show the hot half too: round 1 sends the 10_000 odd pages and skips the even
        // ones; rounds 2...29 skip all 10_000 and send nothing (not reported); round 29 hits
        // the limit and the paused round sends them.
        let dirty = halfDirty
        var migration = makeSourceMigration(guestPages: guestPages, policy: Xen3Policy())
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in dirty }, peekLog: { _ in dirty })
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("29 live rounds"), report.reason)
        XCTAssertEqual(report.iterations.count, 2)
        XCTAssertEqual(report.iterations[0].pagesSent, 10_000)
        XCTAssertEqual(report.iterations[0].pagesSkipped, 10_000)
        XCTAssertEqual(report.iterations[0].pagesDirtied, 10_000)
        XCTAssertEqual(report.iterations[1].pagesSent, 10_000)
        XCTAssertTrue(report.iterations[1].paused)
        XCTAssertEqual(driver.readsDone, 29)
        XCTAssertEqual(driver.pagesSent(afterReads: 0), Array(stride(from: 1, to: 20_000, by: 2)))
        XCTAssertEqual(driver.pagesSent(afterReads: 29), Array(stride(from: 0, to: 20_000, by: 2)))
    }

    func testOfflineFallbackGuardStopsBeforeXen4sLimit() throws {
        // Round 1: 10_000 dirty < 0.9 x 20_000 sent. Rounds 2, 3, 4: 10_000 >= 0.9 x 10_000,
        // so the third bad round in a row (round 4) falls back.
        let dirty = halfDirty
        var migration = makeSourceMigration(guestPages: guestPages,
                                            policy: OfflineFallbackGuard(base: Xen4Policy(), rounds: 3))
        var driver = ScriptedSourceDriver(guestPages: guestPages, readLog: { _ in dirty })
        // 10 ms a batch: round 1 takes 0.2 s, past the meter's first 100 ms window, so the
        // guard has a measured rate to judge rounds by.
        driver.sendSeconds = 0.01
        let report = try XCTUnwrap(driver.run(&migration))

        XCTAssertEqual(report.outcome, .offlineFallback)
        XCTAssertTrue(report.reason.contains("cannot converge"), report.reason)
        XCTAssertTrue(report.reason.contains("round 4"), report.reason)
        XCTAssertEqual(report.liveIterationCount, 4)
        XCTAssertEqual(report.iterations.map(\.pagesSent), [20_000, 10_000, 10_000, 10_000, 10_000])
        XCTAssertEqual(report.iterations.last?.paused, true)
        // The stop comes from the 4th read: the guest is paused right after it.
        let reads = driver.actions.indices.filter { driver.actions[$0] == .readAndClearDirtyLog }
        XCTAssertEqual(reads.count, 5)
        XCTAssertEqual(driver.actions[reads[3] + 1], .pauseGuest)
        XCTAssertEqual(driver.actions[reads[3] + 2], .readAndClearDirtyLog)
    }
}
