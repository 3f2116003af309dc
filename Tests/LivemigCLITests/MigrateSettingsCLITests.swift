import Foundation
import XCTest

/// `migrate --scenario FILE` and `--set KEY=VALUE` run the migration the scenario describes,
/// with every policy setting a scenario holds (not only the few options had), read by the
/// scenario reader with its units; options given on the command line win.
final class MigrateSettingsCLITests: GuestHostsTestCase {
    func testTheScenariosPolicySettingsReachTheMigration() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        for name in ["s1", "s2"] {
            let started = try hosts.livemig(["guest", "start", name, "--memory", "128M", "--workload", "uniform,workingSet=32MiB,rate=30000",
                                             "--run-dir", hostA])
            XCTAssertEqual(started.status, 0, started.stderr)
        }
        // Xen 4 stopped after 2 live rounds (policy.maxIterations, which no option sets), live
        // because the scenario is, capped by the scenario's rate limit.
        let scenario = hosts.root.appendingPathComponent("move.yaml").path
        try """
            guest: {memory: 128MiB}
            workload: {kind: uniform, workingSet: 32MiB, rate: 30000}
            link: {bandwidth: 10Gbit/s}
            migration: {rateLimit: 800Mbit/s}
            policy: {name: xen4, maxIterations: 2}
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let first = try LivemigProcess.run(["migrate", "s1", "127.0.0.1:\(portB)", "--scenario", scenario, "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(first.status, 0, first.stderr)
        let report = try LivemigProcess.jsonObject(first.stdout)
        XCTAssertEqual(report["live"] as? Bool, true, "the scenario's migration is live")
        XCTAssertEqual(report["policy"] as? String, "xen4")
        XCTAssertEqual(report["outcome"] as? String, "offlineFallback", "\(report)")
        XCTAssertEqual((report["iterations"] as? [[String: Any]])?.filter { $0["paused"] as? Bool == false }.count, 2, "\(report)")
        // The live rounds are held to the scenario's 800 Mbit/s (the paused round runs at the
        // link's rate: migration.capPausedRound is false).
        let iterations = try XCTUnwrap(report["iterations"] as? [[String: Any]])
        let live = iterations.filter { $0["paused"] as? Bool == false }
        // Zero pages (round 1's untouched memory) went as 8-byte markers.
        let zeroPages = Double(report["zeroPagesSent"] as? Int ?? 0)
        let liveBytes = live.reduce(0.0) { $0 + Double($1["pagesSent"] as? Int ?? 0) * 4104 } - zeroPages * 4096
        let pausedAt = try XCTUnwrap(iterations.first { $0["paused"] as? Bool == true }?["startSeconds"] as? Double)
        XCTAssertLessThan(liveBytes / pausedAt, 1.05e8, "held to the scenario's 800 Mbit/s: \(report)")

        // --set on top, and an option that wins over both.
        let second = try LivemigProcess.run(["migrate", "--live", "s2", "127.0.0.1:\(portB)", "--scenario", scenario,
                                             "--set", "policy.maxIterations=3", "--policy", "xen3", "--downtime-limit", "250ms",
                                             "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(second.status, 0, second.stderr)
        let again = try LivemigProcess.jsonObject(second.stdout)
        XCTAssertEqual(again["policy"] as? String, "xen3")
        XCTAssertLessThanOrEqual((again["iterations"] as? [[String: Any]])?.filter { $0["paused"] as? Bool == false }.count ?? 99, 3, "\(again)")
    }
}

