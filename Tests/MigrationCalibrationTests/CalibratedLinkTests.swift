import DirtyTraceFormat
import MigrationCalibration
import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// The calibrated scenario's link from a throughput probe: the probe's rate where nothing
/// better is known, the cap's efficiency from a probe paced at it, the latency from its round
/// trip, and history (real migrations) ahead of the probe.
final class CalibratedLinkTests: XCTestCase {
    private func scenario(bandwidth: (text: String, bytesPerSecond: Double, source: String)? = nil, history: HistoryFit? = nil,
                          path: MeasuredPath?) throws -> (yaml: String, config: SimulationConfig) {
        let trace = DirtyTrace(pageCount: 16384, pageSizeBytes: 4096,
                               records: (1 ... 20).map { DirtyTrace.Record(timeSeconds: Double($0) * 0.05, pages: []) })
        let calibrated = CalibratedScenario(name: "web1", fit: try WriteModelFitter.fit(trace), guestMemoryBytes: 16384 * 4096, pageSizeBytes: 4096,
                                            provenance: .init(command: "c", timestamp: "t", linkBandwidth: bandwidth, policy: "xen4"),
                                            history: history, measuredPaths: path.map { [$0] } ?? [])
        let config = try ScenarioLoader.parse(yaml: calibrated.yaml, file: "web1.yaml", defaultName: "web1", centreDraws: true).config
        return (calibrated.yaml, config)
    }

    func testAnUncappedProbeGivesTheRateAndTheLatency() throws {
        // 250 MB in 2 s: 1,000 Mbit/s; a 60 µs round trip.
        let path = MeasuredPath(destination: "b:8002", wireBytes: 250_000_000, seconds: 2, rateLimitBytesPerSecond: nil, roundTripSeconds: 60e-6)
        let (yaml, config) = try scenario(path: path)
        XCTAssertTrue(yaml.contains("bandwidth: 1000Mbit/s  # measured: a 2.0 s throughput probe to b:8002"), yaml)
        XCTAssertEqual(config.link.bandwidthProfile.first?.bytesPerSecond ?? 0, 125e6, accuracy: 1)
        XCTAssertEqual(config.link.latencySeconds, 30e-6, accuracy: 1e-9)
        XCTAssertFalse(yaml.contains("efficiency:"), yaml)
    }

    func testAProbeAtTheCapGivesTheCapsEfficiency() throws {
        // Paced at 1 Gbit/s, 940 Mbit/s arrived.
        let path = MeasuredPath(destination: "b:8002", wireBytes: 117_500_000, seconds: 1, rateLimitBytesPerSecond: 125e6, roundTripSeconds: nil)
        let (yaml, config) = try scenario(bandwidth: ("1Gbit/s", 125e6, "given: --bandwidth"), path: path)
        XCTAssertTrue(yaml.contains("bandwidth: 1Gbit/s  # given: --bandwidth"), yaml)
        XCTAssertTrue(yaml.contains("efficiency: 0.940  # measured: the share of the cap"), yaml)
        XCTAssertEqual(config.linkEfficiency, 0.94, accuracy: 1e-9)
        XCTAssertEqual(config.link.latencySeconds, 0.0002, "no round trip measured: the default")
        // A probe a grain over its cap is written as the cap, not more.
        let over = MeasuredPath(destination: "b:8002", wireBytes: 126_000_000, seconds: 1, rateLimitBytesPerSecond: 125e6, roundTripSeconds: nil)
        XCTAssertTrue(try scenario(bandwidth: ("1Gbit/s", 125e6, "given"), path: over).yaml.contains("efficiency: 1.000"))
    }

    func testHistoryComesBeforeTheProbe() throws {
        let run = HistoryFit.Run(report: MigrationReport(
            outcome: .converged, reason: "", policy: "xen4", live: true, totalTimeSeconds: 1, downtimeSeconds: 0, bytesSent: 0,
            pagesSent: 1, guestPages: 1, pageSizeBytes: 4096, maxThrottlePercent: 0, iterations: [
                IterationReport(index: 1, pagesSent: 61_035, pagesSkipped: 0, pagesDirtied: 0, startSeconds: 0, durationSeconds: 1, paused: false),
            ]), rateLimitBytesPerSecond: nil)
        let path = MeasuredPath(destination: "b:8002", wireBytes: 1_000_000_000, seconds: 1, rateLimitBytesPerSecond: nil, roundTripSeconds: 40e-6)
        let (yaml, config) = try scenario(history: HistoryFit([run]), path: path)
        XCTAssertTrue(yaml.contains("# from history"), yaml)
        XCTAssertFalse(yaml.contains("throughput probe"), yaml)
        XCTAssertEqual(config.link.bandwidthProfile.first?.bytesPerSecond ?? 0, 250e6, accuracy: 1e6)
        XCTAssertEqual(config.link.latencySeconds, 20e-6, accuracy: 1e-9, "the latency still comes from the probe")
    }
}
