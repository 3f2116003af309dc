import CXen
import MigrationCore
import MigrationExecutor

/// `livemig migrate` of a Xen domain: xl's sender side of the migration protocol
/// (`XlMigrationProtocol`), with libxenguest's save loop governed by the engine core's policy.
/// Talks to `xl migrate-receive` or `livemig receive` alike.
///
/// What a failure leaves behind is decided by the core's `CommitRules`, the same rules the KVM
/// path's `SourceMigration` applies: before the permission to go, the domain resumes here (in
/// place, `suspend_cancel`); a destination that reports failure and hands the permission back
/// has destroyed its copy, and the domain resumes here; a destination that falls silent after
/// the permission leaves the domain suspended here as NAME--migratedaway, because it may be
/// running there (as xl leaves it).
public enum XenMigrationSender {
    /// Xen's waits: a receiver builds the whole domain between the stream's end and its
    /// "ready" (tens of seconds under emulation), so that wait is longer than KVM's.
    public static let defaultTimeouts = SenderTimeouts(handshakeSeconds: 10, stalledSendSeconds: 60, readySeconds: 300, runningSeconds: 120)

    /// `bytesSent` counts what reached the network when the stream goes through a relay (TLS
    /// or a rate cap: `socket` is then the relay's plain end, which TCP_INFO cannot count).
    /// `cancellation` (attached here) stops the migration before the permission to go;
    /// `maxDowntimeSeconds` cancels it if the domain has been suspended that long without the
    /// permission having gone.
    public static func migrate<Host: XenMigrationSourceHost>(
        domain name: String, on host: Host, over socket: BlockingSocket, policy: PolicyConfiguration, live: Bool,
        timeouts: SenderTimeouts = defaultTimeouts, cancellation: MigrationCancellation = MigrationCancellation(),
        maxDowntimeSeconds: Double? = nil, bytesSent: (() -> Int)? = nil
    ) throws(HostFailure) -> MigrationReport {
        let id = try host.domainID(named: name)
        try host.requireMigratablePV(id, name: name)
        let fd = socket.fd
        let counter: () -> Int? = bytesSent.map { count in { count() } } ?? {
            let sent = livemig_socket_bytes_sent(fd)
            return sent >= 0 ? Int(sent) : nil
        }
        let save = XenDomainSave(policy: policy, guestPageCount: try host.guestPageCount(id), bytesSent: counter)
        if let maxDowntimeSeconds { save.onSuspended = { cancellation.armDowntimeWatchdog(seconds: maxDowntimeSeconds) } }
        let config = try host.configurationJSON(id)
        let conversation = XlConversation(socket: socket)
        cancellation.attach(socket, shutdownWriting: true)
        defer { cancellation.detach() }
        var commit = XenSourceCommit(name: name, id: id, host: host, save: save, live: live)

        // Nothing is touched until the receiver has said it is there.
        try conversation.expect(XlMigrationProtocol.banner, "the receiver's banner", within: timeouts.handshakeSeconds)
        socket.setSendTimeout(seconds: timeouts.stalledSendSeconds)
        do {
            try commit.refuseIfCancelled(cancellation)
            try socket.write(XlMigrationProtocol.streamOpening(configJSON: config))
            commit.suspendMayHaveStarted = true
            try host.runSave(save, domainID: id, fd: socket.fd, live: live)
            try socket.write(XlMigrationProtocol.endRecord)
            try conversation.expect(XlMigrationProtocol.ready, "the receiver's 'ready to unpause'", within: timeouts.readySeconds)
            try commit.refuseIfCancelled(cancellation)
            try host.rename(id, from: name, to: commit.awayName)
            commit.renamedAway = true
        } catch {
            return commit.conclude(failureAt: .transfer, commit.explained(error, cancellation))
        }
        // The point of no return: the destination may run the guest from here on.
        guard cancellation.commit() else {
            return commit.conclude(failureAt: .clearanceWithheld, "cancelled: \(cancellation.cancelledReason ?? "")")
        }
        let status: UInt8
        do {
            try socket.write(XlMigrationProtocol.permissionToGo)
            try conversation.expect(XlMigrationProtocol.report, "the receiver's report", within: timeouts.runningSeconds)
            status = try conversation.read(1, within: timeouts.runningSeconds)[0]
        } catch {
            return commit.conclude(failureAt: .clearanceSent, error.description)
        }
        let runningSeconds = monotonicSeconds()
        guard status == 0 else {
            let reason = "the destination could not start the domain (libxl error -\(status))"
            // Only the receiver's permission says its copy is gone (xl waits for it the same way).
            do {
                try conversation.expect(XlMigrationProtocol.permissionToGo, "the receiver's permission to resume", within: timeouts.runningSeconds)
            } catch {
                return commit.conclude(failureAt: .clearanceSent, "\(reason); \(error.description)")
            }
            return commit.conclude(failureAt: .destinationReleasedGuest, CommitRules.releasedReason(reason))
        }
        do {
            try host.destroy(id)
        } catch {
            return commit.conclude(failureAt: .sourceDestroy, error.description, runningSeconds: runningSeconds)
        }
        return commit.report(runningSeconds: runningSeconds)
    }
}
