import CXen
import MigrationCore
import MigrationExecutor

/// `livemig migrate` of a Xen domain: xl's sender side of the migration protocol
/// (`XlMigrationProtocol`), with libxenguest's save loop governed by the engine core's policy.
/// Talks to `xl migrate-receive` or `livemig receive` alike.
///
/// Failure rules, as xl's: before the permission to go, any failure resumes the domain here
/// (in place, `suspend_cancel`); after it, a destination that reports failure hands the
/// permission back and the domain is resumed here; a destination that falls silent after the
/// permission leaves the domain suspended here as NAME--migratedaway, because it may be
/// running there (resuming it could run the guest twice).
public enum XenMigrationSender {
    /// `bytesSent` counts what reached the network when the stream goes through a relay (TLS:
    /// `socket` is then the relay's plain end, which TCP_INFO cannot count).
    public static func migrate(domain name: String, on host: XenHost, over socket: BlockingSocket,
                               policy: PolicyConfiguration, live: Bool, bytesSent: (() -> Int)? = nil) throws(HostFailure) -> MigrationReport {
        let id = try host.domainID(named: name)
        try host.requireMigratablePV(id, name: name)
        let fd = socket.fd
        let counter: () -> Int? = bytesSent.map { count in { count() } } ?? {
            let sent = livemig_socket_bytes_sent(fd)
            return sent >= 0 ? Int(sent) : nil
        }
        let save = XenDomainSave(policy: policy, guestPageCount: try host.guestPageCount(id), bytesSent: counter)
        let config = try host.configurationJSON(id)
        let conversation = XlConversation(socket: socket)

        // Nothing is touched until the receiver has said it is there.
        try conversation.expect(XlMigrationProtocol.banner, "the receiver's banner")
        var suspendStarted = false
        func abandon(_ reason: String) -> MigrationReport {
            report(save, live: live, failure: reason + (suspendStarted ? resumeNote(host, id) : ""))
        }
        do {
            try socket.write(XlMigrationProtocol.streamOpening(configJSON: config))
            suspendStarted = true
            try save.run(host: host, domainID: id, fd: socket.fd, live: live)
            try socket.write(XlMigrationProtocol.endRecord)
            try conversation.expect(XlMigrationProtocol.ready, "the receiver's 'ready to unpause'")
            try host.rename(id, from: name, to: name + "--migratedaway")
        } catch {
            return abandon(error.description)
        }
        // The point of no return: the destination may run the guest from here on.
        let status: UInt8
        do {
            try socket.write(XlMigrationProtocol.permissionToGo)
            try conversation.expect(XlMigrationProtocol.report, "the receiver's report")
            status = try conversation.read(1)[0]
        } catch {
            return report(save, live: live, failure: "\(error.description); after the permission to go the domain may run there, so it stays suspended here as \(name)--migratedaway (as xl leaves it)")
        }
        let runningSeconds = monotonicSeconds()
        guard status == 0 else {
            var reason = "the destination could not start the domain (libxl error -\(status))"
            // Only the receiver's permission says its copy is gone; without it, resuming here
            // could run the guest twice (xl waits for it the same way).
            do {
                try conversation.expect(XlMigrationProtocol.permissionToGo, "the receiver's permission to resume")
            } catch {
                reason += "; \(error.description): the domain stays suspended here as \(name)--migratedaway"
                return report(save, live: live, failure: reason)
            }
            try? host.rename(id, from: name + "--migratedaway", to: name)
            reason += resumeNote(host, id)
            return report(save, live: live, failure: reason)
        }
        var done = report(save, live: live, runningSeconds: runningSeconds)
        do {
            try host.destroy(id)
        } catch {
            done.reason += "; the source copy could not be destroyed: \(error.description)"
        }
        return done
    }

    /// Resumes the domain if a failed save left it suspended; says so if that failed too.
    static func resumeNote(_ host: XenHost, _ id: UInt32) -> String {
        do {
            try host.resumeIfSuspended(id)
            return ""
        } catch {
            return "; the domain could not be resumed here: \(error.description)"
        }
    }

    private static func report(_ save: XenDomainSave, live: Bool, runningSeconds: Double? = nil, failure: String? = nil) -> MigrationReport {
        let now = runningSeconds ?? monotonicSeconds()
        let total = now - save.startSeconds
        let suspended = save.suspendedSeconds.map { $0 - save.startSeconds } ?? total
        let bytes = save.bytesSent() ?? 0
        // The pages of the paused pass, from the bytes sent after the suspend (a page goes as
        // 4 KiB of data and an 8-byte pfn entry in libxc's PAGE_DATA records).
        let pausedPages = save.bytesSentAtSuspend.map { max(0, bytes - $0) / (4096 + 8) } ?? 0
        var report = save.advisor.report(live: live, totalSeconds: total,
                                         downtimeSeconds: failure == nil ? now - (save.suspendedSeconds ?? now) : 0,
                                         pausedPages: pausedPages, pausedStartSeconds: suspended, bytesSent: bytes, failure: failure)
        return report
    }
}
