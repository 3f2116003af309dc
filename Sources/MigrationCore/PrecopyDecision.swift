/// How a migration ended, as every report states it.
public enum MigrationOutcome: String, Sendable, Codable, Equatable {
    /// The policy's convergence condition stopped pre-copy (few dirty pages, pending bytes
    /// within the downtime budget).
    case converged
    /// A limit stopped pre-copy (iterations, bytes sent, time) or the non-convergence detector
    /// gave up on live migration: the guest was paused and the rest sent offline.
    case offlineFallback
    /// Pre-copy stopped without converging (a limit, the non-convergence detector, or
    /// `--postcopy-after N` rounds) and, instead of an offline copy, the guest ran on the
    /// destination while the pages it still lacked followed (`EngineSettings.postcopy`).
    case postcopy
    /// The migration did not complete; the source guest kept (or got back) its place.
    case aborted
}

/// Why pre-copy stopped: which outcome it leads to and a sentence for the report.
public struct PrecopyStop: Sendable, Equatable {
    public var outcome: MigrationOutcome
    public var reason: String
    /// Xen 4's `send_memory_live` still sends the pages it found dirty once more, live, after the
    /// policy said stop-and-copy at the top of its loop; only then does it suspend the guest.
    public var sendDirtyPagesLiveFirst: Bool

    public init(outcome: MigrationOutcome, reason: String, sendDirtyPagesLiveFirst: Bool = false) {
        self.outcome = outcome
        self.reason = reason
        self.sendDirtyPagesLiveFirst = sendDirtyPagesLiveFirst
    }

    public static func converged(_ reason: String, sendDirtyPagesLiveFirst: Bool = false) -> PrecopyStop {
        PrecopyStop(outcome: .converged, reason: reason, sendDirtyPagesLiveFirst: sendDirtyPagesLiveFirst)
    }

    public static func fallback(_ reason: String) -> PrecopyStop {
        PrecopyStop(outcome: .offlineFallback, reason: reason)
    }

    /// Pre-copy hands over to post-copy (`EngineSettings.postcopy`).
    public static func postcopy(_ reason: String) -> PrecopyStop {
        PrecopyStop(outcome: .postcopy, reason: reason)
    }
}

/// A policy's answer, mirroring Xen's `XGS_POLICY_ABORT` (-1), `XGS_POLICY_CONTINUE_PRECOPY` (0)
/// and `XGS_POLICY_STOP_AND_COPY` (1) in `tools/include/xenguest.h`.
public enum PrecopyDecision: Sendable, Equatable {
    case continuePrecopy
    case stopAndCopy(PrecopyStop)
    case abort(reason: String)
}

/// A policy's answer between two batches of a live round.
public enum BatchCheckpoint: Sendable, Equatable {
    case keepSending
    /// End the round now: read the dirty log and merge it into the pages still pending
    /// (QEMU syncs the bitmap when its pending estimate falls under the threshold).
    case syncDirtyLogNow
    /// Pause the guest now; the pages still pending go into the final, paused round.
    case stopAndCopy(PrecopyStop)
}
