import Foundation
import MigrationCore
@testable import MigrationExecutor
import XCTest

/// A guest nothing describes: its first round's dirty log, peeked at the progress updates,
/// stands in for its dirtying, so the time left includes the rounds to come before the first
/// read; the peeks stop with the first round.
final class FirstRoundDirtyingTests: XCTestCase {
    private let workingSet = 16_384.0
    private let rate = 20_000.0

    private func update(at seconds: Double, round: Int = 1) -> MigrationProgress {
        // A 1 GiB guest sent at 30,000 pages/s (about 1 Gbit/s).
        MigrationProgress(elapsedSeconds: seconds, iteration: round, paused: false, totalBytesSent: seconds * 30_000 * 4096,
                          pagesPending: 262_144 - seconds * 30_000, measuredBytesPerSecond: 30_000 * 4096, pageSizeBytes: 4096,
                          totalPagesSent: seconds * 30_000, guestPages: 262_144, completedLiveRounds: [], roundElapsedSeconds: seconds)
    }

    func testThePeekedFirstRoundStandsInForTheDirtying() throws {
        var clock = 0.0
        var peeks = 0
        let dirtying = FirstRoundDirtying(peekDirtyPages: { [workingSet, rate] in
            peeks += 1
            return Int(workingSet * (1 - exp(-rate * clock / workingSet)))
        })
        var estimate: [RemainingMigrationEstimate.DirtyClass] = []
        for tick in 1 ... 8 {
            clock = Double(tick) * 0.25
            estimate = dirtying.expectedDirtying(at: update(at: clock))
        }
        let fitted = try XCTUnwrap(estimate.first)
        // Whole pages in the counts: within a few per cent.
        XCTAssertEqual(fitted.pages, workingSet, accuracy: workingSet * 0.03)
        XCTAssertEqual(fitted.writesPerSecond, rate, accuracy: rate * 0.03)

        let policy = PolicyConfiguration(name: .xen4)
        let now = update(at: 2)
        let withPeeks = try XCTUnwrap(now.remaining(under: policy, expectedDirtying: estimate))
        let known = try XCTUnwrap(now.remaining(under: policy, expectedDirtying: [.init(pages: workingSet, writesPerSecond: rate)]))
        let blind = try XCTUnwrap(now.remaining(under: policy))
        XCTAssertGreaterThan(withPeeks.roundsToCome, 0, "the rounds to come are in the time left")
        XCTAssertEqual(withPeeks.remainingSeconds, known.remainingSeconds, accuracy: known.remainingSeconds * 0.02)
        XCTAssertGreaterThan(withPeeks.remainingSeconds, blind.remainingSeconds)

        // After the first round, the engine's reads measure the dirtying: no more peeks.
        let peeksInRoundOne = peeks
        XCTAssertEqual(dirtying.expectedDirtying(at: update(at: 9, round: 2)), estimate)
        XCTAssertEqual(peeks, peeksInRoundOne)
    }

    func testAGuestThatWritesNothingHasNoDirtying() {
        let dirtying = FirstRoundDirtying(peekDirtyPages: { 0 })
        for tick in 1 ... 4 { XCTAssertEqual(dirtying.expectedDirtying(at: update(at: Double(tick) * 0.5)), []) }
        let unreadable = FirstRoundDirtying(peekDirtyPages: { nil })
        for tick in 1 ... 4 { XCTAssertEqual(unreadable.expectedDirtying(at: update(at: Double(tick) * 0.5)), []) }
    }
}
