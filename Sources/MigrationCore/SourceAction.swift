/// Names one action the engine handed out (`SourceMigration.poll(now:)`), so that its end can be
/// reported by name (`complete(_:_:now:)`) even when several are out at once.
public struct ActionID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    @inlinable public init(_ value: UInt64) { self.value = value }
    public var description: String { "#\(value)" }
}

/// An action and the name its end is reported by.
public struct TaggedAction<Batch> {
    public let id: ActionID
    public let action: SourceAction<Batch>

    @inlinable
    public init(id: ActionID, action: SourceAction<Batch>) {
        self.id = id
        self.action = action
    }
}

/// What the engine asks its driver to do next on the source host. The driver starts what
/// `SourceMigration.poll(now:)` hands out, up to `EngineSettings.maxActionsInFlight` at once,
/// and reports each one's end with `SourceMigration.complete(_:_:now:)`.
public enum SourceAction<Batch> {
    /// Turn on the hypervisor's dirty-page logging (Xen log-dirty mode, KVM
    /// `KVM_MEM_LOG_DIRTY_PAGES`). Completes with `.done`.
    case enableDirtyLogging
    /// Read the dirty log without clearing it (Xen's `SHADOW_OP_PEEK`). Completes with `.dirtyLog`.
    case peekDirtyLog
    /// Read and clear the dirty log (Xen's `SHADOW_OP_CLEAN`, `KVM_GET_DIRTY_LOG`). Completes with `.dirtyLog`.
    case readAndClearDirtyLog
    /// Copy these pages to the destination. Completes once the transport took them: with
    /// `.sent(bytes:)` when it says what they took on the wire, else `.done` (then `wireBytes`).
    case send(Batch, pageCount: Double, wireBytes: Double)
    /// Do nothing until this time (the bandwidth cap). Completes with `.done`.
    case waitUntil(seconds: Double)
    /// Slow the guest's vCPUs to `percent` % (0 lifts the throttle). Completes with `.done`.
    case throttleGuest(percent: Int)
    /// Pause the guest's vCPUs on the source. Completes with `.done`.
    case pauseGuest
    /// Capture vCPU and device state and send it. Completes with `.sent(bytes:)`.
    case sendDeviceState
    /// Send the end of the stream and wait for the destination to say it holds the whole guest
    /// ("ready to unpause"). Completes with `.done` when it has said so.
    case awaitDestinationReady
    /// Tell the destination it may run the guest ("cleared to unpause") and wait until it runs.
    /// Completes with `.done`, or `.released` when the destination gave the guest back.
    case clearDestinationToRun
    /// Post-copy's hand-over, after the device state: name the pages the destination lacks
    /// (`missing`, `pageCount` of them; it fetches each on the guest's touch) and clear it to
    /// run the guest without them. The commit point, as `clearDestinationToRun` is: completes
    /// with `.done` once the guest runs there, `.released` when the destination could not run
    /// it and destroyed its copy. The pages follow as `send`s, then `awaitDestinationReady`
    /// waits for the destination to hold them all.
    case startPostcopy(missing: Batch, pageCount: Double)
    /// Destroy the source's copy of the guest; only ever after the destination runs it.
    case destroySource
    /// Turn dirty logging off again on the abort path. Completes with `.done`.
    case disableDirtyLogging
    /// Run the source guest again on the abort path. Completes with `.done`.
    case resumeSource
    /// Nothing more to do. Indirect: the report is ten times the size of every other case,
    /// and an action is copied at every step (boxed, it cost a simulated step 230-byte copies).
    indirect case finished(MigrationReport)
}

/// How an action ended, as the driver reports it.
public enum ActionOutcome<DirtyLog> {
    case done
    case dirtyLog(DirtyLog)
    case sent(bytes: Double)
    /// The action failed (transport broken, hypervisor call refused): a sentence naming what.
    case failed(String)
    /// The driver did not start the action at all, so it had no effect (a cancel that came
    /// first): a sentence naming why. For `clearDestinationToRun` this is what lets the source
    /// resume: the destination was never cleared, unlike after a `failed` clear.
    case notPerformed(String)
    /// `clearDestinationToRun` only: the destination could not run the guest and said its copy
    /// is destroyed (a sentence naming why), so the source may run it again
    /// (`CommitPoint.destinationReleasedGuest`).
    case released(String)
}
