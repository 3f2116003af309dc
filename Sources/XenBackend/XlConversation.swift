import CXen
import MigrationCore
import MigrationExecutor

/// Fixed-size messages over a blocking socket, for xl's handshake.
struct XlConversation {
    let socket: BlockingSocket

    func read(_ count: Int) throws(HostFailure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            var failure: HostFailure?
            let got = bytes.withUnsafeMutableBytes { buffer -> Int in
                do {
                    return try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                } catch {
                    failure = error as? HostFailure ?? HostFailure("\(error)")
                    return 0
                }
            }
            if let failure { throw failure }
            guard got > 0 else { throw HostFailure("\(socket.peer) closed the connection") }
            filled += got
        }
        return bytes
    }

    /// Reads `count` bytes, giving up after `seconds` without any (0: waits for ever).
    func read(_ count: Int, within seconds: Double) throws(HostFailure) -> [UInt8] {
        socket.setReceiveTimeout(seconds: seconds)
        defer { socket.setReceiveTimeout(seconds: 0) }
        do {
            return try read(count)
        } catch {
            guard seconds > 0, BlockingSocket.isTimeout(error) else { throw error }
            throw HostFailure("\(socket.peer) sent nothing for \(seconds) s")
        }
    }

    func expect(_ message: [UInt8], _ what: String, within seconds: Double = 0) throws(HostFailure) {
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
    func readConfiguration(host: XenHost) throws(HostFailure) -> (json: String, name: String) {
        let header = try read(XlMigrationProtocol.headerBytes)
        let json = try XlMigrationProtocol.configJSON(fromOptionalData: try read(try XlMigrationProtocol.optionalDataLength(ofHeader: header)))
        return (json, try host.configurationName(json))
    }
}
