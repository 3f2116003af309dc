import ArgumentParser
import Foundation
import GuestControl
import MigrationCore

/// `livemig bench accuracy`: how well predictions hold. Each case starts a KVM guest with a
/// known workload, and runs `migrate --validate` on it over loopback exactly as a user would
/// (calibrate on the spot, predict by Monte Carlo, migrate for real, compare); the suite then
/// gives p50 / p90 / max of the error in total time, downtime, bytes and live rounds, and how
/// well the predicted fallback probabilities matched what happened (the Brier score).
///
/// The path is measured first, by one idle migration that lands in the history (as a
/// throughput probe would): the cases' calibrations take the link's rate from it.
struct BenchAccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accuracy", abstract: "Calibrate, predict and migrate KVM guests for real; the prediction errors.")

    @Flag(help: "The quick suite (4 cases of 128 MiB guests, about a minute) instead of the full one.") var quick = false
    @Option(help: "Write the suite's JSON here (default: results/accuracy.json, or results/accuracy-quick.json with --quick).")
    var output: String?
    @Option(help: "Simulated runs per prediction (10 to 100,000).") var validationRuns: Int?

    func run() throws {
        let runs = validationRuns ?? (quick ? 100 : 200)
        do {
            _ = try MigrateCommand.validationRunsBound.check(runs)
        } catch {
            throw failure("\(error)")
        }
        let cases = quick ? AccuracyCase.quick : AccuracyCase.full
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-accuracy-\(UUID().uuidString.prefix(8))")
        let (hostA, hostB) = (root.appendingPathComponent("a").path, root.appendingPathComponent("b").path)
        try FileManager.default.createDirectory(atPath: hostA, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: hostB, withIntermediateDirectories: true)
        let (receiver, port) = try SelfInvocation.startLoopbackReceiver(runDirectory: hostB, log: root.appendingPathComponent("receive.log"))
        defer {
            SelfInvocation.stop(receiver)
            try? FileManager.default.removeItem(at: root)
        }
        print("livemig bench accuracy: \(cases.count) cases, \(runs) simulated runs per prediction, KVM guests over 127.0.0.1")
        try probePath(hostA: hostA, hostB: hostB, port: port)
        var results: [AccuracyResult] = []
        for (index, testCase) in cases.enumerated() {
            let result = try measure(testCase, name: "acc\(index + 1)", hostA: hostA, hostB: hostB, port: port, runs: runs)
            print(result.line)
            results.append(result)
        }
        let repeated = quick ? AccuracyCase.quick[0] : AccuracyCase.repeated
        let repeatability = try repeatedTimes(repeated, times: quick ? 3 : 8, hostA: hostA, hostB: hostB, port: port)
        print(repeatability.line)
        let summary = AccuracySummary(results, repeatability: repeatability)
        print(summary.table, terminator: "")
        let path = output ?? (quick ? "results/accuracy-quick.json" : "results/accuracy.json")
        try ScenarioFiles.write(try summary.json(), to: path, option: "--output")
        print("written to \(path)")
    }

    /// One idle, uncapped migration, so that the history holds the path's rate.
    private func probePath(hostA: String, hostB: String, port: Int) throws {
        defer { stopEverywhere("probe", hostA: hostA, hostB: hostB) }
        try startGuest("probe", memory: "64M", workload: "idle", in: hostA)
        let moved = try SelfInvocation.run(["migrate", "--live", "probe", "127.0.0.1:\(port)", "--run-dir", hostA], timeoutSeconds: 120)
        guard moved.status == 0 else { throw failure("bench accuracy: the probe migration failed: \(moved.stderr)") }
    }

    /// Stops guest `name` wherever it runs (a stop where it does not is a harmless error).
    private func stopEverywhere(_ name: String, hostA: String, hostB: String) {
        for host in [hostB, hostA] { _ = try? SelfInvocation.run(["guest", "stop", name, "--run-dir", host], timeoutSeconds: 60) }
    }

    private func startGuest(_ name: String, memory: String, workload: String, in host: String) throws {
        let started = try SelfInvocation.run(["guest", "start", name, "--memory", memory, "--workload", workload, "--run-dir", host],
                                             timeoutSeconds: 120)
        guard started.status == 0 else { throw failure("bench accuracy: guest \(name) did not start: \(started.stderr)") }
    }

    /// The same uncapped migration `times` times, a fresh guest each time, no prediction.
    private func repeatedTimes(_ testCase: AccuracyCase, times: Int, hostA: String, hostB: String, port: Int) throws -> AccuracyRepeatability {
        var seconds: [Double] = []
        for run in 1 ... times {
            let name = "rep\(run)"
            defer { stopEverywhere(name, hostA: hostA, hostB: hostB) }
            try startGuest(name, memory: testCase.memory, workload: testCase.workload, in: hostA)
            let moved = try SelfInvocation.run(["migrate", "--live", name, "127.0.0.1:\(port)", "--policy", testCase.policy,
                                                "--format", "json", "--run-dir", hostA], timeoutSeconds: 600)
            guard moved.status == 0, let data = moved.stdout.data(using: .utf8),
                  let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let time = report["totalTimeSeconds"] as? Double else {
                throw failure("bench accuracy: \(testCase.label), run \(run) of the repeats: no report (exit \(moved.status)): \(moved.stderr)")
            }
            seconds.append(time)
        }
        return AccuracyRepeatability(label: testCase.label, timesSeconds: seconds)
    }

    private func measure(_ testCase: AccuracyCase, name: String, hostA: String, hostB: String, port: Int, runs: Int) throws -> AccuracyResult {
        // Stopped on both hosts whatever happens, registered before the start (a start that
        // timed out may still have left its daemon running).
        defer { stopEverywhere(name, hostA: hostA, hostB: hostB) }
        try startGuest(name, memory: testCase.memory, workload: testCase.workload, in: hostA)
        var arguments = ["migrate", "--live", name, "127.0.0.1:\(port)", "--policy", testCase.policy, "--validate", "--yes",
                         "--validation-runs", "\(runs)", "--format", "json", "--run-dir", hostA]
        if let cap = testCase.cap { arguments += ["--bandwidth", cap] }
        let moved = try SelfInvocation.run(arguments, timeoutSeconds: 600)
        guard let data = moved.stdout.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw failure("bench accuracy: \(testCase.label): no JSON from migrate --validate (exit \(moved.status)): \(moved.stderr)")
        }
        return try AccuracyResult(testCase, validated: object)
    }
}
