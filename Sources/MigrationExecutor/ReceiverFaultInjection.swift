import Glibc
import MigrationStream

/// Faults a receiver can be told to commit, for the fault-matrix tests (`LIVEMIG_FAULT` in the
/// environment of `livemig receive`, which hands it to each incoming daemon). They stand in for
/// what tests cannot time from outside: a link that dies exactly after one record, a reply
/// that never leaves. Unset, nothing changes.
///
/// - `exit-on:TYPE`: the receiving process exits (status 70) the moment a record of TYPE
///   arrives from the source, before acting on it (like a crash or a cut link there).
/// - `withhold:TYPE`: the receiver acts as usual but never sends its TYPE reply, and closes
///   the connection instead (a reply lost with the link).
public enum ReceiverFaultInjection: Sendable, Equatable {
    case none
    case exitOn(RecordType)
    case withhold(RecordType)

    /// The environment variable that names the fault.
    public static let environmentVariable = "LIVEMIG_FAULT"

    /// Parses `exit-on:TYPE` or `withhold:TYPE` (TYPE as the spec names it); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let type = RecordType.allCases.first(where: { $0.name == parts[1] }) else { return nil }
        switch parts[0] {
        case "exit-on": self = .exitOn(type)
        case "withhold": self = .withhold(type)
        default: return nil
        }
    }

    /// The fault this process was started with (none when unset or unreadable: a typo must not
    /// make a production receiver misbehave, so the receiver logs it instead).
    public static var fromEnvironment: ReceiverFaultInjection {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else { return .none }
        return ReceiverFaultInjection(value) ?? .none
    }

    func exitIfArrived(_ type: RecordType) {
        if case .exitOn(let target) = self, target == type { _exit(70) }
    }

    func withholds(_ type: RecordType) -> Bool {
        if case .withhold(let target) = self { return target == type }
        return false
    }
}
