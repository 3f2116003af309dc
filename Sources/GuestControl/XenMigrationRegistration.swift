import Foundation
import Glibc
import MigrationCore

/// A Xen domain's migration runs in the `migrate` process itself (libxenguest saves from it;
/// there is no guest daemon). So that `livemig migrate --cancel NAME` can reach it, the process
/// registers as RUN_DIR/NAME.xen-migrate: its pid, under an exclusive lock held until it ends.
/// A cancel signals the pid only while the lock is held, so a stale file (a process that died)
/// never makes it signal whoever reuses the pid.
public final class XenMigrationRegistration {
    private let path: String
    private let fd: Int32

    public static func path(of name: String, in runDirectory: RunDirectory) -> String { "\(runDirectory.path)/\(name).xen-migrate" }

    /// Registers this process as migrating `name`; fails if another process is migrating it.
    public init(name: String, in runDirectory: RunDirectory) throws(HostFailure) {
        try RunDirectory.validate(name: name)
        try runDirectory.create()
        path = Self.path(of: name, in: runDirectory)
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HostFailure("\(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw HostFailure("\(name) is already being migrated by another livemig process (\(path))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        unlink(path)
        close(fd)
    }

    /// Sends SIGINT to the process migrating `name` (it cancels unless it has committed);
    /// throws if no live process is migrating it.
    public static func interrupt(name: String, in runDirectory: RunDirectory) throws(HostFailure) {
        try RunDirectory.validate(name: name)
        let path = path(of: name, in: runDirectory)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw HostFailure("no migration of \(name) is in progress on this host") }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            throw HostFailure("no migration of \(name) is in progress on this host (\(path) is left from one that ended)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = count > 0 ? String(decoding: bytes.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        guard let pid = Int32(text), pid > 1 else { throw HostFailure("\(path): no process id in it") }
        guard kill(pid, SIGINT) == 0 else { throw HostFailure("cannot signal process \(pid) migrating \(name): \(String(cString: strerror(errno)))") }
    }
}
