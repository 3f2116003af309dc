import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// A scenario's `events:`: what an operator does mid-run (`livemig job --set`, `--cancel`),
/// handed to the engine at its simulated time, at both fidelities.
final class OperatorEventTests: XCTestCase {
    private func run(_ events: String, policy: String = "xen4", fidelity: String = "page") throws -> SimulationResult {
        let yaml = """
            guest: {memory: 256MiB}
            workload: {kind: idle}
            link: {bandwidth: 10Gbit/s}
            migration: {rateLimit: 100Mbit/s}
            policy: {name: \(policy)}
            simulation: {fidelity: \(fidelity)}
            \(events)
            """
        return try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "ops.yaml", defaultName: "ops").config)
    }

    private func refusal(_ events: String, policy: String = "xen4") -> String {
        do {
            _ = try run(events, policy: policy)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testLiftingTheCapMidRunEndsTheMigrationAtTheLinksRate() throws {
        for fidelity in ["page", "fluid"] {
            // 256 MiB at 100 Mbit/s is about 22 s; lifted at 2 s, the rest goes at 10 Gbit/s.
            let capped = try run("", fidelity: fidelity).report
            let lifted = try run("events: [{at: 2s, bandwidth: none}]", fidelity: fidelity).report
            XCTAssertGreaterThan(capped.totalTimeSeconds, 20, fidelity)
            XCTAssertEqual(lifted.outcome, .converged, fidelity)
            XCTAssertGreaterThan(lifted.totalTimeSeconds, 2, fidelity)
            XCTAssertLessThan(lifted.totalTimeSeconds, 2.5, fidelity)
            XCTAssertEqual(lifted.bytesSent, capped.bytesSent, fidelity)
            XCTAssertNil(lifted.refusedEvents, fidelity)
            // A tighter cap instead: twice as long from then on. The batch out at 2 s was paced
            // by the old cap; the fluid model's batches are a sixteenth of what is pending
            // (16 MiB here, 2.7 s at the new cap), the page model's 4 MiB.
            let halved = try run("events: [{at: 2s, bandwidth: 50Mbit/s}]", fidelity: fidelity).report
            XCTAssertEqual(halved.totalTimeSeconds, 2 + 2 * (capped.totalTimeSeconds - 2), accuracy: fidelity == "page" ? 0.7 : 2.7, fidelity)
        }
    }

    func testACancelMidRunLeavesTheSourceRunning() throws {
        let result = try run("events: [{at: 1s, cancel: true}]")
        XCTAssertEqual(result.report.outcome, .aborted)
        XCTAssertEqual(result.report.reason, "cancelled: events[0] at 1.0 s")
        XCTAssertTrue(result.sourceGuestRunning)
        XCTAssertLessThan(result.report.totalTimeSeconds, 1.1)
    }

    func testANewDowntimeLimitReachesQemusRule() throws {
        // A guest dirtying 20,000 pages/s over 64 MiB at 100 Mbit/s never fits QEMU's 300 ms;
        // with a 30 s limit from 5 s on, it stops at the next check.
        let yaml = """
            guest: {memory: 256MiB}
            workload: {kind: uniform, workingSet: 64MiB, rate: 20000}
            link: {bandwidth: 100Mbit/s}
            policy: {name: qemu}
            simulation: {maxSeconds: 120s}
            """
        let stuck = try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "q.yaml", defaultName: "q").config).report
        let eased = try Simulator.run(try ScenarioLoader.parse(yaml: yaml + "\nevents: [{at: 5s, downtimeLimit: 30s}]",
                                                               file: "q.yaml", defaultName: "q").config).report
        XCTAssertNotEqual(stuck.outcome, .converged, "never converges: \(stuck.reason)")
        XCTAssertEqual(eased.outcome, .converged, eased.reason)
        XCTAssertLessThan(eased.totalTimeSeconds, 60)
    }

    func testBadEventsAreRefusedNamingTheKey() {
        XCTAssertTrue(refusal("events: [{at: 1s, downtimeLimit: 100ms}]").contains("events[0].downtimeLimit: policy xen4 has no downtime limit"),
                      refusal("events: [{at: 1s, downtimeLimit: 100ms}]"))
        XCTAssertTrue(refusal("events: [{at: 1s, bandwidth: none, cancel: true}]").contains("events[0]: one of bandwidth, downtimeLimit or cancel"))
        XCTAssertTrue(refusal("events: [{bandwidth: none}]").contains("events[0].at: is required"))
        XCTAssertTrue(refusal("events: [{at: 2s, cancel: true}, {at: 1s, cancel: true}]").contains("events[1].at: events must be in time order"))
        XCTAssertTrue(refusal("events: [{at: 1s, cancel: false}]").contains("events[0].cancel: must be true"))
        XCTAssertTrue(refusal("events: [{at: 1s, bandwidth: fast}]").contains("events[0].bandwidth"))
        XCTAssertTrue(refusal("events: {at: 1s}").contains("events: must be a list"))
        XCTAssertTrue(refusal("events: [{at: 1s, speed: 1Gbit/s}]").contains("events[0]: one of"))
    }
}
