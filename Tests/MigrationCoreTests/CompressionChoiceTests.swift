/// `CompressionChoice`: the engine's round-by-round choice to compress (`--compress auto`),
/// from the measured compression against the link, and its event (`compressionMeasured`).
@testable import MigrationCore
import XCTest

final class CompressionChoiceTests: XCTestCase {
    /// A choice that has measured 300 MB/s of compression per thread at `ratio`.
    private func measured(ratio: Double, threads: Int = 1, cap: Double?) -> CompressionChoice {
        var choice = CompressionChoice(mode: .auto, threads: threads)
        choice.record(dataBytes: 300e6, frameBytes: 300e6 * ratio, seconds: 1, capBytesPerSecond: cap)
        return choice
    }

    func testAlwaysAndOffDoNotChoose() {
        var always = CompressionChoice(mode: .always, threads: 1)
        var off = CompressionChoice(mode: .off, threads: 1)
        XCTAssertTrue(always.compressing)
        XCTAssertFalse(off.compressing)
        always.record(dataBytes: 1, frameBytes: 1, seconds: 100, capBytesPerSecond: 1e12)
        always.beginRound(measuredBytesPerSecond: 1e12, capBytesPerSecond: 1e12)
        off.beginRound(measuredBytesPerSecond: 1, capBytesPerSecond: 1)
        XCTAssertTrue(always.compressing, "always compresses, even where it does not pay")
        XCTAssertFalse(off.compressing)
    }

    func testAutoCompressesFirstToMeasure() {
        XCTAssertTrue(CompressionChoice(mode: .auto, threads: 1).compressing)
    }

    func testASlowCapMakesCompressionPay() {
        // 100 MB/s cap: 0.3 of the bytes on the link (3 ms a MB) beats 10 ms a MB whole; the
        // CPU's 3.3 ms a MB is not the bound.
        XCTAssertTrue(measured(ratio: 0.3, cap: 100e6).compressing)
    }

    func testAFastLinkOrDataThatDoesNotShrinkGoesWhole() {
        XCTAssertFalse(measured(ratio: 0.3, cap: 10e9).compressing, "the CPU cannot keep up with 10 GB/s")
        XCTAssertFalse(measured(ratio: 1.0, cap: 100e6).compressing, "random data gains nothing on the link")
        XCTAssertFalse(measured(ratio: 0.95, cap: 100e6).compressing, "within the 10 % margin")
    }

    func testMoreThreadsMakeItPayOnAFasterLink() {
        XCTAssertFalse(measured(ratio: 0.3, threads: 1, cap: 1e9).compressing, "one thread compresses 300 MB/s: slower than 1 GB/s")
        XCTAssertTrue(measured(ratio: 0.3, threads: 4, cap: 1e9).compressing, "four compress 1.2 GB/s")
    }

    func testWithoutACapTheLinkIsMeasuredInARoundSentWhole() {
        var choice = CompressionChoice(mode: .auto, threads: 1)
        choice.noteSend(pages: 1024)  // the first batch goes compressed, to measure
        choice.record(dataBytes: 300e6, frameBytes: 90e6, seconds: 1, capBytesPerSecond: nil)
        XCTAssertFalse(choice.compressing, "the link is unknown: send whole to measure it")
        // The round ends after a few whole batches: it compressed one, its rate is not the link's.
        choice.noteSend(pages: 1024, measuredBytesPerSecond: 50e6)
        choice.beginRound(measuredBytesPerSecond: 50e6, capBytesPerSecond: nil)
        XCTAssertFalse(choice.compressing)
        XCTAssertNil(choice.wholeBytesPerSecond)
        // A round sent whole at 100 MB/s: now the rule applies, and compression pays.
        choice.noteSend(pages: 1024, measuredBytesPerSecond: 100e6)
        choice.beginRound(measuredBytesPerSecond: 100e6, capBytesPerSecond: nil)
        XCTAssertEqual(choice.wholeBytesPerSecond, 100e6)
        XCTAssertTrue(choice.compressing)
        // Within a long round, 16 whole batches are enough to take the meter's rate for the link.
        var long = CompressionChoice(mode: .auto, threads: 1)
        long.noteSend(pages: 1024)
        long.record(dataBytes: 300e6, frameBytes: 90e6, seconds: 1, capBytesPerSecond: nil)
        for _ in 0 ..< 16 { long.noteSend(pages: 1024, measuredBytesPerSecond: 100e6) }
        XCTAssertFalse(long.compressing)
        long.noteSend(pages: 1024, measuredBytesPerSecond: 100e6)
        XCTAssertTrue(long.compressing, "16 whole batches measured the link")
        // On a link measured at 2 GB/s it does not.
        var fast = measured(ratio: 0.3, cap: nil)
        fast.beginRound(measuredBytesPerSecond: 2e9, capBytesPerSecond: nil)
        XCTAssertFalse(fast.compressing)
    }

    func testDataThatDidNotShrinkIsTriedAgainOneBatchIn64() {
        var choice = measured(ratio: 1.0, cap: 100e6)
        XCTAssertFalse(choice.compressing)
        var probes = 0
        for _ in 0 ..< 128 {
            choice.noteSend(pages: 1024, capBytesPerSecond: 100e6)
            if choice.compressing { probes += 1 }
        }
        XCTAssertEqual(probes, 2, "one batch in 64")
        // The guest's data changed: the probe finds it shrinks, and the choice follows.
        choice.noteSend(pages: 1024, capBytesPerSecond: 100e6)
        for _ in 0 ..< 63 { choice.noteSend(pages: 1024, capBytesPerSecond: 100e6) }
        XCTAssertTrue(choice.compressing, "the 64th is a probe")
        for _ in 0 ..< 30 { choice.record(dataBytes: 300e6, frameBytes: 60e6, seconds: 1, capBytesPerSecond: 100e6) }
        XCTAssertTrue(choice.compressing)
        choice.noteSend(pages: 1024, capBytesPerSecond: 100e6)
        XCTAssertTrue(choice.compressing, "it now compresses every batch")
    }

    func testNoProbesWhenTheCPUIsWhatIsTooSlow() {
        var choice = measured(ratio: 0.3, cap: 10e9)
        for _ in 0 ..< 200 {
            choice.noteSend(pages: 1024, capBytesPerSecond: 10e9)
            XCTAssertFalse(choice.compressing)
        }
    }

    func testANewCapDecidesAtOnce() {
        var choice = measured(ratio: 0.3, cap: 10e9)
        XCTAssertFalse(choice.compressing)
        choice.capChanged(to: 50e6)
        XCTAssertTrue(choice.compressing, "a slow cap makes it pay, mid-round")
        choice.capChanged(to: nil)
        XCTAssertFalse(choice.compressing, "no cap and the link not measured: whole, to measure it")
    }

    func testTheEngineTakesMeasurementsOnlyWhenItCompresses() {
        var off = makeSourceMigration(guestPages: 100, policy: Xen4Policy())
        XCTAssertEqual(off.handle(.compressionMeasured(dataBytes: 4096, frameBytes: 1000, seconds: 0.001), now: 0),
                       .refused("this migration does not compress"))
        var settings = EngineSettings()
        settings.compression = .auto
        var auto = makeSourceMigration(guestPages: 100, policy: Xen4Policy(), settings: settings)
        XCTAssertTrue(auto.compressesSends)
        for bad in [(0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (1.0, 1.0, -1.0), (Double.nan, 1.0, 1.0), (1.0, 1.0, Double.infinity)] {
            guard case .refused = auto.handle(.compressionMeasured(dataBytes: bad.0, frameBytes: bad.1, seconds: bad.2), now: 0) else {
                return XCTFail("\(bad) taken")
            }
        }
        XCTAssertEqual(auto.handle(.compressionMeasured(dataBytes: 4096, frameBytes: 4096, seconds: 0.001), now: 0), .accepted)
        XCTAssertFalse(auto.compressesSends, "data that did not shrink, and no link known: whole")
    }
}
