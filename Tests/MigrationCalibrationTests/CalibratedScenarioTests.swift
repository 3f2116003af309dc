import DirtyTraceFormat
import MigrationCalibration
import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// The scenario file `calibrate` writes reads back as the fitted model, and says where each
/// value came from.
final class CalibratedScenarioTests: XCTestCase {
    private func trace(_ workload: Workload, placement: WorkingSetPlacement) throws -> DirtyTrace {
        let writer = try PageWriterFactory.make(workload, layout: PageLayout(pageCount: 16384, placement: placement),
                                                random: GSLRandom(seed: 3))
        let records = (1 ... 120).map { read in
            var bitmap = DirtyBitmap(pageCount: 16384)
            writer.write(from: Double(read - 1) * 0.05, to: Double(read) * 0.05, rateScale: 1, into: &bitmap)
            return DirtyTrace.Record(timeSeconds: Double(read) * 0.05, pages: bitmap.pageNumbers)
        }
        return DirtyTrace(pageCount: 16384, pageSizeBytes: 4096, records: records)
    }

    private func render(_ fit: WriteModelFit, bandwidth: (text: String, bytesPerSecond: Double, source: String)? = nil) -> String {
        CalibratedScenario(name: "web1", fit: fit, guestMemoryBytes: 16384 * 4096, pageSizeBytes: 4096,
                           provenance: .init(command: "livemig calibrate web1 --seconds 6", timestamp: "2026-11-30T12:00:00Z",
                                             linkBandwidth: bandwidth, policy: "xen3")).yaml
    }

    func testTheFileReadsBackAsTheFittedModel() throws {
        let fit = try WriteModelFitter.fit(try trace(
            .hotCold(workingSetPages: 8192, hotPages: 512, hotRatePagesPerSecond: 20000, coldRatePagesPerSecond: 500),
            placement: .contiguous(firstPage: 2048)))
        XCTAssertEqual(fit.model.kind, .hotCold)
        let yaml = render(fit, bandwidth: ("1Gbit/s", 1.25e8, "given: --bandwidth"))
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "web1.yaml", defaultName: "web1", centreDraws: true)
        XCTAssertEqual(scenario.name, "web1")
        XCTAssertEqual(scenario.config.guestMemoryBytes, 64 << 20)
        XCTAssertEqual(scenario.config.placement, fit.model.placement)
        XCTAssertEqual(scenario.config.policy.name, .xen3)
        XCTAssertEqual(scenario.config.link.bandwidthProfile.first?.bytesPerSecond, 125_000_000)
        guard case .hotCold(let workingSet, let hot, let hotRate, let coldRate) = scenario.config.workload else {
            return XCTFail("\(scenario.config.workload)")
        }
        XCTAssertEqual(workingSet, fit.model.workingSetPages)
        XCTAssertEqual(hot, fit.model.hotPages)
        XCTAssertEqual(hotRate, fit.model.ratePagesPerSecond.rounded(), accuracy: 0.5, "the distribution's centre is the mean")
        XCTAssertEqual(coldRate, fit.model.coldRatePagesPerSecond.rounded(), accuracy: 0.5)
        for provenance in ["# fitted:", "# given: --bandwidth", "# given", "not measured here", "livemig calibrate web1 --seconds 6"] {
            XCTAssertTrue(yaml.contains(provenance), "\(provenance) missing from\n\(yaml)")
        }
        // The writer is steady: what spread its stretches show is sampling's alone, and the rate
        // is written as one number (WriteModelFitterTests has one that varies).
        XCTAssertFalse(yaml.contains("hotRate: normal("), "a steady rate is not a distribution:\n\(yaml)")
    }

    func testMeasuredCostsAndTheHistoryReadBackIntoTheScenario() throws {
        let fit = try WriteModelFitter.fit(try trace(.uniform(workingSetPages: 4096, ratePagesPerSecond: 5000), placement: .contiguous(firstPage: 0)))
        let measured = MeasuredHostCosts(dirtyLogReadSecondsPerGiB: 0.0002, pauseSeconds: 0.00003, resumeSeconds: 0.00001,
                                         deviceStateBytes: 1032, samples: 5)
        var scenario = CalibratedScenario(name: "web1", fit: fit, guestMemoryBytes: 16384 * 4096, pageSizeBytes: 4096,
                                          provenance: .init(command: "livemig calibrate web1", timestamp: "t", linkBandwidth: nil, policy: "xen4"),
                                          measuredCosts: measured)
        let config = try ScenarioLoader.parse(yaml: scenario.yaml, file: "web1.yaml", defaultName: "web1", centreDraws: true).config
        XCTAssertEqual(config.costs.deviceStateBytes, 1032)
        XCTAssertEqual(config.costs.dirtyLogReadSecondsPerGiB, 0.0002, accuracy: 1e-7)
        XCTAssertEqual(config.costs.pauseSeconds, 0.00003, accuracy: 1e-7)
        XCTAssertEqual(config.costs.resumeSeconds, HostCosts().resumeSeconds, "the destination's start is not measured here")

        // With history, the pause's fixed part comes from the migrations (end to end).
        scenario.history = HistoryFit([HistoryFit.Run(report: MigrationReport(
            outcome: .converged, reason: "", policy: "xen4", live: true, totalTimeSeconds: 1.01, downtimeSeconds: 0.01, bytesSent: 0,
            pagesSent: 2, guestPages: 1, pageSizeBytes: 4096, maxThrottlePercent: 0, iterations: [
                IterationReport(index: 1, pagesSent: 25_000, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 0, durationSeconds: 1, paused: false),
                IterationReport(index: 2, pagesSent: 0, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 1, durationSeconds: 0.01, paused: true),
            ]), rateLimitBytesPerSecond: nil)])
        let withHistory = try ScenarioLoader.parse(yaml: scenario.yaml, file: "web1.yaml", defaultName: "web1", centreDraws: true).config
        XCTAssertTrue(scenario.yaml.contains("resumeCost:") && scenario.yaml.contains("from history"), scenario.yaml)
        // 10 ms of pause, less the measured read (0.2 ms/GiB x 1/16 GiB), the state over the
        // link and 3 latencies, all in the resume (the simulated pause cost ends before the
        // downtime starts); the pause stays the measured one.
        XCTAssertEqual(withHistory.costs.resumeSeconds, 0.01 - 0.0006 - 0.0000125, accuracy: 0.0002)
        XCTAssertEqual(withHistory.costs.pauseSeconds, 0.00003, accuracy: 1e-7)
    }

    func testAPathWhoseRateMovedIsADistribution() throws {
        let fit = try WriteModelFitter.fit(try trace(.idle, placement: .scattered))
        func run(seconds: Double) -> HistoryFit.Run {
            HistoryFit.Run(report: MigrationReport(
                outcome: .converged, reason: "", policy: "xen4", live: true, totalTimeSeconds: seconds, downtimeSeconds: 0, bytesSent: 0,
                pagesSent: 1, guestPages: 1, pageSizeBytes: 4096, maxThrottlePercent: 0, iterations: [
                    IterationReport(index: 1, pagesSent: 61_035, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 0, durationSeconds: seconds, paused: false),
                ]), rateLimitBytesPerSecond: nil)
        }
        // 250 MB moved in 1 s and in 1.25 s: 2,000 and 1,600 Mbit/s.
        let scenario = CalibratedScenario(name: "web1", fit: fit, guestMemoryBytes: 16384 * 4096, pageSizeBytes: 4096,
                                          provenance: .init(command: "c", timestamp: "t", linkBandwidth: nil, policy: "xen4"),
                                          history: HistoryFit([run(seconds: 1), run(seconds: 1.25)]))
        XCTAssertTrue(scenario.yaml.contains("bandwidth: normal(1800Mbit/s, 283Mbit/s)"), scenario.yaml)
        let config = try ScenarioLoader.parse(yaml: scenario.yaml, file: "web1.yaml", defaultName: "web1", centreDraws: true).config
        XCTAssertEqual(config.link.bandwidthProfile.first?.bytesPerSecond ?? 0, 225e6, accuracy: 1)
    }

    func testAnIdleGuestAndAnUnmeasuredLinkSaySo() throws {
        let fit = try WriteModelFitter.fit(try trace(.idle, placement: .scattered))
        let yaml = render(fit)
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "idle.yaml", defaultName: "idle")
        XCTAssertEqual(scenario.config.workload, .idle)
        XCTAssertTrue(yaml.contains("bandwidth: 10Gbit/s  # default, not measured"), yaml)
    }
}
