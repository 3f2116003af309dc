import Foundation
import MigrationExecutor

/// What a guest printed on its serial port, line by line, with the host's wall-clock time of
/// each line (`CLOCK_REALTIME`, so that lines from the source and destination processes of one
/// machine can be compared: that is how the guest-visible heartbeat gap is measured).
public final class ConsoleLog: @unchecked Sendable {
    public struct Line: Sendable, Equatable {
        public var seconds: Double
        public var text: String
    }

    /// Lines kept in memory; older ones are dropped (the log file keeps everything).
    public static let maxLines = 100_000
    private let lock = NSLock()
    private var partial: [UInt8] = []
    private var storedLines: [Line] = []
    private let file: FileHandle?

    public init(path: String? = nil) {
        if let path {
            // Emptied for the new guest; never through a symbolic link planted in its place.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            file = fd >= 0 ? FileHandle(fileDescriptor: fd, closeOnDealloc: true) : nil
        } else {
            file = nil
        }
    }

    func append(_ byte: UInt8) {
        lock.lock()
        defer { lock.unlock() }
        if byte == UInt8(ascii: "\n") {
            let line = Line(seconds: wallClockSeconds(), text: String(decoding: partial, as: UTF8.self))
            partial.removeAll(keepingCapacity: true)
            storedLines.append(line)
            if storedLines.count > Self.maxLines { storedLines.removeFirst(storedLines.count - Self.maxLines) }
            file?.write(Data("\(String(format: "%.6f", line.seconds)) \(line.text)\n".utf8))
        } else if partial.count < Self.maxPendingBytes {
            partial.append(byte)
        }
    }

    /// Longest unfinished line kept (and migrated); later bytes of it are dropped.
    public static let maxPendingBytes = 4096

    /// The bytes of the line the guest is still printing (no newline yet). They travel with a
    /// migrating guest, so that a line cut by the pause is finished whole on the destination.
    public var pendingLine: [UInt8] {
        get {
            lock.lock()
            defer { lock.unlock() }
            return partial
        }
        set {
            lock.lock()
            partial = Array(newValue.prefix(Self.maxPendingBytes))
            lock.unlock()
        }
    }

    public var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return storedLines
    }

    /// The last line printed at or before `seconds` (wall clock).
    public func lastLine(atOrBefore seconds: Double) -> Line? {
        lock.lock()
        defer { lock.unlock() }
        return storedLines.last { $0.seconds <= seconds }
    }

    /// The first line printed after `seconds` (wall clock), waiting for one up to `timeoutSeconds`.
    public func firstLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> Line? {
        let deadline = monotonicSeconds() + timeoutSeconds
        while true {
            lock.lock()
            let found = storedLines.last.flatMap { newest in
                newest.seconds > seconds ? storedLines.reversed().prefix { $0.seconds > seconds }.last : nil
            }
            lock.unlock()
            if let found { return found }
            if monotonicSeconds() >= deadline { return nil }
            usleep(2_000)
        }
    }

    /// The heartbeat lines ("hb N"): their numbers and times.
    public var heartbeats: [(count: Int, seconds: Double)] {
        lines.compactMap { line in
            guard line.text.hasPrefix("hb "), let count = Int(line.text.dropFirst(3)) else { return nil }
            return (count, line.seconds)
        }
    }
}
