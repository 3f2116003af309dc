import DirtyTraceFormat
import MigrationCalibration
import MigrationCore
@testable import MigrationSimulation
import XCTest

/// The fitter recovers the write models the simulator's own page writers run, from traces of
/// what they dirtied read at a fine interval, as `livemig observe` reads a real guest.
final class WriteModelFitterTests: XCTestCase {
    /// What `workload` dirties, read every `interval` for `reads` reads (fixed seed).
    private func observe(_ workload: Workload, guestPages: Int, placement: WorkingSetPlacement,
                         interval: Double = 0.05, reads: Int = 100, seed: UInt64 = 7) throws -> DirtyTrace {
        let writer = try PageWriterFactory.make(workload, layout: PageLayout(pageCount: guestPages, placement: placement),
                                                random: GSLRandom(seed: seed))
        var records: [DirtyTrace.Record] = []
        for read in 1 ... reads {
            var bitmap = DirtyBitmap(pageCount: guestPages)
            writer.write(from: Double(read - 1) * interval, to: Double(read) * interval, rateScale: 1, into: &bitmap)
            records.append(DirtyTrace.Record(timeSeconds: Double(read) * interval, pages: bitmap.pageNumbers))
        }
        return DirtyTrace(pageCount: guestPages, pageSizeBytes: 4096, records: records)
    }

    private func assertClose(_ value: Double, _ expected: Double, within share: Double, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(abs(value - expected), share * expected, "\(what): \(value), expected \(expected)", file: file, line: line)
    }

    func testAUniformBlockIsFoundWhereItLiesWithItsSizeAndRate() throws {
        let trace = try observe(.uniform(workingSetPages: 4096, ratePagesPerSecond: 20000), guestPages: 16384,
                                placement: .contiguous(firstPage: 4096))
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .uniform)
        XCTAssertEqual(fit.model.placement, .contiguous(firstPage: 4096))
        assertClose(Double(fit.model.workingSetPages), 4096, within: 0.01, "working set")
        assertClose(fit.model.ratePagesPerSecond, 20000, within: 0.05, "rate")
        XCTAssertLessThan(fit.worstRelativeError, 0.05, "\(fit.checks)")
        XCTAssertGreaterThanOrEqual(fit.checks.count, 4, "intervals from 50 ms up")
        XCTAssertLessThan(fit.model.rateSpreadPagesPerSecond, 0.02 * 20000, "a steady writer's rate varies by sampling alone, which is taken out")
    }

    func testAHotSetIsSplitFromTheColdRestWithEachRate() throws {
        let trace = try observe(.hotCold(workingSetPages: 8192, hotPages: 512, hotRatePagesPerSecond: 20000, coldRatePagesPerSecond: 500),
                                guestPages: 16384, placement: .contiguous(firstPage: 2048), reads: 200)
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .hotCold)
        XCTAssertEqual(fit.model.placement, .contiguous(firstPage: 2048))
        assertClose(Double(fit.model.hotPages), 512, within: 0.1, "hot set")
        assertClose(fit.model.ratePagesPerSecond, 20000, within: 0.1, "hot rate")
        assertClose(fit.model.coldRatePagesPerSecond, 500, within: 0.2, "cold rate")
        assertClose(Double(fit.model.workingSetPages), 8192, within: 0.02, "working set")
        XCTAssertLessThan(fit.worstRelativeError, 0.1, "\(fit.checks)")
    }

    func testASweepIsToldFromRandomWrites() throws {
        let trace = try observe(.sequential(regionPages: 4096, ratePagesPerSecond: 10000), guestPages: 16384,
                                placement: .contiguous(firstPage: 1000))
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .sequential)
        XCTAssertEqual(fit.model.placement, .contiguous(firstPage: 1000))
        XCTAssertEqual(fit.model.workingSetPages, 4096)
        assertClose(fit.model.ratePagesPerSecond, 10000, within: 0.02, "rate")
        XCTAssertLessThan(fit.worstRelativeError, 0.05, "\(fit.checks)")
    }

    func testRandomWritesThatFillTheirBlockEveryReadAreNotASweep() throws {
        // 100,000 writes/s over 256 pages: every read finds the whole block dirty, one run.
        let trace = try observe(.uniform(workingSetPages: 256, ratePagesPerSecond: 100_000), guestPages: 16384,
                                placement: .contiguous(firstPage: 100))
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .uniform)
        XCTAssertEqual(fit.model.workingSetPages, 256)
        XCTAssertLessThan(fit.worstRelativeError, 0.01, "\(fit.checks)")
    }

    func testAScatteredWorkingSetIsSizedFromTheCountsOverSeveralIntervals() throws {
        // 5,000 writes/s over 8,192 of 65,536 pages, spread over memory: too slow to touch
        // every page of the working set in one read, so its size shows only in how the dirty
        // count grows with the interval.
        let trace = try observe(.uniform(workingSetPages: 8192, ratePagesPerSecond: 5000), guestPages: 65536,
                                placement: .scattered, reads: 200)
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .uniform)
        XCTAssertEqual(fit.model.placement, .scattered)
        assertClose(Double(fit.model.workingSetPages), 8192, within: 0.15, "working set")
        assertClose(fit.model.ratePagesPerSecond, 5000, within: 0.15, "rate")
        XCTAssertLessThan(fit.worstRelativeError, 0.1, "\(fit.checks)")
    }

    func testARateThatChangesShowsAsSpread() throws {
        let trace = try observe(.phases([
            WorkloadPhase(durationSeconds: 5, workload: .uniform(workingSetPages: 4096, ratePagesPerSecond: 5000)),
            WorkloadPhase(durationSeconds: 5, workload: .uniform(workingSetPages: 4096, ratePagesPerSecond: 15000)),
        ]), guestPages: 16384, placement: .contiguous(firstPage: 0), reads: 200)
        let fit = try WriteModelFitter.fit(trace)
        XCTAssertEqual(fit.model.kind, .uniform)
        assertClose(fit.model.ratePagesPerSecond, 10000, within: 0.25, "mean rate")
        XCTAssertGreaterThan(fit.model.rateSpreadPagesPerSecond, 3000, "halves at 5,000 and 15,000 pages/s")
    }

    func testAnIdleGuestIsIdleAndAShortObservationIsRefused() throws {
        let idle = try observe(.idle, guestPages: 16384, placement: .scattered)
        XCTAssertEqual(try WriteModelFitter.fit(idle).model.kind, .idle)
        XCTAssertEqual(try WriteModelFitter.fit(idle).model.workload, .idle)

        let short = try observe(.uniform(workingSetPages: 1024, ratePagesPerSecond: 1000), guestPages: 16384,
                                placement: .scattered, reads: 5)
        XCTAssertThrowsError(try WriteModelFitter.fit(short)) { error in
            XCTAssertTrue("\(error)".contains("5 reads"), "\(error)")
        }
        var outside = short
        outside.records[0].pages.append(20000)
        XCTAssertThrowsError(try WriteModelFitter.fit(outside))
    }
}
