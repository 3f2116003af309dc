import CXen
import Foundation
import MigrationCore
import MigrationExecutor

/// `livemig save` / `restore` of Xen domains, in xl's savefile format (the same preamble and
/// libxl stream a migration sends, without the handshake), so that `xl restore` reads what
/// `livemig save` writes and the other way round.
public enum XenSaveFile {
    /// Suspends the domain, writes it to `path` and destroys it (like `xl save`). On failure
    /// the domain is resumed and the partial file removed.
    public static func save(domain name: String, on host: XenHost, to path: String) throws(HostFailure) -> MigrationReport {
        let id = try host.domainID(named: name)
        try host.requireMigratablePV(id, name: name)
        // A file counts nothing in flight at the suspend (the report gives the file's size).
        let save = XenDomainSave(policy: PolicyConfiguration(name: .xen4), guestPageCount: try host.guestPageCount(id),
                                 bytesSent: { nil })
        let config = try host.configurationJSON(id)
        // Written beside the target and renamed at the end, so a failed save keeps an old file.
        let partial = path + ".partial"
        let file = try BlockingSocket.file(path: partial, write: true)
        defer { file.close() }
        do throws(HostFailure) {
            try file.write(XlMigrationProtocol.streamOpening(configJSON: config))
            try save.run(host: host, domainID: id, fd: file.fd, live: false)
            try file.write(XlMigrationProtocol.endRecord)
            try file.sync()
            guard rename(partial, path) == 0 else { throw HostFailure("cannot rename \(partial) to \(path): \(String(cString: strerror(errno)))") }
        } catch {
            unlink(partial)
            let note = XenSourceCommit<XenHost>.resumeInPlace(host: host, id: id)
            throw HostFailure("\(name): \(error.description); no file was written\(note.isEmpty ? "; the domain runs on" : note)")
        }
        let written = monotonicSeconds()
        try host.destroy(id)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let paused = save.suspendedSeconds.map { $0 - save.startSeconds } ?? 0
        return save.advisor.report(live: false, totalSeconds: written - save.startSeconds,
                                   downtimeSeconds: written - (save.suspendedSeconds ?? save.startSeconds),
                                   pausedPages: max(0, bytes - 4096) / (4096 + 8), pausedStartSeconds: paused, bytesSent: bytes)
    }

    /// Whether `path` starts like an xl savefile.
    public static func isXlSavefile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return Array(handle.readData(ofLength: XlMigrationProtocol.savefileMagic.count)) == XlMigrationProtocol.savefileMagic
    }

    /// Rebuilds the domain saved in `path` and runs it (like `xl restore`); returns its name.
    public static func restore(from path: String, on host: XenHost) throws(HostFailure) -> (name: String, id: UInt32) {
        let file = try BlockingSocket.file(path: path, write: false)
        defer { file.close() }
        let (config, name) = try XlConversation(socket: file).readConfiguration(host: host)
        if (try? host.domainID(named: name)) != nil {
            throw HostFailure("\(path): a domain named '\(name)' already runs on this host")
        }
        let id = try host.restore(config, named: name, from: file.fd)
        do {
            try host.unpause(id)
        } catch {
            try? host.destroy(id)
            throw error
        }
        return (name, id)
    }
}
