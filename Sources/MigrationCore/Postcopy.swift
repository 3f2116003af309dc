/// Post-copy: the guest runs on the destination before it holds all its pages, and fetches each
/// missing page from the source when it touches it, while the source pushes the rest in the
/// background (QEMU's postcopy-ram, `migrate-start-postcopy`; Hines and Gopalan, "Post-copy
/// based live virtual machine migration using adaptive pre-paging and dynamic self-ballooning",
/// VEE 2009). Where pre-copy cannot converge, it bounds the downtime by the device state and
/// the dirty-page list instead of by the pages still dirty, at the price of the guest's page
/// faults over the link afterwards.

/// When the engine hands a migration over to post-copy.
public enum PostcopySwitch: Sendable, Equatable {
    /// Never: a pre-copy that does not converge falls back to an offline copy (Xen's way).
    case never
    /// Instead of an offline fallback: when the policy gives up on convergence, the guest runs
    /// on the destination at once rather than staying paused for the rest of the copy (the
    /// hybrid that libvirt's `--postcopy` with `--postcopy-after-precopy` aims at).
    case insteadOfFallback
    /// After this many live rounds, unless the policy has converged or given up before
    /// (`migrate --postcopy-after N`; libvirt's `--postcopy-after-precopy` is N = 1). A give-up
    /// before round N goes post-copy too.
    case afterLiveRounds(Int)

    /// The most live rounds `afterLiveRounds` may name (Xen's own limit is 30 rounds).
    public static let maxLiveRounds = 1000

    /// Whether a policy's stop becomes a hand-over.
    func replacesFallback(_ stop: PrecopyStop) -> Bool {
        self != .never && stop.outcome == .offlineFallback
    }
}

/// Pages the destination's guest touched and lacks, which the source sends before any other
/// (`SourceEvent.pagesRequested`). A real destination names them (`pages`); the fluid
/// simulator's pages have no identity, so it gives only `count`.
public struct PageRequest: Sendable, Equatable {
    public var pages: [Int]
    public var count: Double

    /// Pages named by number.
    public init(pages: [Int]) {
        self.pages = pages
        count = Double(pages.count)
    }

    /// Pages counted, not named (the fluid simulator).
    public init(count: Double) {
        pages = []
        self.count = count
    }
}

/// What post-copy did, in the report.
public struct PostcopyReport: Sendable, Codable, Equatable {
    /// Seconds from the start of the migration to the guest running on the destination with
    /// pages missing (the hand-over).
    public var startSeconds: Double
    /// Seconds from the hand-over to the destination holding every page.
    public var durationSeconds: Double
    /// Pages the destination lacked at the hand-over.
    public var pagesMissingAtStart: Int
    /// Pages sent after the hand-over, requested or pushed.
    public var pagesSent: Int
    /// Requests from the destination (`SourceEvent.pagesRequested`), and the pages they named
    /// that the source still had to send (the rest were on their way already).
    public var requests: Int
    public var pagesRequested: Int
    /// The guest's page faults on missing pages, as the destination counted them (a real
    /// migration) or the model has them; nil when nobody counted.
    public var faults: Int?
    /// The time from a fault to its page in the guest: mean and worst, seconds.
    public var faultLatencyMeanSeconds: Double?
    public var faultLatencyMaxSeconds: Double?
    /// The share of the post-copy time the guest's vCPUs spent waiting for pages (the
    /// simulator's degradation estimate); nil for a real migration.
    public var guestStallShare: Double?

    public init(startSeconds: Double, durationSeconds: Double, pagesMissingAtStart: Int, pagesSent: Int, requests: Int, pagesRequested: Int) {
        self.startSeconds = startSeconds
        self.durationSeconds = durationSeconds
        self.pagesMissingAtStart = pagesMissingAtStart
        self.pagesSent = pagesSent
        self.requests = requests
        self.pagesRequested = pagesRequested
    }
}

/// The engine's post-copy books, from the moment the hand-over is handed out.
struct PostcopyProgress {
    /// When the destination said the guest runs with pages missing (nil until it has).
    var runningAtSeconds: Double?
    /// The pause's phases up to the hand-over (the report's, once post-copy completes).
    var pausePhases: PausePhases?
    var pagesMissingAtStart: Double
    var requests = 0
    var pagesRequested = 0.0
}
