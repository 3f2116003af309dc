import CXen
import MigrationCore
import MigrationExecutor

/// Fixed-size messages over a blocking socket, for xl's handshake.
struct XlConversation {
    let socket: BlockingSocket

    /// Reads `count` bytes, all of them within `seconds` from now (a deadline for the whole
    /// message, not per read: a peer trickling a byte at a time cannot stretch it); 0 waits for
    /// ever (only where the caller bounds the wait otherwise).
    func read(_ count: Int, within seconds: Double) throws(HostFailure) -> [UInt8] {
        let deadline = seconds > 0 ? monotonicSeconds() + seconds : nil
        // The caller's own timeout (a receiver's idle timeout) comes back afterwards.
        // If it cannot be read, the deadline's last (bounded) timeout stays rather than none.
        let previous = socket.receiveTimeoutSeconds
        defer { if deadline != nil, let previous { socket.setReceiveTimeout(seconds: previous) } }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            if let deadline {
                let remaining = deadline - monotonicSeconds()
                guard remaining > 0 else { throw HostFailure("\(socket.peer) did not send it within \(seconds) s") }
                socket.setReceiveTimeout(seconds: remaining)
            }
            var failure: HostFailure?
            let got = bytes.withUnsafeMutableBytes { buffer -> Int in
                do {
                    return try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                } catch {
                    failure = error as? HostFailure ?? HostFailure("\(error)")
                    return 0
                }
            }
            if let failure {
                guard deadline != nil, BlockingSocket.isTimeout(failure) else { throw failure }
                throw HostFailure("\(socket.peer) did not send it within \(seconds) s")
            }
            guard got > 0 else { throw HostFailure("\(socket.peer) closed the connection") }
            filled += got
        }
        return bytes
    }

    func expect(_ message: [UInt8], _ what: String, within seconds: Double) throws(HostFailure) {
        let got: [UInt8]
        do {
            got = try read(message.count, within: seconds)
        } catch {
            throw HostFailure("waiting for \(what): \(error.description)")
        }
        guard got == message else { throw HostFailure("\(what) is wrong: \(String(decoding: got.prefix { $0 != 0 }, as: UTF8.self).debugDescription)") }
    }

    /// The savefile header and configuration that open an xl stream: the configuration's JSON
    /// and the domain's name in it.
    func readConfiguration<Host: XenMigrationDestinationHost>(host: Host) throws(HostFailure) -> (json: String, name: String) {
        // Bounded by the socket's idle timeout (the receiver's), as libxl's reads that follow.
        let header = try read(XlMigrationProtocol.headerBytes, within: 0)
        let json = try XlMigrationProtocol.configJSON(fromOptionalData: try read(try XlMigrationProtocol.optionalDataLength(ofHeader: header), within: 0))
        return (json, try host.configurationName(json))
    }
}
