import Foundation
import MigrationCore
import MigrationStream

extension RunDirectory {
    /// What this host can say of guest `name` to a source that asks (`guestState`). "absent"
    /// only when no daemon serves the name (no control socket, or nobody listening on it); a
    /// daemon that does not answer in time counts as "arriving" (ask again), never as absent,
    /// since a wrong "absent" would let the source run a second copy.
    public func presence(of name: String) -> GuestPresence {
        guard (try? RunDirectory.validate(name: name)) != nil else { return .absent }
        let path = controlSocket(name)
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        let connection: ControlConnection
        do {
            connection = try ControlConnection.connect(path: path)
        } catch {
            return .absent  // a socket left by a daemon that died: nothing serves the name
        }
        connection.setReceiveTimeout(seconds: 5)
        guard (try? connection.send(ControlRequest(command: .status))) != nil,
              let reply = try? connection.receive(ControlReply.self), let status = reply.status else { return .arriving }
        switch status.state {
        case "incoming": return .arriving
        case "running", "migrating", "saving", "observing": return .running
        default: return .present
        }
    }
}
