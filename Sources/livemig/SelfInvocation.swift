import Foundation

/// Runs `livemig` itself as a child process, for the commands a suite strings together the way
/// a user would: each with a deadline (a child past it is killed), its output captured.
enum SelfInvocation {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    /// Runs `livemig ARGUMENTS` to its end or `timeoutSeconds`, whichever comes first.
    static func run(_ arguments: [String], timeoutSeconds: Double) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Files rather than pipes: a child's daemon keeps no pipe open for us to wait on.
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 5) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = finished.wait(timeout: .now() + 5)
            }
            throw failure("livemig \(arguments.joined(separator: " ")): still running after \(Int(timeoutSeconds)) s; stopped")
        }
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Ends a child: SIGTERM, then SIGKILL if it is still there after `graceSeconds`.
    static func stop(_ process: Process, graceSeconds: Double = 10) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(graceSeconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Starts `livemig receive` on a loopback port chosen by the system and returns the child
    /// and the port, once it says it listens (within `timeoutSeconds`).
    static func startLoopbackReceiver(runDirectory: String, log: URL, timeoutSeconds: Double = 30) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["receive", "--listen", "127.0.0.1:0", "--run-dir", runDirectory]
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
               let address = line.split(separator: " ").first(where: { $0.hasPrefix("127.0.0.1:") }),
               let port = Int(address.dropFirst("127.0.0.1:".count).trimmingCharacters(in: .punctuationCharacters)) {
                return (process, port)
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop(process)
        throw failure("livemig receive did not start listening within \(Int(timeoutSeconds)) s: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }
}
