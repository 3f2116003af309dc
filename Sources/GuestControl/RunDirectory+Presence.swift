import Foundation
import MigrationCore
import MigrationStream

extension RunDirectory {
    /// Where this host records the migrations that committed here: one file per migration,
    /// named by its nonce, holding the guest's name.
    var commitsDirectory: String { "\(path)/commits" }

    private func commitRecord(_ migrationNonce: [UInt8]) -> String {
        "\(commitsDirectory)/" + migrationNonce.map { String(format: "%02x", $0) }.joined()
    }

    /// Records, durably, that the migration with this nonce committed here: called before the
    /// guest runs, so a source that lost the link afterwards learns it from `presence`, even
    /// once the guest has moved on or stopped (then "absent" would let the source run a stale copy).
    public func recordCommit(migration migrationNonce: [UInt8], guest name: String) throws(HostFailure) {
        if mkdir(commitsDirectory, 0o700) != 0, errno != EEXIST {
            throw HostFailure("\(commitsDirectory): cannot create: \(String(cString: strerror(errno)))")
        }
        let path = commitRecord(migrationNonce)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HostFailure("\(path): cannot record the commit: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(name.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            // A record that is not durable is no commit: left behind, `presence` would answer
            // "committed" for a guest that never ran here, and the source would destroy its copy.
            unlink(path)
            throw HostFailure("\(path): cannot record the commit: \(reason)")
        }
        let directory = open(commitsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// Undoes `recordCommit` once the committed guest was destroyed after all (its unpause
    /// failed): durably, before the source is told it may resume.
    /// Throws when the record could not be removed (then `presence` still says "committed").
    public func forgetCommit(migration migrationNonce: [UInt8]) throws(HostFailure) {
        let path = commitRecord(migrationNonce)
        if unlink(path) != 0, errno != ENOENT {
            throw HostFailure("\(path): cannot forget the commit of a guest destroyed here: \(String(cString: strerror(errno)))")
        }
        let directory = open(commitsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// What this host can say of guest `name` to a source that asks (`guestState`) about the
    /// migration with `migrationNonce`: "committed" if that migration committed here (whatever
    /// became of the guest since). Otherwise "absent" only when no daemon serves the name (no
    /// control socket, or nobody listening on it); any other doubt (a daemon that does not
    /// answer in time, a socket that cannot be opened) counts as "arriving" (ask again), never
    /// as absent, since a wrong "absent" would let the source run a second copy.
    public func presence(of name: String, migration migrationNonce: [UInt8]) -> GuestPresence {
        guard (try? RunDirectory.validate(name: name)) != nil else { return .absent }
        if migrationNonce.count == StreamLimits.challengeNonceBytes,
           FileManager.default.fileExists(atPath: commitRecord(migrationNonce)) {
            return .committed
        }
        let path = controlSocket(name)
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        let connection: ControlConnection
        do {
            connection = try ControlConnection.connectTelling(path: path)
        } catch {
            // Only "nobody listens" (a socket left by a daemon that died) means absent.
            return error.code == ECONNREFUSED || error.code == ENOENT ? .absent : .arriving
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
