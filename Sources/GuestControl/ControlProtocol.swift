import MigrationCore
import MigrationExecutor

/// A request on a guest's control socket: one JSON object on one line.
public struct ControlRequest: Codable, Sendable {
    public enum Command: String, Codable, Sendable { case status, console, stop, migrate, save, observe, cancel, resume, measureCosts, job }

    public var command: Command
    /// console: how many of the last lines.
    public var lines: Int?
    /// migrate: HOST[:PORT] of a `livemig receive`.
    public var target: String?
    /// migrate: false for an offline migration.
    public var live: Bool?
    public var policy: PolicyName?
    public var downtimeLimitSeconds: Double?
    public var timeoutSeconds: Double?
    public var rateLimitBytesPerSecond: Double?
    /// migrate: the cap also paces the paused round (`--cap-paused-round`; default: line rate).
    public var capPausedRound: Bool?
    public var autoConverge: Bool?
    /// migrate: QEMU's dirty limit, pages per second (`--dirty-limit`).
    public var dirtyLimitPagesPerSecond: Double?
    public var fallbackRounds: Int?
    /// migrate: resume here if the destination is not cleared this long after the pause.
    public var maxDowntimeSeconds: Double?
    /// migrate: send a digest of the paused guest's memory; the destination checks its copy
    /// against it before "ready" (adds the digest's time to the pause).
    public var verifyMemory: Bool?
    /// migrate: false sends zero pages whole instead of as `zeroPages` markers (`--no-zero-pages`).
    public var zeroPages: Bool?
    /// migrate: the connections that carry the pages (`--streams`; 1, the default, is the main
    /// connection alone; 2 to 16 are data streams beside it).
    public var streams: Int?
    /// migrate: "zstd" compresses each batch's page data, "auto" lets the engine choose round by
    /// round (`--compress`); nil or "none": no compression.
    public var compression: String?
    /// migrate: post-copy after this many live rounds (`--postcopy-after N`; a policy's give-up
    /// before then hands over too); with `postcopyOnFallback`, instead of an offline fallback.
    /// nil: pre-copy only.
    public var postcopyAfter: Int?
    public var postcopyOnFallback: Bool?
    /// job: a new downtime limit for the migration under way (`job --set downtimeLimit=`).
    public var jobDowntimeLimitSeconds: Double?
    /// job: a new bandwidth cap for the migration under way (`job --set bandwidth=`).
    public var jobRateLimitBytesPerSecond: Double?
    /// job: lift the migration's bandwidth cap (`job --set bandwidth=none`).
    public var jobLiftRateLimit: Bool?
    /// resume: run the guest even though its destination could not be asked.
    public var force: Bool?
    /// migrate: mutual TLS with the files in this directory (docs/tls.md).
    public var tlsDirectory: String?
    /// migrate: with TLS, the destination certificate names accepted besides the target's own.
    public var tlsAllowedPeerNames: [String]?

    /// The TLS configuration a migrate request asks for, if any.
    public var tlsConfiguration: TLSConfiguration? {
        tlsDirectory.map { TLSConfiguration(directory: $0, allowedPeerNames: tlsAllowedPeerNames ?? []) }
    }
    /// save, observe: the file to write.
    public var file: String?
    /// observe: how long, and how often to read the dirty log.
    public var seconds: Double?
    public var intervalSeconds: Double?
    /// migrate: the whole policy setting (every `policy.*` key a scenario holds), when the
    /// command line had one from `--scenario` or `--set`; it takes the place of `policy`,
    /// `downtimeLimitSeconds`, `timeoutSeconds`, `autoConverge`, `dirtyLimitPagesPerSecond` and
    /// `fallbackRounds`.
    public var policySettings: PolicyConfiguration?
    /// migrate: the dirtying a calibration expects (`migrate --validate`), for the progress
    /// display's estimate before the first dirty-log read.
    public var expectedDirtying: [RemainingMigrationEstimate.DirtyClass]?

    public init(command: Command) { self.command = command }

    /// migrate: the policy setting asked for, the one mapping every sender of a migration uses
    /// (the KVM daemon, the Xen path, `--validate`'s prediction): the whole setting when the
    /// request carries one, else the one its separate fields make.
    public var policyConfiguration: PolicyConfiguration {
        policySettings ?? PolicyConfiguration(name: policy ?? .xen4, downtimeLimitSeconds: downtimeLimitSeconds,
                                              autoConverge: autoConverge ?? false, dirtyLimitPagesPerSecond: dirtyLimitPagesPerSecond,
                                              timeoutSeconds: timeoutSeconds,
                                              fallbackRounds: fallbackRounds)
    }
}

/// What `livemig list` shows of a guest.
public struct GuestStatus: Codable, Sendable, Equatable {
    public var name: String
    /// running, paused, migrating, stopped (the vCPU stopped on its own)
    public var state: String
    public var memoryBytes: Int
    public var workload: String
    public var uptimeSeconds: Double
    public var heartbeats: UInt64
    public var pageWrites: UInt64
    /// Page writes per second the built-in guest program achieved since this daemon took the
    /// guest, by its own count (nil for a firmware image): the workload says what was asked.
    public var achievedWritesPerSecond: Double?
    public var processID: Int32
    public var consoleLog: String
}

/// What `livemig observe` found: the trace is in `file`.
public struct ObservationSummary: Codable, Sendable, Equatable {
    public var file: String
    public var seconds: Double
    public var reads: Int
    /// Pages dirtied at least once in the whole observation.
    public var distinctPages: Int
    /// Dirty pages per second: over the whole observation (each read's pages summed), and the
    /// highest of any one interval.
    public var meanPagesPerSecond: Double
    public var peakPagesPerSecond: Double
    public var pageSizeBytes: Int
    public var guestPages: Int
    /// Pages all zero at the end of the observation (a migration sends them as markers); nil
    /// where migrations send every page whole.
    public var zeroPages: Int?

    public init(file: String, seconds: Double, reads: Int, distinctPages: Int, meanPagesPerSecond: Double,
                peakPagesPerSecond: Double, pageSizeBytes: Int, guestPages: Int) {
        self.file = file
        self.seconds = seconds
        self.reads = reads
        self.distinctPages = distinctPages
        self.meanPagesPerSecond = meanPagesPerSecond
        self.peakPagesPerSecond = peakPagesPerSecond
        self.pageSizeBytes = pageSizeBytes
        self.guestPages = guestPages
    }
}

/// One progress line of a migration, as the source's daemon sends it while migrating.
public struct ProgressLine: Codable, Sendable {
    public var elapsedSeconds: Double
    public var iteration: Int
    public var bytesSent: Double
    public var pagesPending: Double
    public var bytesPerSecond: Double
    public var expectedDowntimeSeconds: Double
    public var etaSeconds: Double
}

/// A reply on a guest's control socket: one JSON object per line; a migration sends progress
/// lines, then one with `report` (or `error`).
public struct ControlReply: Codable, Sendable {
    public var status: GuestStatus?
    public var console: [String]?
    public var progress: ProgressLine?
    public var report: MigrationReport?
    public var observation: ObservationSummary?
    public var costs: MeasuredHostCosts?
    public var error: String?
    public var ok: Bool?
    /// job: the migration under way.
    public var job: JobInfo?

    public init(status: GuestStatus? = nil, console: [String]? = nil, progress: ProgressLine? = nil,
                report: MigrationReport? = nil, observation: ObservationSummary? = nil, costs: MeasuredHostCosts? = nil,
                error: String? = nil, ok: Bool? = nil) {
        self.observation = observation
        self.costs = costs
        self.status = status
        self.console = console
        self.progress = progress
        self.report = report
        self.error = error
        self.ok = ok
    }
}
