import Foundation
import XCTest

/// A child process started with posix_spawn and reaped with waitpid: used for the long-running
/// processes of the migration tests (receivers, a migration to interrupt), where waiting on
/// Foundation's Process was seen to hang after the child had exited.
struct SpawnedProcess {
    let pid: pid_t

    /// Starts `path arguments…` with stdin from /dev/null and stdout + stderr into `outputPath`.
    static func start(_ path: String, _ arguments: [String], outputPath: String) throws -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else {
            throw NSError(domain: "posix_spawn", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "cannot start \(path)"])
        }
        return SpawnedProcess(pid: pid)
    }

    /// The exit status once the process has ended, or nil if it is still running after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if result < 0 { return -1 }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    func terminate() {
        kill(pid, SIGTERM)
        if wait(seconds: 5) == nil {
            kill(pid, SIGKILL)
            _ = wait(seconds: 5)
        }
    }
}
