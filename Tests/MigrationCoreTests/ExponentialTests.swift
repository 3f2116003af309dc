import Foundation
@testable import MigrationCore
import XCTest

/// The core's own exponential agrees with libm's.
final class ExponentialTests: XCTestCase {
    func testExpAndExpMinusOneAgreeWithLibm() {
        var x = -50.0
        while x <= 50 {
            XCTAssertEqual(Exponential.exp(x), Foundation.exp(x), accuracy: 1e-14 * Foundation.exp(x), "exp(\(x))")
            XCTAssertEqual(Exponential.expMinusOne(x), Foundation.expm1(x), accuracy: 1e-14 * max(abs(Foundation.expm1(x)), 1e-300),
                           "expm1(\(x))")
            x += 0.37
        }
        for tiny in [1e-12, -3e-9, 1e-5, -0.49] {
            XCTAssertEqual(Exponential.expMinusOne(tiny), Foundation.expm1(tiny), accuracy: 1e-15 * abs(tiny), "expm1(\(tiny)) keeps its digits")
        }
        XCTAssertEqual(Exponential.exp(800), .infinity)
        XCTAssertEqual(Exponential.exp(-800), 0)
        XCTAssertEqual(Exponential.expMinusOne(-800), -1)
        XCTAssertTrue(Exponential.exp(.nan).isNaN)
    }
}
