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
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            file = FileHandle(forWritingAtPath: path)
            file?.seekToEndOfFile()
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
        } else if partial.count < 4096 {
            partial.append(byte)
        }
    }

    public var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return storedLines
    }

    /// The heartbeat lines ("hb N"): their numbers and times.
    public var heartbeats: [(count: Int, seconds: Double)] {
        lines.compactMap { line in
            guard line.text.hasPrefix("hb "), let count = Int(line.text.dropFirst(3)) else { return nil }
            return (count, line.seconds)
        }
    }
}
