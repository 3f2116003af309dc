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
        XCTAssertTrue(yaml.contains("hotRate: normal("), "a rate that varied is a distribution:\n\(yaml)")
    }

    func testAnIdleGuestAndAnUnmeasuredLinkSaySo() throws {
        let fit = try WriteModelFitter.fit(try trace(.idle, placement: .scattered))
        let yaml = render(fit)
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "idle.yaml", defaultName: "idle")
        XCTAssertEqual(scenario.config.workload, .idle)
        XCTAssertTrue(yaml.contains("bandwidth: 10Gbit/s  # default, not measured"), yaml)
    }
}
