@testable import MigrationCore
import XCTest

/// A firmware guest's first-round dirtying fitted from two peeks: the working set and rate of
/// Poisson writes come back from their exact counts, and the edge cases (idle, linear,
/// saturated, no time) give a usable class or none.
final class DirtyClassFitTests: XCTestCase {
    private func dirtied(pages: Double, rate: Double, seconds: Double) -> Double {
        pages * (1 - exp(-rate * seconds / pages))
    }

    func testPoissonWritesComeBack() {
        for (pages, rate) in [(4096.0, 20_000.0), (32_768, 8000), (200_000, 50_000)] {
            let fit = RemainingMigrationEstimate.DirtyClass.fitted(
                early: (0.25, dirtied(pages: pages, rate: rate, seconds: 0.25)), late: (2, dirtied(pages: pages, rate: rate, seconds: 2)),
                guestPages: 262_144)
            XCTAssertEqual(fit.count, 1)
            XCTAssertEqual(fit[0].pages, pages, accuracy: pages * 1e-6, "working set of \(pages)")
            XCTAssertEqual(fit[0].writesPerSecond, rate, accuracy: rate * 1e-6, "rate of \(rate)")
            XCTAssertFalse(fit[0].sweep)
        }
    }

    func testTheEdgesGiveAUsableClassOrNone() {
        let fit = RemainingMigrationEstimate.DirtyClass.fitted
        XCTAssertEqual(fit((0.25, 0), (2, 0), 1000), [], "idle")
        XCTAssertEqual(fit((1, 0), (1, 10), 1000), [], "no time between the counts")
        XCTAssertEqual(fit((0.5, 100), (1, .nan), 1000), [])
        // Linear growth: as many pages as writes, over all of memory.
        XCTAssertEqual(fit((0.5, 1000), (2, 4000), 262_144), [.init(pages: 262_144, writesPerSecond: 2000)])
        // All dirty by the first count: the working set is what was seen, written fast.
        let saturated = fit((0.25, 512), (2, 512), 262_144)
        XCTAssertEqual(saturated.first?.pages ?? 0, 512, accuracy: 0.01)
        XCTAssertGreaterThan(saturated.first?.writesPerSecond ?? 0, 512 / 0.25)
        // Writes that began after the first count.
        XCTAssertEqual(fit((0.25, 0), (1.25, 300), 1000), [.init(pages: 1000, writesPerSecond: 300)])
        // Never a working set beyond memory, and then the rate that dirties the late count in
        // all of it: nearly linear counts over a large guest keep their pace (~10,000 pages/s).
        XCTAssertLessThanOrEqual(fit((0.25, 900), (2, 950), 1000).first?.pages ?? 0, 1000)
        for late in [9990.0, 9999] {
            let capped = fit((0.25, 2500), (1, late), 262_144)
            XCTAssertEqual(capped.first?.pages, 262_144)
            XCTAssertEqual(capped.first?.writesPerSecond ?? 0, 10_000, accuracy: 300, "\(late): \(capped)")
        }
        XCTAssertEqual(RemainingMigrationEstimate.DirtyClass.exponentForShare(1 - exp(-2)), 2, accuracy: 1e-9)
    }
}
