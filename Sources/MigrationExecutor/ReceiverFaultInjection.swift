import Glibc
import MigrationCore
import MigrationStream

/// Faults a receiver can be told to commit, for the fault-matrix tests: `LIVEMIG_FAULT` in the
/// environment of `livemig receive`, which hands it to each incoming daemon. They stand in for
/// what a test cannot time from outside: a link that dies exactly at one record, a lost or
/// damaged record, a reply that never leaves, a process frozen at a known point. Unset, nothing
/// changes. `ACTION:TYPE` or `ACTION:TYPE#N` (the Nth record of TYPE; TYPE as the spec names
/// it, e.g. `pageBatch#3`):
///
/// - `exit-on`: the receiving process exits (status 70) the moment that record arrives, before
///   acting on it (like a crash there).
/// - `pause-on`: it creates the file `LIVEMIG_FAULT_MARKER` names, then stops itself (SIGSTOP)
///   before acting on the record; a test applies its own fault (kill, link down, …) at exactly
///   that point and sends SIGCONT. For a reply type (`readyToUnpause`, `running`) it stops
///   right after sending it.
/// - `drop`: the record is lost: its data is read as usual but the receiver acts as if it had
///   never come (a page batch's pages are not marked received).
/// - `corrupt`: the record arrives damaged: the stream is refused as malformed.
/// - `withhold`: for a reply type: not sent; the connection is shut instead (lost with the link).
public struct ReceiverFaultInjection: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case exitOn = "exit-on", pauseOn = "pause-on", drop, corrupt, withhold
    }

    public var action: Action
    public var type: RecordType
    /// Which record of `type` (1 = the first).
    public var ordinal: Int

    /// The environment variables.
    public static let environmentVariable = "LIVEMIG_FAULT"
    public static let markerVariable = "LIVEMIG_FAULT_MARKER"

    /// Parses `ACTION:TYPE` or `ACTION:TYPE#N`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let action = Action(rawValue: parts[0]) else { return nil }
        let target = parts[1].split(separator: "#", maxSplits: 1).map(String.init)
        guard let type = RecordType.allCases.first(where: { $0.name == target[0] }) else { return nil }
        let ordinal = target.count == 2 ? Int(target[1]) : 1
        guard let ordinal, (1 ... 1_000_000).contains(ordinal) else { return nil }
        self.action = action
        self.type = type
        self.ordinal = ordinal
    }

    /// Whether this build has the hooks: debug builds (the tests') only, so that a stray
    /// variable in a service's environment cannot hurt a release build's migrations.
    public static var isCompiledIn: Bool {
        #if LIVEMIG_FAULT_INJECTION
        true
        #else
        false
        #endif
    }

    /// The fault this process was started with, nil when none (always, in a release build). A
    /// value that does not parse is an error naming it: a test must not run without the fault
    /// it asked for. `receive` checks it at start and says loudly when one is active.
    public static func fromEnvironment() throws(HostFailure) -> ReceiverFaultInjection? {
        guard isCompiledIn, let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else { return nil }
        guard let fault = ReceiverFaultInjection(value) else {
            throw HostFailure("\(environmentVariable)=\(value): not ACTION:TYPE[#N] with ACTION one of \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return fault
    }
}

/// Counts records as they pass and says when the fault strikes (one per receive).
struct FaultTrigger {
    let fault: ReceiverFaultInjection?
    private var seen = 0

    init(_ fault: ReceiverFaultInjection?) { self.fault = fault }

    /// The action to take for this record of `type` (arriving, or a reply being sent), if any.
    mutating func strikes(_ type: RecordType) -> ReceiverFaultInjection.Action? {
        guard let fault, fault.type == type else { return nil }
        seen += 1
        return seen == fault.ordinal ? fault.action : nil
    }

    /// `exit-on` and `pause-on`, which act on the process itself.
    static func actOnProcess(_ action: ReceiverFaultInjection.Action) {
        switch action {
        case .exitOn:
            _exit(70)
        case .pauseOn:
            if let marker = getenv(ReceiverFaultInjection.markerVariable) {
                let fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                if fd >= 0 { close(fd) }
            }
            raise(SIGSTOP)
        default:
            break
        }
    }
}
