import MigrationCore
import XCTest

/// `PrecopyCallbackAdvisor` answering libxenguest's `precopy_policy` the way Xen 4.17's
/// `send_memory_live` asks: the test replays that loop's calls with scripted dirty counts.
final class PrecopyCallbackAdvisorTests: XCTestCase {
    private let guestPages = 262_144

    /// Xen's loop (xg_sr_save.c, send_memory_live), with `dirtyCounts[i]` the count the i-th
    /// CLEAN returns and each pass taking one second. Returns the answers in call order.
    private func runXenLoop(_ advisor: inout PrecopyCallbackAdvisor, dirtyCounts: [Int]) -> [PrecopyCallbackAdvisor.Answer] {
        var answers: [PrecopyCallbackAdvisor.Answer] = []
        var iteration = 0, totalWritten = 0, dirty = guestPages, now = 0.0, cleans = 0
        while true {
            let top = advisor.answer(iteration: iteration, totalWritten: totalWritten, dirtyCount: dirty, nowSeconds: now)
            answers.append(top)
            iteration += 1
            if dirty > 0, top != .abort { now += 1 }  // send_dirty_pages
            if top != .continuePrecopy { break }
            totalWritten += dirty
            let after = advisor.answer(iteration: iteration, totalWritten: totalWritten, dirtyCount: -1, nowSeconds: now)
            answers.append(after)
            if after != .continuePrecopy { break }
            dirty = dirtyCounts[min(cleans, dirtyCounts.count - 1)]
            cleans += 1
        }
        return answers
    }

    func testXen4StopsWhenFewerThan50PagesAreDirtyAfterSendingThemLive() {
        var advisor = PrecopyCallbackAdvisor(policy: PolicyConfiguration(name: .xen4).makePolicy(), guestPageCount: guestPages)
        let answers = runXenLoop(&advisor, dirtyCounts: [1000, 200, 30])
        XCTAssertEqual(answers, [.continuePrecopy, .continuePrecopy, .continuePrecopy, .continuePrecopy,
                                 .continuePrecopy, .continuePrecopy, .stopAndCopy])
        XCTAssertEqual(advisor.stop?.outcome, .converged)
        XCTAssertTrue(advisor.stop?.reason.contains("SPP_TARGET_DIRTY_COUNT") ?? false, "\(String(describing: advisor.stop))")
        // Four live passes: the full one, then the three dirty sets (the last one sent live
        // after the stop, as Xen does), each with what the guest dirtied meanwhile.
        XCTAssertEqual(advisor.iterations.map(\.pagesSent), [guestPages, 1000, 200, 30])
        XCTAssertEqual(advisor.iterations.map(\.pagesDirtied), [1000, 200, 30, 0])
        XCTAssertEqual(advisor.iterations.map(\.startSeconds), [0, 1, 2, 3])
        let report = advisor.report(live: true, totalSeconds: 4.2, downtimeSeconds: 0.2, pausedPages: 12, pausedStartSeconds: 4,
                                    bytesSent: 100)
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertEqual(report.policy, "xen4")
        XCTAssertEqual(report.iterations.count, 5)
        XCTAssertEqual(report.iterations.last?.paused, true)
        XCTAssertEqual(report.pagesSent, guestPages + 1000 + 200 + 30 + 12)
    }

    func testXen3StopsOnAnEmptyPassInsteadOfLoopingToItsLimit() {
        // Xen's loop runs a pass even when nothing is dirty; Xen 3's rule (fewer than 50 pages
        // sent in a pass) must end pre-copy there.
        var advisor = PrecopyCallbackAdvisor(policy: PolicyConfiguration(name: .xen3).makePolicy(), guestPageCount: guestPages)
        let answers = runXenLoop(&advisor, dirtyCounts: [4000, 200, 0])
        XCTAssertEqual(answers.last, .stopAndCopy)
        XCTAssertEqual(advisor.stop?.outcome, .converged, "\(String(describing: advisor.stop))")
        XCTAssertTrue(advisor.stop?.reason.contains("round 4 sent + skipped 0 pages < 50") ?? false, "\(String(describing: advisor.stop))")
        XCTAssertEqual(advisor.iterations.map(\.pagesSent), [guestPages, 4000, 200], "the empty pass is not reported")
    }

    func testXen4FallsBackOfflineAfterFiveLivePasses() {
        var advisor = PrecopyCallbackAdvisor(policy: PolicyConfiguration(name: .xen4).makePolicy(), guestPageCount: guestPages)
        let answers = runXenLoop(&advisor, dirtyCounts: [5000])
        XCTAssertEqual(answers.last, .stopAndCopy)
        XCTAssertEqual(advisor.iterations.count, 5, "SPP_MAX_ITERATIONS passes, the full one included")
        XCTAssertEqual(advisor.stop?.outcome, .offlineFallback)
        XCTAssertTrue(advisor.stop?.reason.contains("5 live iterations") ?? false)
    }

    func testTheOfflineFallbackGuardGovernsXensLoopToo() {
        // qemu's budget: 300 ms at the measured 41 MB/s (10,000 pages in a one-second pass) is
        // 3,000 pages; 9,500 are dirty again after each pass, so it never converges, and the
        // guard gives up after 2 such passes.
        var configuration = PolicyConfiguration(name: .qemu)
        configuration.fallbackRounds = 2
        var advisor = PrecopyCallbackAdvisor(policy: configuration.makePolicy(), guestPageCount: 10_000)
        var answers: [PrecopyCallbackAdvisor.Answer] = []
        var iteration = 0, total = 0, dirty = 10_000, now = 0.0
        for _ in 0 ..< 10 {
            let top = advisor.answer(iteration: iteration, totalWritten: total, dirtyCount: dirty, nowSeconds: now)
            answers.append(top)
            iteration += 1
            now += 1
            if top != .continuePrecopy { break }
            total += dirty
            answers.append(advisor.answer(iteration: iteration, totalWritten: total, dirtyCount: -1, nowSeconds: now))
            dirty = 9500
        }
        XCTAssertEqual(answers.last, .stopAndCopy)
        XCTAssertEqual(advisor.stop?.outcome, .offlineFallback, "\(String(describing: advisor.stop))")
        XCTAssertTrue(advisor.stop?.reason.contains("cannot converge") ?? false)
    }

    func testAnOfflineSaveWithoutCallbacksKeepsItsPausedPassTimes() {
        // `xl save` runs libxenguest without live passes: no callback comes at all.
        let advisor = PrecopyCallbackAdvisor(policy: PolicyConfiguration(name: .xen4).makePolicy(), guestPageCount: guestPages)
        let report = advisor.report(live: false, totalSeconds: 3, downtimeSeconds: 2.5, pausedPages: guestPages, pausedStartSeconds: 0.5,
                                    bytesSent: guestPages * 4104)
        XCTAssertEqual(report.iterations.count, 1)
        let paused = try? XCTUnwrap(report.iterations.first)
        XCTAssertEqual(paused?.paused, true)
        XCTAssertEqual(paused?.pagesSent, guestPages)
        XCTAssertEqual(paused?.startSeconds ?? 0, 0.5, accuracy: 1e-12)
        XCTAssertEqual(paused?.durationSeconds ?? 0, 2.5, accuracy: 1e-12)
        XCTAssertEqual(report.totalTimeSeconds, 3)
        XCTAssertEqual(report.live, false)
        XCTAssertEqual(report.outcome, .converged)
    }

    func testAFailedSaveReportsAbortedWithItsReason() {
        var advisor = PrecopyCallbackAdvisor(policy: PolicyConfiguration(name: .xen4).makePolicy(), guestPageCount: guestPages)
        _ = runXenLoop(&advisor, dirtyCounts: [1000, 20])
        let report = advisor.report(live: true, totalSeconds: 2, downtimeSeconds: 0, pausedPages: 0, pausedStartSeconds: 2,
                                    bytesSent: 0, failure: "xc_domain_save failed: Broken pipe")
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertEqual(report.reason, "xc_domain_save failed: Broken pipe")
    }
}
