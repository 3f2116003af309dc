import Foundation
import XCTest

/// One case of the fault matrix: a fault applied at a phase of a live migration between two
/// hosts in network namespaces. The receiver's fault hook (`LIVEMIG_FAULT`, see
/// `ReceiverFaultInjection`) freezes the arriving guest's daemon at exactly the phase, the
/// harness applies the fault, lets it go on, and then checks the one rule: the guest runs on
/// exactly one host, or is paused on the source and `guest resume` brings it back; never on
/// two, never on none without a way back.
enum FaultPhase: String, CaseIterable {
    case handshake, firstPass, laterPass, pausedRound, deviceState, ready, cleared, running

    /// The record at which the receiver's hook strikes, as `TYPE[#N]`.
    var record: String {
        switch self {
        case .handshake: "challengeEcho"
        case .firstPass: "pageBatch#2"
        // 1,024 pages a batch: the 64 MiB guest's first pass is 16 batches, the 17th opens the second.
        case .laterPass: "pageBatch#17"
        case .pausedRound: "vcpuState"
        case .deviceState: "deviceState"
        case .ready: "readyToUnpause"
        case .cleared: "clearedToUnpause"
        case .running: "running"
        }
    }

    /// Whether the record is one the destination sends (a hook can only withhold those).
    var isReply: Bool { self == .ready || self == .running }
}

enum Fault: String, CaseIterable {
    case killSourceDaemon, killMigrateClient, killReceiver, killArrivingDaemon, cutLink, stallSource, stallDestination,
         dropRecord, corruptRecord

    /// The receiver's hook for this fault at `phase`: a freeze, or the record's loss or damage.
    func hook(at phase: FaultPhase) -> String {
        switch self {
        case .dropRecord: phase.isReply ? "withhold:\(phase.record)" : "drop:\(phase.record)"
        case .corruptRecord: phase.isReply ? "withhold:\(phase.record)" : "corrupt:\(phase.record)"
        default: "pause-on:\(phase.record)"
        }
    }
}

/// What one case ended with.
struct FaultOutcome: CustomStringConvertible {
    var fault: Fault
    var phase: FaultPhase
    var runsOnSource = false
    var runsOnDestination = false
    var resumedOnSource = false
    var lost = false
    var doubled = false
    /// It runs on the destination without its memory having been checked against the source's.
    var memoryUnverified = false
    var note = ""
    /// The fault killed the process that was the guest's VMM while it held the only copy.
    var diedWithItsVMM = false

    var description: String {
        let place = doubled ? "TWO HOSTS" : lost ? "NO HOST" : diedWithItsVMM ? "no host (it died with its VMM)"
            : runsOnDestination ? "destination" : "source"
        return "\(fault.rawValue) at \(phase.rawValue): runs on \(place)\(resumedOnSource ? " (after guest resume)" : "")\(note.isEmpty ? "" : "; \(note)")"
    }
}
