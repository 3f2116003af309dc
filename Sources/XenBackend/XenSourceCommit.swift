import MigrationCore
import MigrationExecutor

/// The Xen sender's end of a migration: carries out the core's `CommitRules` verdict on the
/// domain (resume it in place, leave it suspended as NAME--migratedaway, or report the leftover
/// copy) and writes the report.
struct XenSourceCommit<Host: XenMigrationSourceHost> {
    let name: String
    let id: UInt32
    let host: Host
    let save: XenDomainSave
    let live: Bool
    /// libxenguest may have suspended the domain (the save has begun).
    var suspendMayHaveStarted = false
    /// The domain is called NAME--migratedaway here (as xl renames it before the permission).
    var renamedAway = false

    var awayName: String { XenLeftSuspendedDomain.awayName(name) }

    /// Throws the cancel's reason if the migration was cancelled.
    func refuseIfCancelled(_ cancellation: MigrationCancellation) throws(HostFailure) {
        if let reason = cancellation.cancelledReason { throw HostFailure("cancelled: \(reason)") }
    }

    /// A failure's sentence, naming the cancel that caused it (a cancel shuts the socket).
    func explained(_ failure: HostFailure, _ cancellation: MigrationCancellation) -> String {
        guard let reason = cancellation.cancelledReason, !failure.description.hasPrefix("cancelled") else { return failure.description }
        return "cancelled: \(reason) (\(failure.description))"
    }

    /// Applies the verdict for a failure at `point` and reports.
    func conclude(failureAt point: CommitPoint, _ failure: String, runningSeconds: Double? = nil) -> MigrationReport {
        switch CommitRules.verdict(onFailureAt: point) {
        case .resumeSource:
            return report(failure: failure + resumeHere())
        case .leaveSourcePaused:
            var left = report(failure: CommitRules.leftPausedReason(failure)
                + "; it stays suspended here as \(awayName) (as xl leaves it; once the destination is checked: livemig guest resume \(name) --force)")
            left.sourceLeftPaused = true
            return left
        case .destinationOwnsGuest:
            var done = report(runningSeconds: runningSeconds)
            done.reason += "; the source copy could not be destroyed: \(failure)"
            return done
        }
    }

    /// Gives the domain its name back and resumes it if the save suspended it; says what failed.
    func resumeHere() -> String {
        var note = ""
        if renamedAway {
            do {
                try host.rename(id, from: awayName, to: name)
            } catch {
                note += "; the domain could not be renamed back from \(awayName): \(error.description)"
            }
        }
        guard suspendMayHaveStarted else { return note }
        return note + Self.resumeInPlace(host: host, id: id)
    }

    /// Resumes the domain if a failed save left it suspended; says so if that failed too.
    static func resumeInPlace(host: Host, id: UInt32) -> String {
        do {
            try host.resumeIfSuspended(id)
            return ""
        } catch {
            return "; the domain could not be resumed here: \(error.description)"
        }
    }

    func report(runningSeconds: Double? = nil, failure: String? = nil) -> MigrationReport {
        let now = runningSeconds ?? monotonicSeconds()
        let total = now - save.startSeconds
        let suspended = save.suspendedSeconds.map { $0 - save.startSeconds } ?? total
        let bytes = save.bytesSent() ?? 0
        // The pages of the paused pass, from the bytes sent after the suspend (a page goes as
        // 4 KiB of data and an 8-byte pfn entry in libxc's PAGE_DATA records).
        let pausedPages = save.bytesSentAtSuspend.map { max(0, bytes - $0) / (4096 + 8) } ?? 0
        return save.advisor.report(live: live, totalSeconds: total,
                                   downtimeSeconds: failure == nil ? now - (save.suspendedSeconds ?? now) : 0,
                                   pausedPages: pausedPages, pausedStartSeconds: suspended, bytesSent: bytes, failure: failure)
    }
}
