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

    public static func receive(on socket: BlockingSocket, host: XenHost) throws(HostFailure) -> Received {
        let conversation = XlConversation(socket: socket)
        try socket.write(XlMigrationProtocol.banner)
        let (config, name) = try conversation.readConfiguration(host: host)
        let incoming = name + "--incoming"
        // A failure here ends the conversation without a word, as xl's receiver does: the
        // sender sees no "ready" and resumes its domain.
        let id = try host.restore(config, named: incoming, from: socket.fd)
        let built = monotonicSeconds()
        do {
            try socket.write(XlMigrationProtocol.ready)
            try conversation.expect(XlMigrationProtocol.permissionToGo, "the sender's permission to go")
        } catch {
            try? host.destroy(id)
            throw HostFailure("\(name): \(error.description); the copy here was destroyed")
        }
        var status: UInt8 = 0
        var failure: HostFailure?
        do {
            try host.rename(id, from: incoming, to: name)
            try host.unpause(id)
        } catch {
            status = 3  // ERROR_FAIL, negated as xl sends it
            failure = error
        }
        let running = monotonicSeconds()
        try? socket.write(XlMigrationProtocol.report + [status])
        if let failure {
            // The sender may resume only once this copy is gone for sure.
            do {
                try host.destroy(id)
            } catch {
                throw HostFailure("\(name): \(failure.description); the copy here could not be destroyed (\(error.description)), so the sender was not told to resume")
            }
            try? socket.write(XlMigrationProtocol.permissionToGo)
            throw HostFailure("\(name): \(failure.description); the copy here was destroyed and the sender may resume")
        }
        return Received(domainID: id, name: name, builtSeconds: built, runningSeconds: running)
    }
}
