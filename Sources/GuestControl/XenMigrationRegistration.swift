import Foundation
import Glibc
import MigrationCore

/// A Xen domain's migration runs in the `migrate` process itself (libxenguest saves from it;
/// there is no guest daemon). The process registers in the run directory, in a file named
/// after the domain (`xen-HASH.migration`, since Xen names need not be valid file names):
/// its pid, the state, and the name, under an exclusive lock held until the process ends.
///
/// - `livemig migrate --cancel NAME` signals the pid only while the lock is held, so a stale
///   file never makes it signal whoever reuses the pid.
/// - A migration that ends with the domain left suspended as NAME--migratedaway (an unknown
///   outcome, `CommitRules.leaveSourcePaused`) leaves the file behind in state
///   `left-suspended`; `livemig guest resume NAME --force` resumes only such a domain, and never
///   while a migration of it runs.
public final class XenMigrationRegistration {
    enum State: String { case migrating, leftSuspended = "left-suspended" }

    private let path: String
    private let fd: Int32
    private let name: String
    private var keepsFile = false

    /// The registration file of `name`: FNV-1a of its UTF-8 bytes, in hex.
    public static func path(of name: String, in runDirectory: RunDirectory) -> String {
        "\(runDirectory.path)/xen-\(String(FNV1a.hash(name.utf8), radix: 16)).migration"
    }

    /// Registers this process as migrating `name`; fails if another process is migrating it.
    public init(name: String, in runDirectory: RunDirectory) throws(HostFailure) {
        try runDirectory.create()
        path = Self.path(of: name, in: runDirectory)
        self.name = name
        fd = try ExclusiveLockFile.take(path, what: "\(name) is already being migrated by another livemig process")
        write(.migrating)
    }

    deinit {
        // Unlinked while still locked: a process that opened the old file sees, once it holds
        // the lock, that the path no longer names it (`ExclusiveLockFile.take`) and starts again.
        if !keepsFile { unlink(path) }
        close(fd)
    }

    /// The migration ended leaving the domain suspended as NAME--migratedaway: keep the file
    /// so that `guest resume --force` may bring it back.
    public func markLeftSuspended() {
        write(.leftSuspended)
        keepsFile = true
    }

    private func write(_ state: State) {
        let text = Array("\(getpid())\n\(state.rawValue)\n\(name)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }


    /// The pid, state and name a registration file holds.
    private static func contents(of fd: Int32, path: String) throws(HostFailure) -> (pid: Int32, state: State, name: String) {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let lines = count > 0 ? String(decoding: bytes.prefix(count), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) : []
        guard lines.count >= 3, let pid = Int32(lines[0]), pid > 1, let state = State(rawValue: String(lines[1])) else {
            throw HostFailure("\(path): not a livemig registration (pid, state, name)")
        }
        return (pid, state, String(lines[2]))
    }

    /// Sends SIGINT to the process migrating `name` (it cancels unless it has committed);
    /// throws if no live process is migrating it.
    public static func interrupt(name: String, in runDirectory: RunDirectory) throws(HostFailure) {
        let path = path(of: name, in: runDirectory)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw HostFailure("no migration of \(name) is in progress on this host") }
        defer { close(fd) }
        let held = flock(fd, LOCK_SH | LOCK_NB) != 0
        let registered = try contents(of: fd, path: path)
        guard registered.name == name else { throw HostFailure("no migration of \(name) is in progress on this host") }
        guard held else {
            throw HostFailure(registered.state == .leftSuspended
                ? "no migration of \(name) is in progress: one ended leaving it suspended as \(name)--migratedaway (livemig guest resume \(name) --force, once the destination is checked)"
                : "no migration of \(name) is in progress on this host (\(path) is left from one that ended)")
        }
        guard kill(registered.pid, SIGINT) == 0 else {
            throw HostFailure("cannot signal process \(registered.pid) migrating \(name): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `resume` only if a migration left `name` suspended with an unknown outcome and none
    /// runs now; removes the record once `resume` succeeded.
    public static func resumeLeftSuspended(name: String, in runDirectory: RunDirectory,
                                           _ resume: () throws(HostFailure) -> Void) throws(HostFailure) {
        let path = path(of: name, in: runDirectory)
        guard access(path, F_OK) == 0 else {
            throw HostFailure("no migration here left \(name) suspended with an unknown outcome; if \(name)--migratedaway exists, its migration may have succeeded (the guest runs on the destination): check there, and destroy the leftover with xl destroy")
        }
        let fd = try ExclusiveLockFile.take(path, what: "a migration of \(name) is in progress: cancel it (livemig migrate --cancel \(name)) or let it end")
        defer { close(fd) }
        let registered = try contents(of: fd, path: path)
        guard registered.name == name, registered.state == .leftSuspended else {
            unlink(path)  // left by a process that died while migrating: nothing is known
            throw HostFailure("no migration here left \(name) suspended with an unknown outcome (the last one ended without saying so); check the destination, then resume or destroy \(name)--migratedaway with xl")
        }
        try resume()
        unlink(path)
    }
}
