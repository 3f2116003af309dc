import CXen
import MigrationCore
import MigrationExecutor

/// `livemig receive` on a Xen host: xl's receiver side of the migration protocol
/// (`XlMigrationProtocol`), the domain rebuilt by libxl from the stream (as
/// `xl migrate-receive` does), kept paused as NAME--incoming until the sender's permission to
/// go, then renamed and unpaused. Takes streams from `xl migrate` and `livemig migrate` alike.
public enum XenMigrationReceiver {
    public struct Received: Sendable {
        public var domainID: UInt32
        public var name: String
        /// Monotonic seconds: the stream fully read (domain built), and the domain running.
        public var builtSeconds: Double
        public var runningSeconds: Double
    }

    /// Destroys domains left as NAME--incoming by a receiver that died mid-stream (they are
    /// paused, never ran, and would block the next migration of NAME). For a receiver starting
    /// up, before it accepts anything; returns their names.
    public static func removeStaleIncoming(on host: XenHost) throws(HostFailure) -> [String] {
        var removed: [String] = []
        for domain in try host.domains() where domain.name.hasSuffix("--incoming") {
            try host.destroy(domain.id)
            removed.append(domain.name)
        }
        return removed
    }

    /// Receives one domain. The destination's commit rules are the core's `DestinationMigration`
    /// (libxl checks the stream itself, `CompletenessCheck.byHypervisor`): this performs the
    /// actions it returns in xl's words. `commitSeconds` bounds the wait for the permission to go.
    public static func receive<Host: XenMigrationDestinationHost>(on socket: BlockingSocket, host: Host, commitSeconds: Double) throws(HostFailure) -> Received {
        let conversation = XlConversation(socket: socket)
        try socket.write(XlMigrationProtocol.banner)
        let (config, name) = try conversation.readConfiguration(host: host)
        // A failure here ends the conversation without a word, as xl's receiver does: the
        // sender sees no "ready" and resumes its domain.
        let id = try host.restore(config, named: name + "--incoming", from: socket.fd)
        var session = XenReceiveSession(name: name, id: id, host: host, socket: socket)
        session.perform(session.machine.handle(.restoredByHypervisor))
        if session.failure == nil {
            do {
                try conversation.expect(XlMigrationProtocol.permissionToGo, "the sender's permission to go", within: commitSeconds)
                session.perform(session.machine.handle(.clearedToRun))
            } catch {
                session.perform(session.machine.handle(.transportFailed(error.description)))
            }
        }
        if let failure = session.failure { throw failure }
        return Received(domainID: id, name: name, builtSeconds: session.builtSeconds, runningSeconds: session.runningSeconds)
    }
}
