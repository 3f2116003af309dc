@testable import MigrationCore
import XCTest

/// The numbers policies put in their sentences and the engine in its report never trap,
/// whatever a broken model hands them.
final class ReportNumberTests: XCTestCase {
    func testWholePagesClampsWhatIntWouldTrapOn() {
        XCTAssertEqual(wholePages(49.5), 50)
        XCTAssertEqual(wholePages(.nan), 0)
        XCTAssertEqual(wholePages(-.infinity), 0)
        XCTAssertEqual(wholePages(-3), 0, "a page count is never negative")
        XCTAssertEqual(wholePages(.infinity), Int.max)
        XCTAssertEqual(wholePages(1e300), Int.max)
    }

    func testFormatFactorSpellsWholeFactorsWithoutADecimalAndHugeOnesWithout() {
        XCTAssertEqual(formatFactor(3), "3")
        XCTAssertEqual(formatFactor(0.5), "0.5")
        XCTAssertEqual(formatFactor(1e300), "1e+300")
        XCTAssertEqual(formatFactor(0x1p53), "9007199254740992.0")
        XCTAssertEqual(formatFactor(.infinity), "inf")
        XCTAssertEqual(formatFactor(.nan), "nan")
    }
}
