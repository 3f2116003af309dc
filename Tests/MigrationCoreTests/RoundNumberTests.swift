/// `SourceMigration.roundNumber`, which a parallel migration marks its rounds with on the data
/// streams: it rises at every round begun, the paused one included, even where the policy's
/// iteration does not (a live round the timeout policy ends early for the stop-and-copy).
import MigrationCore
import XCTest

final class RoundNumberTests: XCTestCase {
    func testThePausedRoundAfterAnEarlyStopHasANumberOfItsOwn() {
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 3000)
        var migration = makeSourceMigration(guestPages: 10_000, policy: TimeoutPolicy(timeoutSeconds: 0.05))
        var now = 0.0
        var sends: [(round: Int, iteration: Int, paused: Bool)] = []
        for _ in 0 ..< 1000 {
            now += 0.01
            guard let tagged = migration.poll(now: now) else { return XCTFail("nothing handed out") }
            switch tagged.action {
            case .finished(let report):
                XCTAssertNotEqual(report.outcome, .aborted, report.reason)
                let live = sends.filter { !$0.paused }, paused = sends.filter(\.paused)
                XCTAssertFalse(paused.isEmpty, "no paused round")
                // The timeout struck mid-round: the paused round shares the policy's iteration
                // with the live round before it, but not the round number.
                XCTAssertEqual(paused.first?.iteration, live.last?.iteration)
                XCTAssertGreaterThan(paused.first!.round, live.map(\.round).max()!)
                XCTAssertEqual(sends.map(\.round), sends.map(\.round).sorted(), "round numbers never go back")
                return
            case .send(_, let pages, let wireBytes):
                sends.append((migration.roundNumber, migration.stats.iteration, !migration.sourceGuestRunning))
                _ = pages
                migration.complete(tagged.id, .sent(bytes: wireBytes), now: now)
            case .readAndClearDirtyLog, .peekDirtyLog:
                migration.complete(tagged.id, .dirtyLog(dirty), now: now)
            case .waitUntil(let seconds):
                now = max(now, seconds)
                migration.complete(tagged.id, .done, now: now)
            default:
                migration.complete(tagged.id, .done, now: now)
            }
        }
        XCTFail("the migration did not finish")
    }
}
