import Foundation
import MigrationCore

/// Where a host's guest daemons keep their control sockets and logs: `--run-dir`,
/// `$LIVEMIG_RUN_DIR`, or by default `/run/livemig` (root), `$XDG_RUNTIME_DIR/livemig` (other
/// users, when set) or `/tmp/livemig-UID`. Two "hosts" on one machine (tests, network
/// namespaces) use two directories.
///
/// Nobody but its owner may be able to put a file into it, since daemons (root's, often) create
/// sockets and logs there by name: the rule, like OpenSSH's StrictModes, is in `verifySafe`.
public struct RunDirectory: Sendable {
    public let path: String

    public init(path: String? = nil) {
        if let path {
            self.path = path
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["LIVEMIG_RUN_DIR"], !fromEnvironment.isEmpty {
            self.path = fromEnvironment
        } else {
            self.path = Self.defaultPath(uid: geteuid(), environment: ProcessInfo.processInfo.environment)
        }
    }

    /// `/run/livemig` for root; for other users `$XDG_RUNTIME_DIR/livemig` (a directory only
    /// the user can use, made by the login manager) when it is set to an absolute path, else
    /// `/tmp/livemig-UID`, whose owner and mode `verifySafe` checks before anything is put in it
    /// (another user may have made it first).
    static func defaultPath(uid: uid_t, environment: [String: String]) -> String {
        if uid == 0 { return "/run/livemig" }
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return (runtime.hasSuffix("/") ? String(runtime.dropLast()) : runtime) + "/livemig"
        }
        return "/tmp/livemig-\(uid)"
    }

    /// Makes the directory (and missing parents) with mode 0700, then checks it with `verifySafe`.
    public func create() throws(HostFailure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw HostFailure("\(path): cannot create the run directory (\(prefix): \(String(cString: strerror(errno))))")
            }
        }
        try verifySafe()
    }

    /// The rule a run directory must meet before a socket or a log is made or opened in it:
    /// - it is a directory itself, not a symbolic link to one;
    /// - it belongs to the user running livemig (or to root), and neither its group nor others
    ///   may write to it, sticky bit or not;
    /// - every directory above it (symbolic links on the way resolved, their targets' parents
    ///   included) belongs to that user or to root, and is writable by group or others only
    ///   when sticky (as /tmp is), so that nobody else can move it or swap a parent.
    /// Files in it are opened with O_NOFOLLOW where livemig opens them.
    public func verifySafe() throws(HostFailure) {
        let user = geteuid()
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw HostFailure("\(path): the run directory cannot be used: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT != S_IFLNK else {
            throw HostFailure("\(path): the run directory is a symbolic link; name the directory itself")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw HostFailure("\(path): the run directory is not a directory") }
        guard info.st_uid == user || info.st_uid == 0 else {
            throw HostFailure("\(path): the run directory belongs to uid \(info.st_uid), not to uid \(user) or root")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw HostFailure("\(path): the run directory is writable by \(Self.writers(info.st_mode)); "
                + "make it private (chmod go-w \(path)) or use another --run-dir")
        }
        for ancestor in Self.ancestors(of: path) {
            // A symbolic link on the way can only be replaced by who may write its directory,
            // which is checked too; its target's chain is in the list (realpath).
            guard lstat(ancestor, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else { continue }
            guard info.st_uid == user || info.st_uid == 0 else {
                throw HostFailure("\(path): its parent \(ancestor) belongs to uid \(info.st_uid), not to uid \(user) or root")
            }
            let sticky = info.st_mode & S_ISVTX != 0
            guard info.st_mode & 0o022 == 0 || sticky else {
                throw HostFailure("\(path): its parent \(ancestor) is writable by \(Self.writers(info.st_mode)) and not sticky, "
                    + "so another user could replace the run directory")
            }
        }
    }

    /// Every directory above `path`: each lexical parent, and the real path of each (a
    /// symbolic link's target and the target's parents), without duplicates.
    static func ancestors(of path: String) -> [String] {
        var lexical: [String] = []
        var prefix = path.hasPrefix("/") ? "" : FileManager.default.currentDirectoryPath
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            lexical.append(prefix)
        }
        var all = ["/"]
        for parent in lexical {
            all.append(parent)
            guard let real = realpath(parent, nil) else { continue }
            defer { free(real) }
            var resolved = ""
            for component in String(cString: real).split(separator: "/") {
                resolved += "/" + component
                all.append(resolved)
            }
        }
        var seen = Set<String>()
        return all.filter { seen.insert($0).inserted }
    }

    private static func writers(_ mode: mode_t) -> String {
        [(mode & 0o020 != 0, "its group"), (mode & 0o002 != 0, "others")].filter(\.0).map(\.1).joined(separator: " and ")
    }

    public func controlSocket(_ name: String) -> String { "\(path)/\(name).sock" }
    public func consoleLog(_ name: String) -> String { "\(path)/\(name).console" }
    public func daemonLog(_ name: String) -> String { "\(path)/\(name).log" }

    /// Names of the guests with a control socket here.
    public func guestNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { $0.hasSuffix(".sock") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A guest name: letters, digits, '-', '_', '.', 1 to 64 characters.
    public static func validate(name: String) throws(HostFailure) {
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.count <= 64, allowed, !name.hasPrefix(".") else {
            throw HostFailure("guest name '\(name)': use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")
        }
    }

    /// Refuses `name` when a daemon answers on its control socket: before `guest start` or
    /// `restore` touches anything of that name (its console log, its daemon log). A socket
    /// nobody answers on is left behind by a daemon that died, and does not count.
    public func refuseRunningGuest(_ name: String) throws(HostFailure) {
        var info = stat()
        guard lstat(controlSocket(name), &info) == 0 else { return }
        if (try? ControlConnection.connect(path: controlSocket(name))) != nil {
            throw HostFailure("a guest named '\(name)' already runs on this host (\(controlSocket(name))); stop it first or choose another name")
        }
    }

    /// A connection to the guest daemon `name`, once the directory passed `verifySafe` (a
    /// socket in a directory others can write to may be anybody's).
    public func connect(to name: String) throws(HostFailure) -> ControlConnection {
        var info = stat()
        if lstat(path, &info) == 0 { try verifySafe() }
        return try ControlConnection.connect(path: controlSocket(name))
    }

    /// Asks the guest daemon `name` one request and returns its first reply, waiting at most
    /// `timeoutSeconds` for it when given.
    public func ask(_ name: String, _ request: ControlRequest, timeoutSeconds: Double? = nil) throws(HostFailure) -> ControlReply {
        let connection = try connect(to: name)
        if let timeoutSeconds { connection.setReceiveTimeout(seconds: timeoutSeconds) }
        try connection.send(request)
        guard let reply = try connection.receive(ControlReply.self) else {
            throw HostFailure("guest '\(name)': the daemon closed the connection without answering")
        }
        if let error = reply.error { throw HostFailure(error) }
        return reply
    }
}
