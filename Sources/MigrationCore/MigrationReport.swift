/// One pass over guest memory, as every report lists it.
public struct IterationReport: Sendable, Codable, Equatable {
    /// 1 is the first full pass.
    public var index: Int
    public var pagesSent: Int
    /// Pages passed over because they were dirtied again during the pass (Xen 3's skip rule).
    public var pagesSkipped: Int
    /// Pages the guest dirtied during the pass (found by the dirty-log read that followed it).
    public var pagesDirtied: Int
    public var startSeconds: Double
    public var durationSeconds: Double
    /// True for the final pass, sent with the guest paused.
    public var paused: Bool
    /// True for post-copy's pass, sent after the guest ran on the destination; nil otherwise.
    public var postcopy: Bool?

    public init(index: Int, pagesSent: Int, pagesSkipped: Int, pagesDirtied: Int,
                startSeconds: Double, durationSeconds: Double, paused: Bool) {
        self.index = index
        self.pagesSent = pagesSent
        self.pagesSkipped = pagesSkipped
        self.pagesDirtied = pagesDirtied
        self.startSeconds = startSeconds
        self.durationSeconds = durationSeconds
        self.paused = paused
    }
}

/// What a migration did: produced alike by the simulator and the real executors.
public struct MigrationReport: Sendable, Codable, Equatable {
    public var outcome: MigrationOutcome
    /// Why pre-copy stopped, or why the migration was aborted.
    public var reason: String
    public var policy: String
    /// The scenario simulated, or the guest migrated.
    public var scenario: String?
    /// The simulator's seed; `nil` for a real migration.
    public var seed: UInt64?
    /// `page` or `fluid` for a simulation; `nil` for a real migration.
    public var fidelity: String?
    public var live: Bool
    /// From the start of the migration to the guest running on the destination (or, when
    /// aborted, to the source running again).
    public var totalTimeSeconds: Double
    /// From the pause on the source to the guest running on the destination.
    public var downtimeSeconds: Double
    public var bytesSent: Int
    public var pagesSent: Int
    public var guestPages: Int
    public var pageSizeBytes: Int
    /// The highest guest CPU throttle applied (QEMU auto-converge), in percent.
    public var maxThrottlePercent: Int
    /// Every pass that sent at least one page, and always the final paused pass.
    public var iterations: [IterationReport]
    /// A real migration's wall-clock measurements; `nil` in a simulation.
    public var measured: WallClockMeasurements?
    /// A real migration with `--verify-memory`: true when the destination said "ready" after
    /// the source's digest had gone, which a livemig receiver does only once its memory equals
    /// the source's at the pause (a receiver without the record refuses the stream); `nil` when
    /// not asked.
    public var memoryVerified: Bool?
    /// True when a failure after the clearance may have left (`CommitRules.leaveSourcePaused`)
    /// left the source's guest paused, neither resumed nor destroyed, for the operator to check
    /// the destination and resume it (`guest resume --force`); `nil` otherwise.
    public var sourceLeftPaused: Bool?
    /// Where the pause went, by the source's clock; `nil` for a migration that never paused
    /// or did not reach "running".
    public var pausePhases: PausePhases?
    /// The pause's fixed part the engine planned with (`EngineSettings.pauseOverheadSeconds`):
    /// the default, the scenario's costs, or what past migrations on the path measured
    /// (`MeasuredPauseOverhead`); policies that budget the pause took it off their limit.
    public var pauseOverheadBudgetSeconds: Double?
    /// Pages of those sent that went as zero-page markers (8 bytes each instead of the page),
    /// as the transport found them (a real migration) or the model has them (`guest.zeroShare`);
    /// `nil` when none could be (zero-page detection off, or no zero memory in the scenario).
    public var zeroPagesSent: Int?
    /// The data streams that carried the pages beside the main connection (`--streams N`, or the
    /// scenario's `migration.streams`); `nil` for the main connection alone.
    public var dataStreams: Int?
    /// Page data before compression over the frames' bytes, of the batches that went compressed
    /// (`--compress zstd`) or as XBZRLE deltas (`--compress xbzrle`); `nil` when none did.
    public var compressionRatio: Double?
    /// Pages of those sent that went as XBZRLE deltas against the copy sent before
    /// (`--compress xbzrle`); `nil` when none did.
    public var deltaPagesSent: Int?
    /// What post-copy did (`EngineSettings.postcopy`); nil when the migration never handed over.
    public var postcopy: PostcopyReport?
    /// A simulation's operator events (`events:`) the engine refused, each with its time and
    /// the engine's reason (a cancel after the clearance); nil when none was refused.
    public var refusedEvents: [String]?

    public init(outcome: MigrationOutcome, reason: String, policy: String, live: Bool,
                totalTimeSeconds: Double, downtimeSeconds: Double, bytesSent: Int, pagesSent: Int,
                guestPages: Int, pageSizeBytes: Int, maxThrottlePercent: Int, iterations: [IterationReport]) {
        self.outcome = outcome
        self.reason = reason
        self.policy = policy
        self.live = live
        self.totalTimeSeconds = totalTimeSeconds
        self.downtimeSeconds = downtimeSeconds
        self.bytesSent = bytesSent
        self.pagesSent = pagesSent
        self.guestPages = guestPages
        self.pageSizeBytes = pageSizeBytes
        self.maxThrottlePercent = maxThrottlePercent
        self.iterations = iterations
    }

    /// Live passes (the paused one and post-copy's not counted).
    public var liveIterationCount: Int { iterations.filter { !$0.paused && $0.postcopy != true }.count }
}
