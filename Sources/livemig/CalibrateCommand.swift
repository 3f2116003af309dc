import ArgumentParser
import DirtyTraceFormat
import Foundation
import GuestControl
import MigrationCalibration
import MigrationCore
import MigrationExecutor

/// `livemig calibrate GUEST`: observes what a running guest dirties, fits the simulator's write
/// model to it (where the working set lies, its size, a hot set, the rates and their spread) and
/// writes a scenario file that predicts a migration of this guest, each value with a comment
/// saying where it came from.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate", abstract: "Fit a scenario to what a running guest dirties.",
        discussion: """
            Reads the guest's dirty log every --interval for --seconds (as `observe` does), fits a write model \
            (idle, uniform, hotCold or sequential; where the working set lies; the rates and how much they varied) \
            and prints how well it reproduces the dirty counts seen over intervals of several lengths. It measures \
            this host's costs on the guest (KVM: dirty-log read, pause, device state). With --destination it \
            probes the path to that host's `livemig receive` (a throughput probe: filler page batches, no \
            guest) for the link's rate, or the cap's efficiency with --bandwidth, and its latency. With \
            --output, writes the scenario there; otherwise prints it. Each value says where it came from.
            """)

    @Argument(help: "The guest's name.") var name: String
    @Option(help: "How long to observe, in seconds (at least 8 reads).") var seconds: Double = 10
    @Option(help: "How often to read the dirty log, in seconds.") var interval: Double = 0.05
    @Option(help: "Write the scenario file here (refused if it exists, unless --force).") var output: String?
    @Flag(help: "Overwrite --output if it exists.") var force = false
    @Option(help: "Also keep the observed trace here (a scenario can replay it: kind: trace).") var keepTrace: String?
    @Option(help: "The link's rate for the scenario, e.g. 1Gbit/s (not measured: without it the scenario says so).")
    var bandwidth: String?
    @Flag(help: "Also fit the link's rate and efficiency and the pause's fixed part from this host's history of migrations (livemig history).")
    var fromHistory = false
    @Option(help: "HOST[:PORT] of the destination's `livemig receive`: probe the path for the link's rate (the cap's efficiency with --bandwidth) and latency; no guest moves.")
    var destination: String?
    @Option(help: "With --destination: how long the throughput probe sends, in seconds (0.1 to 20; default 1).") var probeSeconds: Double?
    @OptionGroup var tlsOptions: TLSClientOptions
    @Option(help: "The policy the scenario predicts: xen3, xen4, qemu or timeout.") var policy: String = "xen4"
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Calibrate a Xen domain (the default on a Xen host for a name livemig does not run); an error elsewhere.") var xen = false

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        guard PolicyName(rawValue: policy) != nil else {
            throw failure("--policy \(policy): not one of \(PolicyName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var linkBandwidth: (text: String, bytesPerSecond: Double, source: String)?
        if let bandwidth {
            do {
                linkBandwidth = (bandwidth, try OptionBounds.bandwidth.value(bandwidth), "given: --bandwidth")
            } catch {
                throw failure("\(error)")
            }
        }
        var probeTarget: Endpoint?
        if let destination {
            do {
                probeTarget = try Endpoint(parsing: destination)
            } catch {
                throw failure("--destination \(destination): \(error.description)")
            }
        }
        if destination == nil, self.probeSeconds != nil { throw failure("--probe-seconds: only with --destination") }
        let probeSeconds = self.probeSeconds ?? 1
        guard probeSeconds.isFinite, (0.1 ... ThroughputProbe.maxSendSeconds).contains(probeSeconds) else {
            throw failure("--probe-seconds \(probeSeconds): must be from 0.1 to \(Int(ThroughputProbe.maxSendSeconds))")
        }
        if destination == nil, tlsOptions.tls || tlsOptions.tlsDir != nil || tlsOptions.tlsAllow != nil {
            throw failure("--tls, --tls-dir and --tls-allow: only with --destination")
        }
        let tlsConfiguration = try tlsOptions.configuration()
        let outputPath = output.map(absolutePath)
        if let outputPath, !force, FileManager.default.fileExists(atPath: outputPath) {
            throw failure("--output \(outputPath): the file exists (add --force to overwrite it)")
        }
        let history = try fromHistory ? Self.historyFit(in: host, target: destination) : nil
        // The path first: a destination that cannot be reached fails the command before the
        // observation's seconds are spent.
        let path = try probeTarget.map { endpoint in
            try Self.probe(endpoint, seconds: probeSeconds, rateLimitBytesPerSecond: linkBandwidth?.bytesPerSecond, tls: tlsConfiguration)
        }
        let fit = try Self.observeAndFit(name, host: host, xen: xen, seconds: seconds, interval: interval, keepTrace: keepTrace)
        let costs = try GuestObservation.measureCosts(name, host: host, xen: xen)
        let scenario = CalibratedScenario(
            name: name, fit: fit.fit, guestMemoryBytes: try CalibrateCommand.memoryBytes(of: fit.trace),
            pageSizeBytes: fit.trace.pageSizeBytes,
            provenance: .init(command: (["livemig"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                              timestamp: ISO8601DateFormatter().string(from: Date()), linkBandwidth: linkBandwidth, policy: policy),
            history: history, measuredCosts: costs, measuredPaths: path.map { [$0] } ?? [], zeroPageShare: fit.zeroPageShare)
        if let outputPath {
            do {
                try scenario.yaml.write(toFile: outputPath, atomically: true, encoding: .utf8)
            } catch {
                throw failure("--output \(outputPath): \(error.localizedDescription)")
            }
        }
        if format == "json" {
            print(CalibrationJSON.render(fit.fit, scenarioFile: outputPath))
            return
        }
        print(CalibrationTable.render(fit.fit, name: name), terminator: "")
        if let outputPath {
            print("scenario written to \(outputPath)")
        } else {
            print("")
            print(scenario.yaml, terminator: "")
        }
    }

    /// The guest's memory the trace covers, refused if it does not fit an `Int`.
    static func memoryBytes(of trace: DirtyTrace) throws -> Int {
        let (bytes, overflow) = trace.pageCount.multipliedReportingOverflow(by: trace.pageSizeBytes)
        guard !overflow else { throw failure("the trace's \(trace.pageCount) pages of \(trace.pageSizeBytes) bytes do not fit a size") }
        return bytes
    }

    /// The path to `endpoint`, measured by a throughput probe, said on stderr as it is taken.
    static func probe(_ endpoint: Endpoint, seconds: Double, rateLimitBytesPerSecond: Double?,
                      tls: TLSConfiguration?) throws -> MeasuredPath {
        let path: MeasuredPath
        do {
            path = try ThroughputProbe.measure(endpoint, seconds: seconds, rateLimitBytesPerSecond: rateLimitBytesPerSecond, tls: tls)
        } catch {
            throw failure("--destination \(endpoint): the throughput probe failed: \(error.description)")
        }
        let roundTrip = path.roundTripSeconds.map { String(format: ", round trip %.3f ms", $0 * 1000) } ?? ""
        FileHandle.standardError.write(Data(String(format: "livemig: probed %@: %.0f Mbit/s over %.2f s%@\n",
                                                   endpoint.description, path.bytesPerSecond * 8 / 1e6, path.seconds, roundTrip).utf8))
        return path
    }

    /// The history's fit (of the migrations to `target` when there are any), refused when no
    /// completed migration is in it (an unreadable line is named on stderr and left out).
    static func historyFit(in host: RunDirectoryOption, target: String? = nil) throws -> HistoryFit {
        let history: (fit: HistoryFit, entries: Int)
        do {
            history = try historyFitIfAny(in: host, target: target)
        } catch {
            throw failure("--from-history: \(error.description)")
        }
        guard history.fit.uncappedRuns + history.fit.cappedRuns + history.fit.pausedRuns > 0 else {
            throw failure("--from-history: \(MigrationHistory.path(in: host.directory)) holds no completed migration to fit (\(history.entries) entries)")
        }
        return history.fit
    }

    /// The history's fit as it is (empty without completed migrations), and how many entries:
    /// with a `target`, of the migrations to it when there are any (the link is what they
    /// measured); when there are none, of all of them without their link (`withoutLink`: the
    /// pause is this host's, the rates another path's). Targets match as endpoints (`b` is
    /// `b:8002`).
    static func historyFitIfAny(in host: RunDirectoryOption, target: String? = nil) throws(HostFailure) -> (fit: HistoryFit, entries: Int) {
        let history = try MigrationHistory.read(in: host.directory)
        for line in history.unreadable { FileHandle.standardError.write(Data("livemig: \(line)\n".utf8)) }
        let all = HistoryFit(history.entries.map {
            HistoryFit.Run(report: $0.report, rateLimitBytesPerSecond: $0.rateLimitBytesPerSecond, steeredMidFlight: $0.steeredMidFlight ?? false)
        })
        guard let target else { return (all, history.entries.count) }
        let toTarget = history.entries.filter { sameDestination($0.target, target) }
        guard !toTarget.isEmpty else { return (all.withoutLink, history.entries.count) }
        return (HistoryFit(toTarget.map {
            HistoryFit.Run(report: $0.report, rateLimitBytesPerSecond: $0.rateLimitBytesPerSecond, steeredMidFlight: $0.steeredMidFlight ?? false)
        }),
                toTarget.count)
    }

    /// Whether two `HOST[:PORT]` texts name the same receiver (as parsed endpoints, host names
    /// in any case; as text if either does not parse).
    static func sameDestination(_ first: String?, _ second: String) -> Bool {
        guard let first else { return false }
        guard let a = try? Endpoint(parsing: first), let b = try? Endpoint(parsing: second) else { return first == second }
        return a.host.lowercased() == b.host.lowercased() && a.port == b.port
    }

    /// Observes guest `name` into a trace file (`keepTrace`, else a temporary one), reads it
    /// back and fits it.
    static func observeAndFit(_ name: String, host: RunDirectoryOption, xen: Bool, seconds: Double, interval: Double,
                              keepTrace: String?) throws -> (fit: WriteModelFit, trace: DirtyTrace, zeroPageShare: Double?) {
        let traceFile: String
        var temporaryDirectory: URL?
        if let keepTrace {
            traceFile = absolutePath(keepTrace)
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-calibrate-\(UUID().uuidString)")
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            } catch {
                throw failure("calibrate: cannot make a temporary directory for the trace: \(error.localizedDescription)")
            }
            temporaryDirectory = directory
            traceFile = directory.appendingPathComponent("\(name).trace").path
        }
        defer { if let temporaryDirectory { try? FileManager.default.removeItem(at: temporaryDirectory) } }
        let summary = try GuestObservation.record(name, host: host, xen: xen, into: traceFile, seconds: seconds, intervalSeconds: interval)
        let zeroShare = summary.zeroPages.flatMap { zero in
            summary.guestPages > 0 && (0 ... summary.guestPages).contains(zero) ? Double(zero) / Double(summary.guestPages) : nil
        }
        let trace: DirtyTrace
        do {
            trace = try DirtyTrace.parse(try String(contentsOfFile: traceFile, encoding: .utf8), source: traceFile)
        } catch let error as DirtyTraceError {
            throw failure(error.description)
        } catch {
            throw failure("\(traceFile): \(error.localizedDescription)")
        }
        do {
            return (try WriteModelFitter.fit(trace), trace, zeroShare)
        } catch {
            throw failure("calibrate \(name): \(error.description) (observe longer, or read more often with --interval)")
        }
    }
}
