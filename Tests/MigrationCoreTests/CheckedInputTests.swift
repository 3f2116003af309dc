import MigrationCore
import XCTest

/// Numbers from user input: parsed without non-finite results, converted to integers without a
/// trap, and checked against a bound whose error names the input, the value and the range.
final class CheckedInputTests: XCTestCase {
    func testWholeIntRefusesWhatIntWouldTrapOnOrTruncate() {
        XCTAssertEqual(CheckedConversion.wholeInt(4096), 4096)
        XCTAssertEqual(CheckedConversion.wholeInt(-2), -2)
        for bad in [Double.nan, .infinity, -.infinity, 1e30, -1e30, 0.5, 9.223372036854775807e18] {
            XCTAssertNil(CheckedConversion.wholeInt(bad), "\(bad)")
        }
    }

    func testRoundedAndClampedInt() {
        XCTAssertEqual(CheckedConversion.roundedInt(2.5), 3)
        XCTAssertEqual(CheckedConversion.roundedInt(2.5, .down), 2)
        XCTAssertNil(CheckedConversion.roundedInt(.nan))
        XCTAssertNil(CheckedConversion.roundedInt(1e19))
        XCTAssertEqual(CheckedConversion.clampedInt(1e300, to: 0 ... Int.max), Int.max)
        XCTAssertEqual(CheckedConversion.clampedInt(-.infinity, to: 0 ... 10), 0)
        XCTAssertEqual(CheckedConversion.clampedInt(.nan, to: 3 ... 10), 3)
        XCTAssertEqual(CheckedConversion.clampedInt(7.4, to: 0 ... 10), 7)
    }

    func testQuantitiesNeverReturnNonFiniteValues() {
        for text in ["nan", "nanG", "infM", "inf", "-inf", "infinity", "1e308TiB", "1e308Tbit/s", "nan s", "1e400", "NaN pages/s"] {
            XCTAssertNil(Quantities.bytes(text), text)
            XCTAssertNil(Quantities.bytesPerSecond(text), text)
            XCTAssertNil(Quantities.seconds(text), text)
            XCTAssertNil(Quantities.pages(text, pageSizeBytes: 4096), text)
            XCTAssertNil(Quantities.pagesPerSecond(text, pageSizeBytes: 4096), text)
        }
    }

    func testXlAndVirshMemorySuffixesAreBinary() {
        XCTAssertEqual(Quantities.bytes("1G"), 1_073_741_824)
        XCTAssertEqual(Quantities.bytes("256M"), 268_435_456)
        XCTAssertEqual(Quantities.bytes("64K"), 65_536)
        XCTAssertEqual(Quantities.bytes("1GB"), 1e9, "GB stays decimal")
        XCTAssertEqual(Quantities.bytes("1 GiB"), 1_073_741_824)
    }

    private let memory = InputBound("--memory", .bytes, from: "4MiB", to: "4GiB", multipleOf: "2MiB")

    func testBoundAcceptsValuesInRangeAsWholeNumbers() throws {
        XCTAssertEqual(try memory.wholeNumber("1G"), 1 << 30)
        XCTAssertEqual(try memory.wholeNumber("1.5G"), 3 << 29)
        XCTAssertEqual(try memory.wholeNumber("4MiB"), 4 << 20)
        XCTAssertEqual(try memory.wholeNumber("4GiB"), 4 << 30)
    }

    func testBoundErrorsNameTheInputTheValueAndTheRange() {
        for text in ["nanG", "infM", "1e30G", "-2G", "0", "3M", "5M", "5G", "0.3B", "lots"] {
            XCTAssertThrowsError(try memory.wholeNumber(text), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("--memory \(text): "), message)
                XCTAssertTrue(message.contains("from 4MiB to 4GiB in steps of 2MiB"), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
        let bandwidth = InputBound("--bandwidth", .bytesPerSecond, from: "1Mbit/s", to: "1Tbit/s")
        XCTAssertThrowsError(try bandwidth.value("1e-20 bit/s")) { error in
            XCTAssertEqual("\(error)", "--bandwidth 1e-20 bit/s: out of range; allowed from 1Mbit/s to 1Tbit/s")
        }
        XCTAssertEqual(try bandwidth.value("1Gbit/s"), 125_000_000)
    }

    func testBoundChecksIntegersAndRenamesForScenarioKeys() throws {
        let rounds = InputBound("--fallback-rounds", .count, from: "0", to: "1000000")
        XCTAssertEqual(try rounds.check(5), 5)
        XCTAssertThrowsError(try rounds.check(-1))
        XCTAssertThrowsError(try rounds.check(Int.max))
        XCTAssertThrowsError(try rounds.named("policy.fallbackRounds").value("2e6")) { error in
            XCTAssertTrue("\(error)".hasPrefix("policy.fallbackRounds 2e6: out of range"), "\(error)")
        }
    }

    /// Fuzz-style: text made of numbers at the edges of Double and of units, through every kind
    /// of bound; each either gives a finite value in range or throws, never traps.
    func testRandomQuantityTextNeverTraps() {
        let numbers = ["nan", "-nan", "inf", "-inf", "1e308", "1e-320", "-0", "0", "0.5", "4096", "9223372036854775807",
                       "1e19", "-1e19", "2.5e-7", "", " ", "0x10", "1_000", "٣"]
        let units = ["", "B", "KiB", "G", "M", "T", "TiB", "bit/s", "Tbit/s", "MB/s", "GiB/s", "ms", "us", "µs", "h", "min",
                     "s", "pages", "pages/s", " ", "/s", "GiBs"]
        let bounds = [memory, InputBound("b", .bytesPerSecond, from: "1bit/s", to: "1Tbit/s"),
                      InputBound("t", .seconds, from: "0", to: "1h"), InputBound("n", .count, from: "-5", to: "5")]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ count: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % count
        }
        for _ in 0 ..< 20_000 {
            let text = numbers[next(numbers.count)] + (next(3) == 0 ? " " : "") + units[next(units.count)]
            for bound in bounds {
                if let value = try? bound.value(text) {
                    XCTAssertTrue(value.isFinite && bound.range.contains(value), "\(bound.name) \(text) -> \(value)")
                }
                if let whole = try? bound.wholeNumber(text) {
                    XCTAssertTrue(bound.range.contains(Double(whole)), "\(bound.name) \(text) -> \(whole)")
                }
            }
            _ = Quantities.pages(text, pageSizeBytes: 4096).map { CheckedConversion.roundedInt($0) }
        }
    }
}
