/// A failure of a host operation: a sentence naming what failed.
public struct HostFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The source hypervisor as the engine's actions need it. Implemented by the simulator's
/// simulated host and by the real backends (KVM, Xen); requirements are called one at a time,
/// from one thread, in the order the engine asks for them.
///
/// - Buffers: a dirty log returned belongs to the caller; the host must not change it later.
/// - Retries: none. A thrown `HostFailure` is final for that operation; the engine then takes
///   its abort path, which calls `disableDirtyLogging` and `resumeGuest` at most once each.
public protocol SourceHypervisor {
    associatedtype DirtyLog
    /// The serialized vCPU and device state (a blob for real hosts, a size for the simulator).
    associatedtype DeviceState: DeviceStateSize
    mutating func enableDirtyLogging() throws(HostFailure)
    mutating func disableDirtyLogging() throws(HostFailure)
    /// The pages dirtied since the last clear, without clearing (Xen's `SHADOW_OP_PEEK`).
    mutating func peekDirtyLog() throws(HostFailure) -> DirtyLog
    /// The pages dirtied since the last clear, clearing them (`SHADOW_OP_CLEAN`).
    mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyLog
    mutating func setThrottle(percent: Int) throws(HostFailure)
    mutating func pauseGuest() throws(HostFailure)
    mutating func resumeGuest() throws(HostFailure)
    /// vCPU and device state, captured while the guest is paused; its size goes into the report.
    mutating func captureDeviceState() throws(HostFailure) -> DeviceState
    mutating func destroyGuest() throws(HostFailure)
}

/// The stream to the destination as the engine's actions need it.
public protocol MigrationChannel {
    associatedtype Batch
    associatedtype DeviceState
    /// Sends a batch the engine expects to take `wireBytes` on the wire; returns the bytes it
    /// actually took (fewer when some pages went as zero-page markers), which the engine
    /// counts and paces by.
    mutating func sendPages(_ batch: Batch, pageCount: Double, wireBytes: Double) throws(HostFailure) -> Double
    mutating func sendDeviceState(_ state: DeviceState) throws(HostFailure)
    /// Just before the guest is paused: waits (boundedly) until the destination has read what
    /// was sent, so that the paused round does not queue behind live rounds' pages still in
    /// the sockets' buffers (those milliseconds would be downtime; spent here, the guest still
    /// runs). A channel whose sends complete on delivery (the simulator's) has nothing to wait for.
    mutating func drainBeforePause() throws(HostFailure)
    /// Sends the end of the stream and blocks until the destination says "ready to unpause".
    mutating func finishStreamAndAwaitReady() throws(HostFailure)
    /// Sends "cleared to unpause" and blocks until the destination says the guest runs, or
    /// that it could not run it and destroyed its copy.
    mutating func clearToRunAndAwaitRunning() throws(HostFailure) -> ClearanceAnswer
    /// Post-copy's hand-over (`SourceAction.startPostcopy`): names the pages the destination
    /// lacks, clears it to run the guest without them, and blocks until it says the guest runs
    /// (or that it could not run it and destroyed its copy). From then on the destination's
    /// page requests reach the engine as `SourceEvent.pagesRequested`, by the driver's way.
    mutating func startPostcopyAndAwaitRunning(missing: Batch, pageCount: Double) throws(HostFailure) -> ClearanceAnswer
    /// Whether this transport can hand over to post-copy at all; `perform` does not start a
    /// hand-over on one that cannot (the source then resumes, nothing having been sent).
    var supportsPostcopy: Bool { get }
}

extension MigrationChannel {
    public mutating func drainBeforePause() throws(HostFailure) {}

    /// A channel without post-copy: `perform` never calls the hand-over (`supportsPostcopy`).
    public mutating func startPostcopyAndAwaitRunning(missing: Batch, pageCount: Double) throws(HostFailure) -> ClearanceAnswer {
        throw HostFailure("this transport cannot hand over to post-copy")
    }

    public var supportsPostcopy: Bool { false }
}

/// The destination's answer to "cleared to unpause".
public enum ClearanceAnswer: Sendable, Equatable {
    case running
    /// It could not run the guest and its copy is destroyed: a sentence naming why.
    case released(String)
}

/// Performs one engine action on a hypervisor and a channel and says how it ended: the one
/// mapping from actions to host operations that every driver (simulated or real) uses.
/// `.waitUntil` and `.finished` are the driver's own business and return `.done` here.
/// Inlinable so that each driver gets it specialized for its own host types.
@inlinable
public func perform<Hypervisor: SourceHypervisor, Channel: MigrationChannel>(
    _ action: SourceAction<Channel.Batch>, on hypervisor: inout Hypervisor, over channel: inout Channel
) -> ActionOutcome<Hypervisor.DirtyLog> where Hypervisor.DeviceState == Channel.DeviceState {
    do {
        switch action {
        case .enableDirtyLogging: try hypervisor.enableDirtyLogging()
        case .disableDirtyLogging: try hypervisor.disableDirtyLogging()
        case .peekDirtyLog: return .dirtyLog(try hypervisor.peekDirtyLog())
        case .readAndClearDirtyLog: return .dirtyLog(try hypervisor.readAndClearDirtyLog())
        case .send(let batch, let pageCount, let wireBytes):
            return .sent(bytes: try channel.sendPages(batch, pageCount: pageCount, wireBytes: wireBytes))
        case .throttleGuest(let percent): try hypervisor.setThrottle(percent: percent)
        case .pauseGuest:
            try channel.drainBeforePause()
            try hypervisor.pauseGuest()
        case .resumeSource: try hypervisor.resumeGuest()
        case .sendDeviceState:
            let state = try hypervisor.captureDeviceState()
            try channel.sendDeviceState(state)
            return .sent(bytes: Double(state.byteCount))
        case .awaitDestinationReady: try channel.finishStreamAndAwaitReady()
        case .clearDestinationToRun:
            if case .released(let reason) = try channel.clearToRunAndAwaitRunning() { return .released(reason) }
        case .startPostcopy(let missing, let pageCount):
            guard channel.supportsPostcopy else { return .notPerformed("this transport cannot hand over to post-copy (docs/postcopy.md)") }
            if case .released(let reason) = try channel.startPostcopyAndAwaitRunning(missing: missing, pageCount: pageCount) {
                return .released(reason)
            }
        case .destroySource: try hypervisor.destroyGuest()
        case .waitUntil, .finished: break
        }
        return .done
    } catch {
        return .failed(error.description)
    }
}

/// What the report needs to know of a device-state value: its size on the wire.
public protocol DeviceStateSize {
    var byteCount: Int { get }
}

extension Int: DeviceStateSize {
    /// The simulator's device state is just its size.
    public var byteCount: Int { self }
}

extension Array: DeviceStateSize where Element == UInt8 {
    public var byteCount: Int { count }
}
