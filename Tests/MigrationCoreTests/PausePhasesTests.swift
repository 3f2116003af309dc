import MigrationCore
import XCTest

/// The report says where the pause went, by the source's clock: the phases come in the
/// engine's order and add up to the downtime, live or offline.
final class PausePhasesTests: XCTestCase {
    private func report(live: Bool) throws -> MigrationReport {
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 1500)
        var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: EngineSettings(live: live))
        var driver = ScriptedSourceDriver(guestPages: 10_000, readLog: { _ in dirty })
        // Each step of the pause takes a time of its own, so each phase is seen apart.
        driver.actionSeconds = [.readAndClearDirtyLog: 0.002, .sendDeviceState: 0.003, .awaitDestinationReady: 0.005,
                                .clearDestinationToRun: 0.007]
        return try XCTUnwrap(driver.run(&migration))
    }

    func testThePhasesAddUpToTheDowntime() throws {
        for live in [true, false] {
            let report = try report(live: live)
            let phases = try XCTUnwrap(report.pausePhases, "live \(live)")
            XCTAssertEqual(phases.totalSeconds, report.downtimeSeconds, accuracy: 1e-9, "live \(live)")
            XCTAssertTrue(phases.named.allSatisfy { $0.seconds >= 0 }, "\(phases)")
            XCTAssertGreaterThan(phases.finalPagesSeconds, 0, "the paused round sent pages")
            XCTAssertEqual(phases.deviceStateSeconds, 0.003, accuracy: 1e-9)
            XCTAssertEqual(phases.destinationReadySeconds, 0.005, accuracy: 1e-9)
            XCTAssertEqual(phases.clearedToRunningSeconds, 0.007, accuracy: 1e-9)
            if live {
                XCTAssertEqual(phases.finalDirtyLogReadSeconds, 0.002, accuracy: 1e-9, "a live migration reads the log once paused")
            } else {
                XCTAssertEqual(phases.finalDirtyLogReadSeconds, 0, "an offline migration has no final read")
            }
        }
    }

    /// The destination's figures are kept beside the source's when each fits the wait the
    /// source saw for it, and the rest of those waits is the transit; a peer claiming more
    /// than the source waited is not believed.
    func testTheDestinationsFiguresAreKeptOnlyWhenTheyFit() throws {
        let phases = PausePhases(finalDirtyLogReadSeconds: 0.001, finalPagesSeconds: 0.004, deviceStateSeconds: 0.0005,
                                 destinationReadySeconds: 0.003, clearedToRunningSeconds: 0.002)
        let work = DestinationPauseWork(stateLoadSeconds: 0.0004, checkSeconds: 0.0012, unpauseSeconds: 0.0009)
        let kept = phases.adding(destination: work)
        XCTAssertEqual(kept.destination, work)
        XCTAssertEqual(try XCTUnwrap(kept.transitSeconds), 0.003 + 0.002 - 0.0025, accuracy: 1e-12)
        XCTAssertEqual(kept.totalSeconds, phases.totalSeconds, "the destination's figures are inside the source's, not added")
        XCTAssertNil(phases.transitSeconds)
        // A state load longer than the wait for "ready" is honest when it began while the
        // device state was still being sent (a large state): it fits the two together.
        let longLoad = DestinationPauseWork(stateLoadSeconds: 0.0033, checkSeconds: 0.0001, unpauseSeconds: 0)
        XCTAssertEqual(phases.adding(destination: longLoad).destination, longLoad)
        let lies = [
            DestinationPauseWork(stateLoadSeconds: 0, checkSeconds: 0.01, unpauseSeconds: 0),  // check beyond the wait for ready
            DestinationPauseWork(stateLoadSeconds: 0, checkSeconds: 0, unpauseSeconds: 0.0031),  // unpause beyond the wait for running
            DestinationPauseWork(stateLoadSeconds: 0.002, checkSeconds: 0.002, unpauseSeconds: 0),  // load and check beyond both
            DestinationPauseWork(stateLoadSeconds: .nan, checkSeconds: 0, unpauseSeconds: 0),
            DestinationPauseWork(stateLoadSeconds: 0, checkSeconds: -0.001, unpauseSeconds: 0),
            DestinationPauseWork(stateLoadSeconds: 0, checkSeconds: 0, unpauseSeconds: .infinity),
        ]
        for lie in lies {
            XCTAssertNil(phases.adding(destination: lie).destination, "\(lie)")
        }
        XCTAssertNil(phases.adding(destination: nil).destination)
    }

    /// A migration that does not reach "running" has no phases: the clearance failed (the
    /// guest may run nowhere yet) or was withheld (the source resumed).
    func testAnEndWithoutRunningHasNoPhases() throws {
        let dirty = bitmap(pageCount: 10_000, pages: 0 ..< 1500)
        for (label, failure, withheld) in [("failed", true, false), ("withheld", false, true)] {
            var migration = makeSourceMigration(guestPages: 10_000, policy: Xen4Policy(), settings: EngineSettings())
            var driver = ScriptedSourceDriver(guestPages: 10_000, readLog: { _ in dirty })
            if failure { driver.failure = ScriptedSourceDriver.failNth(.clearDestinationToRun, 1, "link down") }
            if withheld { driver.notPerformed = ScriptedSourceDriver.failNth(.clearDestinationToRun, 1, "cancelled") }
            let report = try XCTUnwrap(driver.run(&migration))
            XCTAssertEqual(report.outcome, .aborted, label)
            XCTAssertNil(report.pausePhases, "\(label): \(String(describing: report.pausePhases))")
        }
    }
}
