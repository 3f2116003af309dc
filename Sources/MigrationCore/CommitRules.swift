/// The source's commit rules, once for every backend: where a failure at each point of a
/// migration leaves the guest. `SourceMigration` (KVM and the simulator) and the Xen sender,
/// which lets libxenguest run the rounds but commits through these rules, both ask here, so a
/// guest is never lost and never runs twice whichever hypervisor carries it.
///
/// The rules are xl's (`migrate_domain` and `migrate_receive` in Xen's `tools/xl/xl_migrate.c`):
/// until the destination has been cleared to run the guest, the source resumes it; once the
/// clearance may have reached the destination, only the destination's word that its copy is
/// gone ("permission to go" sent back after a failed unpause and a successful destroy) lets the
/// source resume; without that word the source stays paused, never destroyed, for the operator
/// (`livemig guest resume`, which asks the destination first).
///
/// The destination's half is `DestinationMigration`: its abort returns `destroyGuest` before
/// `reportAbort`, and its drivers perform actions in order and stop at the first that fails, so
/// a destination tells the source to resume only once its own copy is gone.
public enum CommitPoint: String, Sendable, CaseIterable {
    /// Before any guest state left: the handshake. The guest was never paused.
    case handshake
    /// The rounds (live and paused), the device state, the end of the stream and the wait for
    /// the destination's "ready".
    case transfer
    /// The clearance to run was not sent: a cancel (or `--max-downtime`) came first.
    case clearanceWithheld
    /// The clearance was sent, or may have been (its write failed part way): the destination
    /// may run the guest. Waiting for "running".
    case clearanceSent
    /// After the clearance the destination said it could not run the guest and that its copy
    /// is destroyed.
    case destinationReleasedGuest
    /// Post-copy: the destination runs the guest, and the source holds the pages it still lacks
    /// (the hand-over, `SourceAction.startPostcopy`, has been answered "running").
    case postcopy
    /// The destination runs the guest; destroying the source's copy failed.
    case sourceDestroy
}

/// What a failure at a `CommitPoint` means for the source's copy of the guest.
public enum CommitVerdict: String, Sendable, Equatable {
    /// The destination never had the right to run the guest, or gave it back: run it here.
    case resumeSource
    /// The destination may be running it: keep the source paused and never destroy it.
    case leaveSourcePaused
    /// The guest runs on the destination: the migration succeeded; the source's leftover copy
    /// (paused, never run again) is reported.
    case destinationOwnsGuest
}

public enum CommitRules {
    /// The verdict for a failure at `point`.
    public static func verdict(onFailureAt point: CommitPoint) -> CommitVerdict {
        switch point {
        case .handshake, .transfer, .clearanceWithheld, .destinationReleasedGuest: .resumeSource
        // In post-copy the destination's guest has run on, so the source's copy is stale; and
        // the source holds pages the destination lacks, so it is not destroyed either.
        case .clearanceSent, .postcopy: .leaveSourcePaused
        case .sourceDestroy: .destinationOwnsGuest
        }
    }

    /// What the report says after a `leaveSourcePaused` verdict.
    public static func leftPausedReason(_ failure: String) -> String {
        "connection lost after clearing the destination to run (\(failure)); the source guest is left paused, not destroyed: check the destination before resuming it (livemig guest resume)"
    }

    /// What the report says when post-copy is cut short (docs/postcopy.md).
    public static func postcopyInterruptedReason(_ failure: String) -> String {
        "post-copy was cut short after the guest ran on the destination (\(failure)); the source guest is left paused with the pages the destination lacks, never resumed (the destination's copy has run on) and never destroyed; the destination holds its copy paused: see docs/postcopy.md"
    }

    /// What the report says after the destination released the guest.
    public static func releasedReason(_ destinationReason: String) -> String {
        "the destination could not run the guest and destroyed its copy (\(destinationReason)); the guest resumes here"
    }
}
