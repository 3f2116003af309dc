import Foundation
import GuestControl
import MigrationCalibration
import MigrationCore
import MigrationExecutor
import MigrationScenario
import MigrationSimulation
import MigrationSweep

/// `migrate --validate`: before the migration, a prediction an operator can hold it to
/// (Monte Carlo over the scenario's uncertainty: p50 / p95 of time and downtime, the chance of
/// an offline fallback); after it, the prediction next to what was measured.
///
/// The scenario is `--scenario FILE`, or a fresh calibration of the guest (3 s of its dirty
/// log, plus this host's history when it has one), kept beside the guest as
/// `NAME.calibrated.yaml` in the run directory. The migration's own options (policy, cap,
/// downtime limit, timeout, auto-converge, fallback rounds, live or not) are set on it, so the
/// prediction is of the migration that will run.
struct MigrationValidation {
    var source: ScenarioFiles.Source
    var overrides: [String]
    /// Where the scenario came from, for the output.
    var origin: String
    var runs: Int

    /// Seconds of dirty log a validation observes when it calibrates.
    static let observationSeconds = 3.0

    static func prepare(name: String, request: ControlRequest, scenario: String?, sets: [String], host: RunDirectoryOption,
                        runs: Int) throws -> MigrationValidation {
        let path: String
        let origin: String
        if let scenario {
            path = absolutePath(scenario)
            origin = "scenario \(path)"
        } else {
            let fit = try CalibrateCommand.observeAndFit(name, host: host, xen: false, seconds: observationSeconds, interval: 0.05,
                                                         keepTrace: nil)
            var fitted: HistoryFit?
            do {
                fitted = try CalibrateCommand.historyFitIfAny(in: host, target: request.target).fit
            } catch {
                FileHandle.standardError.write(Data("livemig: --validate: the history is left out: \(error.description)\n".utf8))
            }
            let history = fitted.flatMap { $0.uncappedRuns + $0.cappedRuns + $0.pausedRuns > 0 ? $0 : nil }
            let probed = try probeIfUnknown(request, history: history)
            let calibrated = CalibratedScenario(
                name: name, fit: fit.fit, guestMemoryBytes: try CalibrateCommand.memoryBytes(of: fit.trace),
                pageSizeBytes: fit.trace.pageSizeBytes,
                provenance: .init(command: "livemig migrate \(name) --validate", timestamp: ISO8601DateFormatter().string(from: Date()),
                                  linkBandwidth: nil, policy: request.policy?.rawValue ?? "xen4"),
                history: history, measuredCosts: try GuestObservation.measureCosts(name, host: host, xen: false), measuredPaths: probed,
                zeroPageShare: request.zeroPages == false ? nil : fit.zeroPageShare)
            path = "\(host.directory.path)/\(name).calibrated.yaml"
            try ScenarioFiles.write(calibrated.yaml, to: path, option: "--validate")
            let link = history?.uncappedBytesPerSecond != nil ? "" : probed.first { $0.rateLimitBytesPerSecond == nil }.map { measured in
                String(format: "; the link probed: %.0f Mbit/s", measured.bytesPerSecond * 8 / 1e6)
            } ?? "; the link not measured: 10 Gbit/s assumed"
            origin = "calibrated now (\(String(format: "%.0f", observationSeconds)) s of the dirty log\(history == nil ? "" : ", this host's history")\(link)): \(path)"
        }
        let source: ScenarioFiles.Source
        do {
            source = try ScenarioFiles.Source.open(path)
            // A scenario of another guest's size would predict another migration.
            let memory = try source.checked(sets, point: []).config.guestMemoryBytes
            if scenario != nil, let status = try host.directory.ask(name, ControlRequest(command: .status), timeoutSeconds: 10).status,
               status.memoryBytes != memory {
                throw HostFailure("--scenario \(path): guest.memory is \(memory >> 20) MiB, but guest '\(name)' has \(status.memoryBytes >> 20) MiB")
            }
        } catch let error as HostFailure {
            throw failure(error.description)
        } catch {
            throw failure("\(error)")
        }
        return MigrationValidation(source: source, overrides: sets + settings(of: request), origin: origin, runs: runs)
    }

    /// The path to the migration's target, probed for 1 s where this host's history does not
    /// know it: uncapped when no uncapped migration went there (the link's rate: a capped
    /// migration's paused round runs at it), and at the migration's cap when it has one and no
    /// capped migration went there (the cap's efficiency). A probe that fails is said on stderr
    /// and left out.
    static func probeIfUnknown(_ request: ControlRequest, history: HistoryFit?) throws -> [MeasuredPath] {
        guard let target = request.target else { return [] }
        var rates: [Double?] = []
        if history?.uncappedBytesPerSecond == nil { rates.append(nil) }
        if let cap = request.rateLimitBytesPerSecond, history?.capEfficiency == nil { rates.append(cap) }
        guard !rates.isEmpty else { return [] }
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint(parsing: target)
        } catch {
            throw failure("\(target): \(error.description)")
        }
        let tls = request.tlsDirectory.map { TLSConfiguration(directory: $0, allowedPeerNames: request.tlsAllowedPeerNames ?? []) }
        var paths: [MeasuredPath] = []
        for rate in rates {
            do {
                paths.append(try ThroughputProbe.measure(endpoint, seconds: 1, rateLimitBytesPerSecond: rate, tls: tls))
            } catch {
                // An older receiver, or one that takes no probes: the prediction goes on without.
                FileHandle.standardError.write(Data("livemig: --validate: the path to \(target) is not measured: \(error.description)\n".utf8))
                return paths
            }
        }
        return paths
    }

    /// The migration's settings as scenario keys: the whole policy setting, the cap, live or not,
    /// the streams, compression and post-copy.
    static func settings(of request: ControlRequest) -> [String] {
        var keys = request.policyConfiguration.scenarioKeys
        if let rate = request.rateLimitBytesPerSecond {
            keys.append("migration.rateLimit=\(CheckedConversion.clampedInt(rate, to: 1 ... Int.max))B/s")
        }
        keys.append("migration.live=\(request.live ?? false)")
        keys.append("migration.capPausedRound=\(request.capPausedRound ?? false)")
        keys.append("migration.streams=\(request.streams ?? 1)")
        keys.append("migration.compression=\(request.compression ?? "none")")
        // Post-copy, as the migration will hand over (the prediction's faults and stall with it).
        if let rounds = request.postcopyAfter {
            keys.append("migration.postcopyAfter=\(rounds)")
        } else if request.postcopyOnFallback == true {
            keys.append("migration.postcopy=fallback")
        }
        return keys
    }

    /// A Monte Carlo prediction: the percentiles, and the median number of live rounds.
    struct Prediction {
        var summary: SweepPointSummary
        var medianLiveIterations: Double
    }

    /// The Monte Carlo prediction with `extra` keys set (another policy, say).
    func predict(_ extra: [String] = [], runs: Int? = nil) throws -> Prediction {
        let keys = overrides + extra
        let source = self.source
        do {
            let base = try source.checked(keys, point: [])
            let plan = try SweepPlan(axes: [], runs: runs ?? self.runs, baseSeed: base.config.seed)
            let jobs = ProcessInfo.processInfo.activeProcessorCount
            let results: [SweepRun]
            if base.hasDistributions {
                results = try SweepRunner.run(plan, jobs: jobs) { _, seed throws(HostFailure) in try source.drawn(keys, seed: seed) }
            } else {
                results = try SweepRunner.run(plan, configs: [base.config], jobs: jobs)
            }
            let rounds = results.filter { $0.error == nil }.map { Double($0.liveIterations) }.sorted()
            return Prediction(summary: SweepPointSummary(values: [:], runs: results),
                              medianLiveIterations: SweepStatistics.percentile(50, of: rounds) ?? 0)
        } catch {
            throw failure("--validate: \(error.description)")
        }
    }

    /// Policies other than the one asked for whose p95 meets both limits.
    func alternatives(current: PolicyName, maxDowntimeSeconds: Double?, maxTimeSeconds: Double?) throws -> [(PolicyName, SweepPointSummary)] {
        try PolicyName.allCases.filter { $0 != current && $0 != .timeout }.compactMap { policy in
            let summary = try predict(["policy.name=\(policy.rawValue)"], runs: max(20, runs / 2)).summary
            return Self.meets(summary, maxDowntimeSeconds: maxDowntimeSeconds, maxTimeSeconds: maxTimeSeconds) ? (policy, summary) : nil
        }
    }

    /// The scenario's dirtying as the progress display's estimate takes it before the first
    /// dirty-log read (the distributions at their centre; a phase schedule by its first phase;
    /// a trace is left to the reads).
    func expectedDirtying() throws -> [RemainingMigrationEstimate.DirtyClass] {
        let workload: Workload
        do {
            workload = try source.checked(overrides, point: []).config.workload
        } catch {
            throw failure("--validate: \(error.description)")
        }
        return Self.dirtyClasses(of: workload)
    }

    static func dirtyClasses(of workload: Workload) -> [RemainingMigrationEstimate.DirtyClass] {
        switch workload {
        case .idle, .trace: []
        case .uniform(let pages, let rate), .zipf(let pages, let rate, _): [.init(pages: Double(pages), writesPerSecond: rate)]
        case .hotCold(let pages, let hot, let hotRate, let coldRate):
            [.init(pages: Double(hot), writesPerSecond: hotRate), .init(pages: Double(pages - hot), writesPerSecond: coldRate)]
        case .sequential(let pages, let rate): [.init(pages: Double(pages), writesPerSecond: rate, sweep: true)]
        case .phases(let phases): phases.first.map { dirtyClasses(of: $0.workload) } ?? []
        }
    }

    static func meets(_ summary: SweepPointSummary, maxDowntimeSeconds: Double?, maxTimeSeconds: Double?) -> Bool {
        summary.aborted == 0
            && (maxDowntimeSeconds.map { summary.downtimeSeconds.p95 <= $0 } ?? true)
            && (maxTimeSeconds.map { summary.totalTimeSeconds.p95 <= $0 } ?? true)
    }
}
