import Foundation
import GuestControl
import MigrationCore

/// Starts `livemig` itself again as a detached background process (its own session, stdin from
/// /dev/null, stdout and stderr to a log file), optionally handing it open descriptors as fds 3,
/// 4, … in order.
enum DaemonSpawner {
    static func spawn(arguments: [String], logPath: String, passing descriptors: [Int32] = []) throws(HostFailure) -> pid_t {
        closeInheritedDescriptorsOnExec()
        // Copies above every target first, so that handing over one cannot overwrite another
        // that happens to sit at a target number (the copies are close-on-exec).
        let copies = descriptors.map { fcntl($0, F_DUPFD_CLOEXEC, 3 + Int32(descriptors.count)) }
        defer { for copy in copies where copy >= 0 { close(copy) } }
        if let failed = copies.firstIndex(where: { $0 < 0 }) {
            throw HostFailure("cannot hand descriptor \(descriptors[failed]) to a guest daemon: \(String(cString: strerror(errno)))")
        }
        let executable = "/proc/self/exe"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // O_NOFOLLOW: a log name in the run directory that is a symbolic link is refused, not followed.
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for (index, copy) in copies.enumerated() { posix_spawn_file_actions_adddup2(&actions, copy, 3 + Int32(index)) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc, <spawn.h> under _GNU_SOURCE, which Swift does not see): a new session.
        posix_spawnattr_setflags(&attributes, Int16(0x80))
        let argv = (["livemig"] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            let reason = status == ELOOP ? "\(logPath) is a symbolic link" : String(cString: strerror(status))
            throw HostFailure("cannot start a guest daemon: \(reason)")
        }
        return pid
    }

    /// Marks every descriptor above stderr close-on-exec, so that a daemon keeps none of its
    /// parent's (a caller waiting for `livemig guest start` to close its output would otherwise
    /// wait for the daemon too); the descriptors handed over are dup2'ed to 3, 4, …, which clears
    /// the flag.
    private static func closeInheritedDescriptorsOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Waits until the daemon `pid` answers on the control socket of `name`, or fails with its
    /// log's tail. Another daemon answering there (one that took the name first) is not it.
    static func waitUntilServing(_ name: String, pid: pid_t, in runDirectory: RunDirectory, seconds: Double = 20) throws(HostFailure) -> GuestStatus {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let reply = try? runDirectory.ask(name, ControlRequest(command: .status)), let status = reply.status,
               status.processID == pid {
                return status
            }
            var exitStatus: Int32 = 0
            if waitpid(pid, &exitStatus, WNOHANG) == pid {
                throw HostFailure(logTail(runDirectory.daemonLog(name)) ?? "the guest daemon exited (status \(exitStatus))")
            }
            usleep(20_000)
        }
        throw HostFailure("the guest daemon for '\(name)' did not answer within \(Int(seconds)) s; see \(runDirectory.daemonLog(name))")
    }

    static func logTail(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").suffix(3)
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }
}
