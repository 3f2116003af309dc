import Foundation
import MigrationCore
import MigrationExecutor

/// The lines a guest prints on its serial port, each stamped with the host's wall clock when it
/// arrived: what a QEMU process sends to `-serial tcp:127.0.0.1:PORT` (QEMU connects to the
/// listener; a thread reads). livemig's own guests stamp their lines the same way (ConsoleLog),
/// so the guest-visible gap of a pause is measured alike for both.
final class SerialTimeline: @unchecked Sendable {
    struct Line { var seconds: Double; var text: String }

    let listener: ListeningSocket
    private let lock = NSLock()
    private var stored: [Line] = []
    private var reader: Thread?

    init() throws(HostFailure) {
        listener = try ListeningSocket(host: "127.0.0.1", port: 0)
    }

    var port: Int { listener.port }

    /// Waits up to `timeoutSeconds` for QEMU to connect, then reads in a thread until it closes.
    func startReading(timeoutSeconds: Double) throws(HostFailure) {
        var entry = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeoutSeconds * 1000)) > 0 else {
            throw HostFailure("no serial connection on 127.0.0.1:\(port) within \(timeoutSeconds) s")
        }
        let socket = try listener.accept()
        let thread = Thread { [self] in
            var partial: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { (try? socket.read(into: $0)) ?? 0 }
                if count <= 0 { break }
                let now = wallClockSeconds()
                for byte in buffer[0 ..< count] {
                    if byte == UInt8(ascii: "\n") {
                        let line = Line(seconds: now, text: String(decoding: partial, as: UTF8.self))
                        partial.removeAll(keepingCapacity: true)
                        lock.lock()
                        stored.append(line)
                        lock.unlock()
                    } else if byte != UInt8(ascii: "\r") {
                        partial.append(byte)
                    }
                }
            }
            socket.close()
        }
        reader = thread
        thread.start()
    }

    var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
