import Foundation
import MigrationExecutor
import XCTest

/// `livemig calibrate` on a real KVM guest: the fitted model is the workload the guest runs,
/// where its program writes it, and the scenario file it writes simulates.
final class CalibrateCLITests: GuestHostsTestCase {
    func testCalibrateFitsTheGuestsWorkloadAndWritesAScenario() throws {
        let host = hosts.runDirectory("a")
        let started = try hosts.livemig(["guest", "start", "cal", "--memory", "256M", "--workload",
                                         "hotCold,workingSet=32MiB,hotSet=2MiB,hotRate=20000,coldRate=500", "--run-dir", host])
        XCTAssertEqual(started.status, 0, started.stderr)
        let scenario = hosts.root.appendingPathComponent("cal.yaml").path
        let calibrated = try LivemigProcess.run(["calibrate", "cal", "--seconds", "3", "--output", scenario, "--bandwidth", "1Gbit/s",
                                                 "--format", "json", "--run-dir", host])
        XCTAssertEqual(calibrated.status, 0, calibrated.stderr)
        let fit = try LivemigProcess.jsonObject(calibrated.stdout)
        XCTAssertEqual(fit["kind"] as? String, "hotCold", "\(fit)")
        XCTAssertEqual(fit["placement"] as? String, "contiguous", "the program writes one block")
        XCTAssertEqual(Double(fit["workingSetPages"] as? Int ?? 0), 8192, accuracy: 82, "32 MiB of 4 KiB pages, within 1 %")
        XCTAssertEqual(Double(fit["hotPages"] as? Int ?? 0), 512, accuracy: 26, "2 MiB, within 5 %")
        // The guest reaches its nominal 20,000 writes/s when its vCPU has a core; a loaded CI
        // machine may slow it, so the test asks for the right order of magnitude.
        XCTAssertGreaterThan(fit["ratePagesPerSecond"] as? Double ?? 0, 8000, "\(fit)")
        XCTAssertLessThan(fit["ratePagesPerSecond"] as? Double ?? .infinity, 21000, "\(fit)")
        XCTAssertLessThan(fit["worstRelativeError"] as? Double ?? 1, 0.05, "the model reproduces the dirty counts: \(fit)")

        let text = try String(contentsOfFile: scenario, encoding: .utf8)
        XCTAssertTrue(text.contains("kind: hotCold  # fitted"), text)
        XCTAssertTrue(text.contains("bandwidth: 1Gbit/s  # given: --bandwidth"), text)
        XCTAssertTrue(text.contains("# measured: the vCPU and device state captured here"), text)
        XCTAssertTrue(text.contains("dirtyLogReadCost:") && text.contains("pauseCost:"), text)
        let predicted = try LivemigProcess.run(["simulate", scenario, "--format", "json"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        // 512 hot pages rewritten 40 times a second never fall under Xen 4's 50 dirty pages: the
        // prediction is an offline fallback after its 5 rounds, as a real xen4 run would end.
        let report = try LivemigProcess.jsonObject(predicted.stdout)
        XCTAssertEqual(report["outcome"] as? String, "offlineFallback", predicted.stdout)
        XCTAssertEqual((report["iterations"] as? [Any])?.count, 6, "5 live rounds and the paused one: \(predicted.stdout)")

        // A second calibration does not overwrite the first unless asked to.
        let again = try LivemigProcess.run(["calibrate", "cal", "--seconds", "1", "--output", scenario, "--run-dir", host])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--output \(scenario): the file exists"), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: scenario, encoding: .utf8), text, "the file is kept as it was")

        let tooShort = try LivemigProcess.run(["calibrate", "cal", "--seconds", "0.2", "--interval", "0.05", "--run-dir", host])
        XCTAssertNotEqual(tooShort.status, 0)
        XCTAssertTrue(tooShort.stderr.contains("a fit needs at least 8"), tooShort.stderr)
        XCTAssertTrue(listing(host).contains("running"), "calibrating leaves the guest running")
        // `list` shows the rate the guest program achieved next to the one it was asked for.
        let row = try XCTUnwrap(listing(host).split(separator: "\n").first { $0.hasPrefix("cal ") })
        let achieved = try XCTUnwrap(Double(row.split(separator: " ")[4]), String(row))
        XCTAssertGreaterThan(achieved, 5000, String(row))
        XCTAssertLessThan(achieved, 21_000, "20,000 hot + 500 cold writes/s asked: \(row)")
    }

    /// Every migration lands in the run directory's history, which `history` lists and
    /// `calibrate --from-history` fits: the cap's efficiency and the pause's fixed part.
    func testMigrationsAreRecordedAndCalibrateFitsTheHistory() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        // 500 writes/s over 2,048 pages: a few hundred dirty after the first pass, a few dozen
        // after the second, so xen4 converges well inside its 5 rounds (at 2,000 writes/s it sat
        // at the boundary and fell back on a loaded machine).
        var budgets: [Double] = []
        for name in ["h1", "h2", "h3", "h4"] {
            let started = try hosts.livemig(["guest", "start", name, "--memory", "64M", "--workload", "uniform,workingSet=8MiB,rate=500",
                                             "--run-dir", hostA])
            XCTAssertEqual(started.status, 0, started.stderr)
            // Every page whole: fresh guests' zero pages would leave the cap unused, and such
            // runs say nothing of the link (`HistoryFit.maxZeroPageShareForLinkFit`).
            let moved = try LivemigProcess.run(["migrate", "--live", name, "127.0.0.1:\(portB)", "--bandwidth", "400Mbit/s",
                                                "--no-zero-pages", "--format", "json", "--run-dir", hostA])
            XCTAssertEqual(moved.status, 0, moved.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(moved.stdout.utf8)) as? [String: Any], moved.stdout)
            budgets.append(try XCTUnwrap(report["pauseOverheadBudgetSeconds"] as? Double, "\(report)"))
        }
        let listed = try LivemigProcess.run(["history", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["guest"] as? String }, ["h1", "h2", "h3", "h4"])
        // The first three planned with the default fixed part of the pause; the fourth with
        // what the three measured toward this host (the median of their fixed parts:
        // `MeasuredPauseOverhead`).
        XCTAssertEqual(Array(budgets.prefix(3)), [0.002, 0.002, 0.002])
        let fixedParts = try entries.prefix(3).compactMap { entry -> Double? in
            let report = try XCTUnwrap(entry["report"] as? [String: Any])
            let paused = try XCTUnwrap((report["iterations"] as? [[String: Any]])?.last { $0["paused"] as? Bool == true })
            guard (paused["pagesSent"] as? Int ?? .max) <= 64 else { return nil }
            let phases = try XCTUnwrap(report["pausePhases"] as? [String: Any], "\(report)")
            return ["deviceStateSeconds", "destinationReadySeconds", "clearedToRunningSeconds"].reduce(0) { $0 + (phases[$1] as? Double ?? 0) }
        }
        // At 500 writes/s the paused rounds carry a handful of pages (64 at most count).
        guard fixedParts.count == 3 else { return XCTFail("small paused rounds: \(fixedParts)") }
        XCTAssertEqual(budgets[3], fixedParts.sorted()[1], accuracy: 1e-12, "\(fixedParts)")
        XCTAssertEqual(entries.first?["rateLimitBytesPerSecond"] as? Double, 50_000_000)
        XCTAssertEqual((entries.first?["report"] as? [String: Any])?["outcome"] as? String, "converged", "\(entries)")
        let table = try LivemigProcess.run(["history", "h2", "--run-dir", hostA])
        XCTAssertTrue(table.stdout.contains("h2") && !table.stdout.contains("h1"), table.stdout)

        let started = try hosts.livemig(["guest", "start", "next", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let scenario = hosts.root.appendingPathComponent("next.yaml").path
        let calibrated = try LivemigProcess.run(["calibrate", "next", "--seconds", "1", "--from-history", "--output", scenario,
                                                 "--run-dir", hostA])
        XCTAssertEqual(calibrated.status, 0, calibrated.stderr)
        let text = try String(contentsOfFile: scenario, encoding: .utf8)
        let efficiencyLine = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("efficiency:") }, text)
        let efficiency = try XCTUnwrap(Double(efficiencyLine.split(separator: " ")[1]), text)
        XCTAssertGreaterThan(efficiency, 0.3, "the live passes ran near the cap: \(efficiencyLine)")
        XCTAssertLessThanOrEqual(efficiency, 1)
        XCTAssertTrue(text.contains("median share of the cap 4 capped migrations achieved"), text)
        XCTAssertTrue(text.contains("pauseCost:") && text.contains("from history"), text)
        let predicted = try LivemigProcess.run(["simulate", scenario, "--set", "migration.rateLimit=400Mbit/s", "--format", "json"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)

        let empty = try LivemigProcess.run(["calibrate", "next", "--seconds", "1", "--from-history", "--run-dir", hostB])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("holds no completed migration") || empty.stderr.contains("not running"), empty.stderr)
    }

    /// `calibrate --destination` probes the path to a receiver with no guest moving: the
    /// scenario's link rate (or the cap's efficiency) and latency come from it.
    func testCalibrateProbesThePathToADestination() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", "probed", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let uncapped = try LivemigProcess.run(["calibrate", "probed", "--seconds", "1", "--destination", "127.0.0.1:\(portB)",
                                               "--probe-seconds", "0.5", "--run-dir", hostA])
        XCTAssertEqual(uncapped.status, 0, uncapped.stderr)
        XCTAssertTrue(uncapped.stderr.contains("probed 127.0.0.1:\(portB):"), uncapped.stderr)
        XCTAssertTrue(uncapped.stdout.contains("# measured: a 0.5 s throughput probe to 127.0.0.1:\(portB)"), uncapped.stdout)
        XCTAssertTrue(uncapped.stdout.contains("latency:") && uncapped.stdout.contains("half the TCP round trip"), uncapped.stdout)

        let capped = try LivemigProcess.run(["calibrate", "probed", "--seconds", "1", "--destination", "127.0.0.1:\(portB)",
                                             "--probe-seconds", "0.5", "--bandwidth", "400Mbit/s", "--run-dir", hostA])
        XCTAssertEqual(capped.status, 0, capped.stderr)
        let efficiencyLine = try XCTUnwrap(capped.stdout.split(separator: "\n").first { $0.contains("efficiency:") }, capped.stdout)
        let efficiency = try XCTUnwrap(Double(efficiencyLine.split(separator: " ")[1]), String(efficiencyLine))
        XCTAssertGreaterThan(efficiency, 0.5, "loopback carries 400 Mbit/s: \(efficiencyLine)")
        XCTAssertLessThanOrEqual(efficiency, 1)
        XCTAssertTrue(efficiencyLine.contains("measured: the share of the cap"), String(efficiencyLine))

        // The probes moved no guest: the guest runs here, the destination has none, and its
        // log names the probes.
        XCTAssertTrue(listing(hostA).contains("probed"))
        XCTAssertFalse(listing(hostB).contains("probed"))
        let log = try String(contentsOfFile: "\(hostB)/incoming.log", encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "throughput probe from").count - 1, 2, log)

        let nowhere = try LivemigProcess.run(["calibrate", "probed", "--seconds", "1", "--destination", "127.0.0.1:1", "--run-dir", hostA])
        XCTAssertNotEqual(nowhere.status, 0)
        XCTAssertTrue(nowhere.stderr.contains("--destination 127.0.0.1:1: the throughput probe failed"), nowhere.stderr)
        let misplaced = try LivemigProcess.run(["calibrate", "probed", "--probe-seconds", "1", "--run-dir", hostA])
        XCTAssertTrue(misplaced.stderr.contains("--probe-seconds: only with --destination"), misplaced.stderr)
        let tlsAlone = try LivemigProcess.run(["calibrate", "probed", "--tls-dir", "/nonexistent", "--run-dir", hostA])
        XCTAssertTrue(tlsAlone.stderr.contains("only with --destination"), tlsAlone.stderr)
        let tooLong = try LivemigProcess.run(["calibrate", "probed", "--destination", "127.0.0.1:\(portB)", "--probe-seconds", "60",
                                              "--run-dir", hostA])
        XCTAssertTrue(tooLong.stderr.contains("--probe-seconds 60.0: must be from 0.1 to 20"), tooLong.stderr)
    }

    /// A probe is not the one migration of `receive --once`: the receiver answers it and still
    /// takes the migration that follows (as `migrate --validate` probes first, then migrates).
    func testAProbeDoesNotUseUpReceiveOnce() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--once"]).port
        let started = try hosts.livemig(["guest", "start", "oncer", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let probed = try LivemigProcess.run(["calibrate", "oncer", "--seconds", "1", "--destination", "127.0.0.1:\(portB)",
                                             "--probe-seconds", "0.3", "--run-dir", hostA])
        XCTAssertEqual(probed.status, 0, probed.stderr)
        let moved = try LivemigProcess.run(["migrate", "--live", "oncer", "127.0.0.1:\(portB)", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertTrue(listing(hostB).contains("oncer"), "the guest arrived after the probe")
        // And then the receiver of one migration is gone: its port takes no connection.
        let deadline = Date().addingTimeInterval(30)
        var listening = true
        while listening, Date() < deadline {
            listening = (try? BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: portB), timeoutSeconds: 2))
                .map { $0.close(); return true } ?? false
            if listening { Thread.sleep(forTimeInterval: 0.2) }
        }
        XCTAssertFalse(listening, "receive --once still listens after its migration")
    }
}
