/// Input the engine did not ask for, delivered with `SourceMigration.handle(_:now:)`: an
/// operator's cancel or new limit arriving while the migration runs (QEMU's `migrate_cancel`
/// and `migrate-set-parameters`, libvirt's `virsh domjobabort`, `migrate-setspeed` and
/// `migrate-setmaxdowntime`).
public enum SourceEvent: Sendable, Equatable {
    /// Stop the migration and run the guest on the source again; refused once the destination
    /// may have been told to run it (`CommitPoint.clearanceSent`). `reason` names who asked.
    case cancel(reason: String)
    /// A new bandwidth cap from now on, bytes per second; nil lifts the cap.
    case setRateLimit(bytesPerSecond: Double?)
    /// A new downtime limit for the policy's convergence test, seconds.
    case setDowntimeLimit(seconds: Double)
    /// The transport compressed a batch: `dataBytes` of pages became a frame of `frameBytes`
    /// (as many as the data when it did not shrink) in `seconds` of its thread's time. What
    /// the engine's compression choice learns from (`EngineSettings.compression`).
    case compressionMeasured(dataBytes: Double, frameBytes: Double, seconds: Double)
    /// Post-copy: the destination's guest touched these pages and lacks them; they go before
    /// any other page (QEMU's return path `MIG_RP_MSG_REQ_PAGES`). Refused outside post-copy.
    case pagesRequested(PageRequest)
}

/// The engine's answer to an event: taken, or refused with a sentence naming why.
public enum SourceEventAnswer: Sendable, Equatable {
    case accepted
    case refused(String)
}
