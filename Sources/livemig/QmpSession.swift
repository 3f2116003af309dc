import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor

/// A QMP session with one QEMU process, over the Unix socket its `-qmp unix:PATH,server=on`
/// listens on: JSON lines, a greeting, `qmp_capabilities`, then commands whose replies carry
/// `return` or `error` (asynchronous `event` lines in between are skipped). Every wait has a
/// deadline.
final class QmpSession {
    /// A command's argument value.
    indirect enum Argument: Encodable {
        case int(Int), string(String), bool(Bool), list([Argument]), object([String: Argument])

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .int(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            case .list(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }

    private struct Command: Encodable {
        var execute: String
        var arguments: [String: Argument]?
    }

    /// What `query-migrate` answers (migration/migration.c's MigrationInfo; times in ms).
    struct MigrationInfo: Decodable {
        struct RAM: Decodable {
            var transferred: Int?
            var total: Int?
            var dirtySyncCount: Int?
            enum CodingKeys: String, CodingKey { case transferred, total, dirtySyncCount = "dirty-sync-count" }
        }
        var status: String?
        var totalTimeMilliseconds: Int?
        var downtimeMilliseconds: Int?
        var setupTimeMilliseconds: Int?
        var cpuThrottlePercentage: Int?
        var ram: RAM?
        var errorDescription: String?
        enum CodingKeys: String, CodingKey {
            case status, ram
            case totalTimeMilliseconds = "total-time", downtimeMilliseconds = "downtime", setupTimeMilliseconds = "setup-time"
            case cpuThrottlePercentage = "cpu-throttle-percentage", errorDescription = "error-desc"
        }
    }

    private struct Reply: Decodable {
        struct Failure: Decodable { var desc: String? }
        var `return`: MigrationInfo?
        var error: Failure?
        var event: String?
    }

    private let connection: ControlConnection
    private let name: String

    /// Connects to `path` (retrying while QEMU has not created it yet, up to `timeoutSeconds`),
    /// reads the greeting and leaves capabilities negotiation mode.
    init(path: String, name: String, timeoutSeconds: Double = 30) throws(HostFailure) {
        self.name = name
        let deadline = monotonicSeconds() + timeoutSeconds
        var connected: ControlConnection?
        while connected == nil {
            do {
                connected = try ControlConnection.connect(path: path)
            } catch {
                guard monotonicSeconds() < deadline else { throw HostFailure("\(name): no QMP socket at \(path) after \(timeoutSeconds) s: \(error)") }
                usleep(50_000)
            }
        }
        connection = connected!
        connection.setReceiveTimeout(seconds: timeoutSeconds)
        guard try connection.receive(Reply.self) != nil else { throw HostFailure("\(name): QMP closed before its greeting") }
        _ = try execute("qmp_capabilities")
    }

    /// Runs one command; its `return` (nil fields for a command that returns `{}`).
    @discardableResult
    func execute(_ command: String, _ arguments: [String: Argument]? = nil) throws(HostFailure) -> MigrationInfo {
        try connection.send(Command(execute: command, arguments: arguments))
        while true {
            guard let reply = try connection.receive(Reply.self) else { throw HostFailure("\(name): QMP closed during \(command)") }
            if reply.event != nil { continue }
            if let error = reply.error { throw HostFailure("\(name): \(command): \(error.desc ?? "failed")") }
            return reply.return ?? MigrationInfo()
        }
    }
}
