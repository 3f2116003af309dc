import Foundation
import Glibc
import MigrationCore

/// `LIVEMIG_TIMEOUTS`: the operator's (and the fault tests') override of the migration
/// timeouts, as `NAME=SECONDS` pairs separated by commas: `handshake`, `idle`, `commit` (the
/// receiver's; `handshake` also bounds the sender's wait for the destination's challenge),
/// `stall`, `ready`, `running`, `drain` (the sender's). Unset names keep their documented defaults
/// (docs/security.md); a pair that does not parse, or a value outside 0.1 s to a day, is an
/// error naming it.
public enum TimeoutsFromEnvironment {
    public static let variable = "LIVEMIG_TIMEOUTS"
    static let names = ["handshake", "idle", "commit", "stall", "ready", "running", "drain"]

    /// The pairs given, by name.
    static func pairs() throws(HostFailure) -> [String: Double] {
        guard let text = getenv(variable).map({ String(cString: $0) }), !text.isEmpty else { return [:] }
        var result: [String: Double] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, names.contains(parts[0]) else {
                throw HostFailure("\(variable): '\(pair)' is not NAME=SECONDS with NAME one of \(names.joined(separator: ", "))")
            }
            guard let seconds = Double(parts[1]), seconds.isFinite, (0.1 ... 86_400).contains(seconds) else {
                throw HostFailure("\(variable): \(parts[0])=\(parts[1]) is not a number of seconds from 0.1 to 86400")
            }
            result[parts[0]] = seconds
        }
        return result
    }

    public static func receiver() throws(HostFailure) -> ReceiverTimeouts {
        let given = try pairs()
        let defaults = ReceiverTimeouts()
        return ReceiverTimeouts(handshakeSeconds: given["handshake"] ?? defaults.handshakeSeconds,
                                idleSeconds: given["idle"] ?? defaults.idleSeconds,
                                commitSeconds: given["commit"] ?? defaults.commitSeconds)
    }

    public static func sender(defaults: SenderTimeouts = SenderTimeouts()) throws(HostFailure) -> SenderTimeouts {
        let given = try pairs()
        var timeouts = SenderTimeouts(handshakeSeconds: given["handshake"] ?? defaults.handshakeSeconds,
                                      stalledSendSeconds: given["stall"] ?? defaults.stalledSendSeconds,
                                      readySeconds: given["ready"] ?? defaults.readySeconds,
                                      runningSeconds: given["running"] ?? defaults.runningSeconds)
        timeouts.drainSeconds = given["drain"] ?? defaults.drainSeconds
        return timeouts
    }
}
