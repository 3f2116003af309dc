import ArgumentParser
import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor
import MigrationReporting
import MigrationStream
import XenBackend

/// `livemig migrate`: moves a guest to another host's `livemig receive`, live (`--live`) or
/// offline, and prints the same report as `livemig simulate`.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Migrate a guest to another host (live with --live).")

    @Flag(help: "Live migration (pre-copy); without it the guest is paused, copied and resumed there.") var live = false
    @Argument(help: "The guest's name.") var name: String
    @Argument(help: "HOST[:PORT] of the destination's `livemig receive` (port 8002 by default).") var target: String?
    @OptionGroup var tlsOptions: TLSClientOptions
    @Flag(help: "Cancel the migration of NAME in progress (before it commits; the guest keeps running here).") var cancel = false
    @Option(help: "Resume the guest here if the destination was not cleared to run it this long after the pause: 50ms, 1s (a bare number is milliseconds).")
    var maxDowntime: String?
    @Option(help: "xen3, xen4, qemu or timeout (xen4, or the scenario's).") var policy: String?
    @Option(help: "Cap the migration stream: 1Gbit/s, 100MB/s (1 Mbit/s to 1 Tbit/s).") var bandwidth: String?
    @Option(help: "qemu/timeout: the downtime budget: 300ms, 1.5s (a bare number is milliseconds; 1ms to 2000s).") var downtimeLimit: String?
    @Option(help: "timeout: suspend the guest after this long: 60s, 5min (a bare number is seconds; libvirt --timeout; 1ms to 24h).")
    var timeout: String?
    @Option(name: .customLong("set"), help: "Set a scenario key for this migration, as in simulate: --set policy.targetDirtyPages=200 (repeatable; policy.*, migration.rateLimit, migration.capPausedRound, migration.live, migration.streams, migration.compression, migration.postcopy, migration.postcopyAfter act on the migration, the rest on --validate's prediction).")
    var sets: [String] = []
    @Flag(help: "Let --bandwidth also pace the paused round (by default a KVM guest's runs at the link's rate, as QEMU's stop-and-copy does; a Xen domain's is always capped).")
    var capPausedRound = false
    @Flag(help: "qemu/timeout: QEMU's auto-converge (throttle the guest).") var autoConverge = false
    @Option(help: "qemu/timeout: QEMU's dirty limit instead: once the guest dirties too fast, slow it toward this many pages/s (2000, or 8MiB/s; 1 to 10^9 pages/s).")
    var dirtyLimit: String?
    @Option(help: "Give up on live migration after this many non-converging rounds (0: never; at most 1,000,000).") var fallbackRounds: Int?
    @Flag(help: "Verify memory: the destination checks a digest of the paused guest's memory before it runs it (the digest's time adds to the pause; KVM guests).")
    var verifyMemory = false
    @Flag(help: "Send pages that are all zero whole, not as 8-byte zero-page markers (KVM guests; markers are the default, as QEMU's).")
    var noZeroPages = false
    @Option(help: "Carry the pages on N parallel TCP connections beside the main one (2 to 16, like QEMU's multifd channels; 1, the default, is the main connection alone; KVM guests).")
    var streams: Int?
    @Option(help: "Compress each batch's page data: zstd (level 1, as QEMU's multifd zstd; a batch that does not shrink by a sixteenth goes as it is), auto (the engine decides each round from the measured compression against the link), xbzrle (a page sent before goes as its delta against the copy sent, when at most half a page; 64 MiB of copies, as QEMU's XBZRLE cache; one stream) or none, the default (KVM guests).")
    var compress: String?
    @Option(help: "Post-copy: after N live rounds (1 to 1000; libvirt's --postcopy-after-precopy is 1), or sooner if the policy gives up, run the guest on the destination and send the pages it still lacks, those it touches first (userfaultfd; KVM guests, with --live and one stream). A link failure after the hand-over leaves both copies paused (docs/postcopy.md).")
    var postcopyAfter: Int?
    @Flag(help: "Print progress while migrating.") var verbose = false
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Migrate a Xen domain (the default on a Xen host for a name livemig's KVM daemons do not run); an error elsewhere.") var xen = false
    @Flag(help: "Predict first (calibrate the guest, or use --scenario; Monte Carlo), refuse when the p95 breaks --max-downtime or --max-time unless --yes, then run and print predicted against measured.")
    var validate = false
    @Option(help: "Run the migration this scenario describes (its policy.*, migration.rateLimit, migration.capPausedRound, migration.live, migration.streams, migration.compression, migration.postcopy and migration.postcopyAfter; options given here win); with --validate, predict from it instead of calibrating the guest now.")
    var scenario: String?
    @Option(help: "--validate: the longest total time the p95 may predict: 30s, 2min (a bare number is seconds; 1 s to 24 h).") var maxTime: String?
    @Flag(help: "--validate: migrate even when the prediction breaks a limit.") var yes = false
    @Option(help: "--validate: simulated runs of the prediction (10 to 100,000).") var validationRuns: Int = 200

    func run() throws {
        guard let format = ReportFormat(rawValue: format), format != .csv else { throw failure("--format \(format): table or json") }
        if cancel { return try cancelMigration() }
        guard let target else { throw failure("migrate: name the destination HOST[:PORT] (or use --cancel)") }
        var request = ControlRequest(command: .migrate)
        request.target = target
        request.verifyMemory = verifyMemory ? true : nil
        request.zeroPages = noZeroPages ? false : nil
        request.streams = streams
        request.compression = compress
        request.postcopyAfter = postcopyAfter
        do {
            // The scenario's (or --set's) settings first, then the options given here.
            let described = try MigrationSettingsFromScenario.read(scenario: scenario, sets: sets)
            var policySettings = described?.policy ?? PolicyConfiguration(name: .xen4)
            if let policy {
                guard let name = PolicyName(rawValue: policy) else {
                    throw HostFailure("--policy \(policy): not one of \(PolicyName.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                policySettings.name = name
            }
            // Each number checked as the user wrote it, so that the error quotes it.
            if let downtimeLimit {
                policySettings.downtimeLimitSeconds = try DurationOption.seconds(downtimeLimit, bareUnit: .milliseconds, bound: OptionBounds.downtimeLimit)
            }
            if let timeout { policySettings.timeoutSeconds = try DurationOption.seconds(timeout, bareUnit: .seconds, bound: OptionBounds.timeout) }
            if autoConverge { policySettings.autoConverge = true }
            if let dirtyLimit {
                guard let pagesPerSecond = Quantities.pagesPerSecond(dirtyLimit, pageSizeBytes: 4096) else {
                    throw InputBoundError("--dirty-limit \(dirtyLimit): not a rate (pages per second such as 2000, or bytes such as 8MiB/s)")
                }
                try OptionBounds.dirtyLimit.check(pagesPerSecond, written: dirtyLimit)
                policySettings.dirtyLimitPagesPerSecond = pagesPerSecond
            }
            if let fallbackRounds { policySettings.fallbackRounds = fallbackRounds }
            request.policy = policySettings.name
            request.downtimeLimitSeconds = policySettings.downtimeLimitSeconds
            request.timeoutSeconds = policySettings.timeoutSeconds
            request.autoConverge = policySettings.autoConverge
            request.dirtyLimitPagesPerSecond = policySettings.dirtyLimitPagesPerSecond
            request.fallbackRounds = policySettings.fallbackRounds
            if described != nil { request.policySettings = policySettings }
            request.live = live || described?.live == true
            request.maxDowntimeSeconds = try maxDowntime.map { text throws(InputBoundError) in
                try DurationOption.seconds(text, bareUnit: .milliseconds, bound: OptionBounds.maxDowntime)
            }
            request.rateLimitBytesPerSecond = try bandwidth.map(OptionBounds.bandwidth.value) ?? described?.rateLimitBytesPerSecond
            if capPausedRound || described?.capsPausedRound == true { request.capPausedRound = true }
            if streams == nil { request.streams = described?.streams }
            if compress == nil { request.compression = described?.compression }
            if postcopyAfter == nil, let postcopy = described?.postcopy {
                switch postcopy {
                case .afterLiveRounds(let rounds): request.postcopyAfter = rounds
                case .insteadOfFallback: request.postcopyOnFallback = true
                case .never: break
                }
            }
            try request.validate()
        } catch {
            throw failure("\(error)")  // an InputBoundError or a HostFailure: one line each
        }
        try applyTLSOptions(to: &request)
        if !host.namesXenDomain(name, xenFlag: xen) {
            do {
                _ = try Endpoint(parsing: target)
            } catch {
                throw failure("\(target): \(error.description)")
            }
        }
        if !validate, let ignored = sets.first(where: { !($0.hasPrefix("policy.") || $0.hasPrefix("migration.")) }) {
            throw failure("--set \(ignored): only policy.* and migration.* keys act on a migration; the others are for --validate's prediction")
        }
        if validate || maxTime != nil || yes {
            guard validate else { throw failure("--max-time and --yes belong to --validate") }
            guard !host.namesXenDomain(name, xenFlag: xen) else { throw failure("--validate: KVM guests only for now (Xen domains: calibrate them, then simulate)") }
            return try runValidated(request, format: format)
        }
        if host.namesXenDomain(name, xenFlag: xen) {
            if request.capPausedRound == true {
                // libxenguest's stream goes through the relay's cap whole: its paused round is
                // always capped, so the flag changes nothing there.
                FileHandle.standardError.write(Data("livemig: --cap-paused-round: a Xen domain's paused round is always capped (the relay paces the whole stream)\n".utf8))
            }
            return try migrateXenDomain(request, to: target, format: format)
        }
        do {
            _ = try Endpoint(parsing: target)
        } catch {
            throw failure("\(target): \(error.description)")
        }
        try runMoving(request, name: name, runDirectory: host.directory, format: format, verbose: verbose)
    }

    /// `--tls`, `--tls-dir`, `--tls-allow`: the files are loaded here once, so that a bad one is
    /// named before the daemon is asked.
    private func applyTLSOptions(to request: inout ControlRequest) throws {
        guard let tls = try tlsOptions.checked() else { return }
        request.tlsDirectory = tls.directory
        request.tlsAllowedPeerNames = tls.allowedPeerNames
    }
}

extension MigrateCommand {
    static let maxTimeBound = InputBound("--max-time", .seconds, from: "1s", to: "86400s")
    static let validationRunsBound = InputBound("--validation-runs", .count, from: "10", to: "100000")

    /// `migrate --validate`: predict, check the limits, migrate, compare.
    func runValidated(_ request: ControlRequest, format: ReportFormat) throws {
        let maxTimeSeconds: Double?
        do {
            maxTimeSeconds = try maxTime.map { text throws(InputBoundError) in
                try DurationOption.seconds(text, bareUnit: .seconds, bound: Self.maxTimeBound)
            }
            _ = try Self.validationRunsBound.check(validationRuns)
        } catch {
            throw failure("\(error)")
        }
        let validation = try MigrationValidation.prepare(name: name, request: request, scenario: scenario, sets: sets, host: host,
                                                         runs: validationRuns)
        let prediction = try validation.predict()
        let summary = prediction.summary
        if format == .table { print(ValidationOutput.prediction(summary, origin: validation.origin), terminator: "") }
        if !MigrationValidation.meets(summary, maxDowntimeSeconds: request.maxDowntimeSeconds, maxTimeSeconds: maxTimeSeconds) {
            var why: [String] = []
            if summary.aborted > 0 { why.append("\(summary.aborted) of \(summary.runs) simulated runs aborted") }
            if let limit = request.maxDowntimeSeconds, summary.downtimeSeconds.p95 > limit {
                why.append(String(format: "p95 downtime %.1f ms > --max-downtime %.1f ms", summary.downtimeSeconds.p95 * 1000, limit * 1000))
            }
            if let limit = maxTimeSeconds, summary.totalTimeSeconds.p95 > limit {
                why.append(String(format: "p95 total time %.2f s > --max-time %.2f s", summary.totalTimeSeconds.p95, limit))
            }
            let others = try validation.alternatives(current: request.policy ?? .xen4, maxDowntimeSeconds: request.maxDowntimeSeconds,
                                                     maxTimeSeconds: maxTimeSeconds)
            let advice = others.isEmpty ? "no other policy meets the limits either"
                : "these would: " + others.map { policy, other in
                    String(format: "--policy %@ (p95 %.2f s, %.1f ms)", policy.rawValue, other.totalTimeSeconds.p95, other.downtimeSeconds.p95 * 1000)
                }.joined(separator: "; ")
            guard yes else {
                if format == .json { print(try ValidationOutput.json(prediction, origin: validation.origin, report: nil)) }
                throw failure("--validate: \(why.joined(separator: ", ")); \(advice). Not migrated (the guest runs here); --yes migrates anyway")
            }
            FileHandle.standardError.write(Data("livemig: --validate: \(why.joined(separator: ", ")); migrating anyway (--yes)\n".utf8))
        }
        var calibrated = request
        calibrated.expectedDirtying = try validation.expectedDirtying()
        let report = try moveGuest(calibrated, name: name, runDirectory: host.directory, verbose: verbose)
        switch format {
        case .json:
            print(try ValidationOutput.json(prediction, origin: validation.origin, report: report))
        default:
            print(ReportRendering.render(report, as: .table, title: "\(name) -> \(request.target ?? "")"), terminator: "")
            print(ValidationOutput.comparison(summary, report: report), terminator: "")
        }
        if report.outcome == .aborted { throw ExitCode.failure }
    }

    /// `migrate --cancel NAME`: asks the guest's daemon to stop its migration before it commits.
    func cancelMigration() throws {
        if target != nil { throw failure("migrate --cancel takes only the guest's name") }
        try Self.cancelMigration(of: name, host: host, xen: xen)
    }

    /// `migrate --cancel` and `job --cancel`: stops the migration of `name` unless it committed.
    static func cancelMigration(of name: String, host: RunDirectoryOption, xen: Bool) throws {
        if host.namesXenDomain(name, xenFlag: xen) {
            do {
                try XenMigrationRegistration.interrupt(name: name, in: host.directory)
            } catch {
                throw failure(error.description)
            }
            print("cancel sent to the migration of \(name); unless it had committed, the domain runs here")
            return
        }
        do {
            _ = try host.directory.ask(name, ControlRequest(command: .cancel))
        } catch {
            throw failure("\(name): \(error.description)")
        }
        print("migration of \(name) cancelled; the guest runs here")
    }
}

/// Sends a migrate or save request to a guest's daemon, shows progress, prints the report.
func runMoving(_ request: ControlRequest, name: String, runDirectory: RunDirectory, format: ReportFormat, verbose: Bool) throws {
    let report = try moveGuest(request, name: name, runDirectory: runDirectory, verbose: verbose)
    print(ReportRendering.render(report, as: format, title: format == .table ? "\(name) -> \(request.target ?? request.file ?? "")" : nil),
          terminator: "")
    if report.outcome == .aborted { throw ExitCode.failure }
}

/// Sends a migrate or save request to a guest's daemon, shows progress, returns the report.
func moveGuest(_ request: ControlRequest, name: String, runDirectory: RunDirectory, verbose: Bool) throws -> MigrationReport {
    let connection: ControlConnection
    do {
        connection = try runDirectory.connect(to: name)
        try connection.send(request)
    } catch {
        throw failure("guest '\(name)' is not running on this host (\(error.description))")
    }
    let showProgress = verbose || isatty(2) != 0
    while true {
        let reply: ControlReply?
        do {
            reply = try connection.receive(ControlReply.self)
        } catch {
            throw failure("guest '\(name)': \(error.description)")
        }
        guard let reply else { throw failure("guest '\(name)': the daemon went away without a report") }
        if let error = reply.error { throw failure(error) }
        if let progress = reply.progress {
            if showProgress {
                let line = String(format: "\r  iteration %d  sent %.1f MiB  remaining %.1f MiB  %.1f MB/s  expected downtime %.0f ms  ETA %.1f s ",
                                  progress.iteration, progress.bytesSent / 1_048_576, progress.pagesPending * 4096 / 1_048_576,
                                  progress.bytesPerSecond / 1e6, progress.expectedDowntimeSeconds * 1000, progress.etaSeconds)
                FileHandle.standardError.write(Data(line.utf8))
            }
            continue
        }
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        guard let report = reply.report else { continue }
        return report
    }
}

/// `livemig save NAME FILE`: like `virsh save`: the guest is paused, written to FILE, and stopped.
struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "save", abstract: "Save a guest to a file and stop it (virsh save).")
    @Argument(help: "The guest's name.") var name: String
    @Argument(help: "The file to write.") var file: String
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Save a Xen domain, in xl's savefile format (the default on a Xen host for a name livemig's KVM daemons do not run); an error elsewhere.") var xen = false

    func run() throws {
        guard let format = ReportFormat(rawValue: format), format != .csv else { throw failure("--format \(format): table or json") }
        let path = absolutePath(file)
        if host.namesXenDomain(name, xenFlag: xen) {
            let report: MigrationReport
            do {
                report = try XenSaveFile.save(domain: name, on: try XenHost(), to: path)
            } catch {
                throw failure(error.description)
            }
            print(ReportRendering.render(report, as: format, title: format == .table ? "\(name) -> \(path) (Xen)" : nil), terminator: "")
            return
        }
        var request = ControlRequest(command: .save)
        request.file = path
        try runMoving(request, name: name, runDirectory: host.directory, format: format, verbose: false)
    }
}

/// `livemig restore FILE`: like `virsh restore`: runs the saved guest again, under its name.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Run a saved guest again (virsh restore).")
    @Argument(help: "A file written by `livemig save`.") var file: String
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        let runDirectory = host.directory
        if XenSaveFile.isXlSavefile(file) {
            do {
                let restored = try XenSaveFile.restore(from: file, on: try XenHost())
                print("domain \(restored.name) restored: id \(restored.id)")
                return
            } catch {
                throw failure(error.description)
            }
        }
        do {
            let name = try savedGuestName(file)
            try runDirectory.create()
            try runDirectory.refuseRunningGuest(name)
            let path = absolutePath(file)
            let pid = try DaemonSpawner.spawn(arguments: ["guest", "daemon", "--restore", path, "--run-dir", runDirectory.path],
                                              logPath: runDirectory.daemonLog(name))
            let status = try DaemonSpawner.waitUntilServing(name, pid: pid, in: runDirectory, seconds: 60)
            print("guest \(name) restored: pid \(status.processID), \(status.memoryBytes >> 20) MiB")
        } catch {
            throw failure(error.description)
        }
    }

    /// The guest's name from the saved stream's layout record.
    private func savedGuestName(_ path: String) throws(HostFailure) -> String {
        let file = try BlockingSocket.file(path: path, write: false)
        var decoder = StreamDecoder(direction: .sourceToDestination)
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { (try? file.read(into: $0)) ?? 0 }
        decoder.feed(chunk[0 ..< count])
        do {
            guard case .guestLayout(let layout)? = try decoder.nextRecord() else {
                throw HostFailure("\(path): not a saved guest (no guest layout at the start)")
            }
            return layout.name
        } catch let error as StreamError {
            throw HostFailure("\(path): not a saved guest: \(error.description)")
        } catch {
            throw error as! HostFailure
        }
    }
}
