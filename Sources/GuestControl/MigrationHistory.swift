import Foundation
import MigrationCore
import MigrationExecutor

/// One real migration (or save) as the run directory remembers it: what was asked, of which
/// guest, and the engine's report with every pass's pages, duration and dirtied count.
public struct MigrationHistoryEntry: Codable, Sendable, Equatable {
    /// When it ended (UTC, ISO 8601).
    public var finishedAt: String
    public var guest: String
    /// `migrate` or `save`.
    public var command: String
    /// HOST[:PORT], or the save file.
    public var target: String?
    /// The bandwidth cap asked for, if any.
    public var rateLimitBytesPerSecond: Double?
    /// The guest's workload as it was started (the built-in guest program's nominal one).
    public var workload: String?
    public var report: MigrationReport
    /// True when `livemig job --set` changed the cap or the downtime limit mid-flight (then
    /// `rateLimitBytesPerSecond` held only for a part of it); nil in older entries.
    public var steeredMidFlight: Bool?

    public init(finishedAt: String, guest: String, command: String, target: String?, rateLimitBytesPerSecond: Double?,
                workload: String?, report: MigrationReport) {
        self.finishedAt = finishedAt
        self.guest = guest
        self.command = command
        self.target = target
        self.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        self.workload = workload
        self.report = report
    }
}

/// The run directory's history of migrations: one JSON line per migration in `history.jsonl`,
/// appended by the guest daemons as each migration ends (whatever its outcome), read by
/// `livemig history` and `livemig calibrate --from-history`.
public enum MigrationHistory {
    public static let fileName = "history.jsonl"
    /// A line longer than this is not written (a report of a million passes); reading stops
    /// with an error past `maxFileBytes`.
    public static let maxLineBytes = 4 << 20
    public static let maxFileBytes = 256 << 20

    public static func path(in runDirectory: RunDirectory) -> String { "\(runDirectory.path)/\(fileName)" }

    /// Appends `entry` as one line, under the file's exclusive lock (daemons of several guests
    /// may end migrations at once), created 0600 and never through a symbolic link, in a run
    /// directory made (or checked) as safe first.
    public static func append(_ entry: MigrationHistoryEntry, in runDirectory: RunDirectory) throws(HostFailure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line: Data
        do {
            line = try encoder.encode(entry)
        } catch {
            throw HostFailure("history: cannot encode the report: \(error)")
        }
        line.append(0x0A)
        guard line.count <= maxLineBytes else {
            throw HostFailure("history: the report is \(line.count) bytes, over the limit of \(maxLineBytes) for one line")
        }
        try runDirectory.create()
        let file = path(in: runDirectory)
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HostFailure("\(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // Another daemon's append takes microseconds: wait for the lock 2 s at most.
        let deadline = monotonicSeconds() + 2
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, monotonicSeconds() < deadline else {
                throw HostFailure("\(file): cannot lock: \(errno == EWOULDBLOCK ? "held by another process for over 2 s" : String(cString: strerror(errno)))")
            }
            usleep(1000)
        }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw HostFailure("\(file): wrote \(written) of \(line.count) bytes: \(String(cString: strerror(errno)))")
        }
    }

    /// The entries, oldest first, and the lines that could not be read (each named by its line
    /// number and the problem, none dropped silently). No file: no entries.
    public static func read(in runDirectory: RunDirectory) throws(HostFailure) -> (entries: [MigrationHistoryEntry], unreadable: [String]) {
        let file = path(in: runDirectory)
        guard FileManager.default.fileExists(atPath: file) else { return ([], []) }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        guard size <= maxFileBytes else {
            throw HostFailure("\(file): \(size) bytes, over the limit of \(maxFileBytes) (move it aside to start a new history)")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw HostFailure("\(file): cannot be read") }
        let decoder = JSONDecoder()
        var entries: [MigrationHistoryEntry] = []
        var unreadable: [String] = []
        for (index, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                entries.append(try decoder.decode(MigrationHistoryEntry.self, from: Data(line)))
            } catch {
                unreadable.append("\(file):\(index + 1): not a migration record (\(error.localizedDescription))")
            }
        }
        return (entries, unreadable)
    }

    /// The pause's fixed part as this host's completed migrations to `target` measured it
    /// (`MeasuredPauseOverhead`): what the engine budgets for it next time toward that host.
    /// Nil without enough such runs, or when the history cannot be read (the default serves).
    public static func measuredPauseOverhead(toward target: String, in runDirectory: RunDirectory) -> Double? {
        guard let history = try? read(in: runDirectory) else { return nil }
        return MeasuredPauseOverhead.seconds(from: history.entries.filter { $0.command == "migrate" && $0.target == target }.map(\.report))
    }
}
