import Foundation
import MigrationCore
import MigrationExecutor

/// A Unix stream socket carrying JSON lines: a guest daemon's control channel.
public final class ControlConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()
    /// A control line longer than this is refused.
    public static let maxLineBytes = 1 << 20

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// Connects to the control socket at `path`.
    public static func connect(path: String) throws(HostFailure) -> ControlConnection {
        do {
            return try connectTelling(path: path)
        } catch {
            throw error.failure
        }
    }

    /// Why a connect failed: the failure to report, and connect(2)'s errno (0 when the failure
    /// came before it), so that "nobody listens" (ECONNREFUSED) and "no socket" (ENOENT) are
    /// told apart by code, not by the text of a message.
    public struct ConnectError: Error {
        public var failure: HostFailure
        public var code: Int32
    }

    /// Connects to the control socket at `path`, saying why not by errno.
    public static func connectTelling(path: String) throws(ConnectError) -> ControlConnection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectError(failure: HostFailure("socket: \(String(cString: strerror(errno)))"), code: 0) }
        var address: sockaddr_un
        do {
            address = try unixAddress(path)
        } catch {
            close(fd)
            throw ConnectError(failure: error, code: 0)
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else {
            let code = errno
            close(fd)
            throw ConnectError(failure: HostFailure("\(path): \(String(cString: strerror(code)))"), code: code)
        }
        return ControlConnection(fd: fd)
    }

    static func unixAddress(_ path: String) throws(HostFailure) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw HostFailure("\(path): a control socket path must be under \(capacity) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    public func send<T: Encodable>(_ value: T) throws(HostFailure) {
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw HostFailure("cannot encode a control message: \(error)")
        }
        var bytes = [UInt8](data)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw HostFailure("control socket: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Gives up on a receive that waits longer than `seconds` (0: wait for ever).
    public func setReceiveTimeout(seconds: Double) {
        SocketOptions.setTimeout(SO_RCVTIMEO, seconds: seconds, on: fd)
    }

    /// True when the client has closed its end or hung up: a command it can no longer hear the
    /// answer to is not carried out (a `stop` whose client gave up must not destroy a guest).
    public var peerHasHungUp: Bool {
        let peerClosed = SocketOptions.pollPeerClosed
        var entry = pollfd(fd: fd, events: peerClosed, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        return entry.revents & (peerClosed | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// The next line decoded, or nil when the other side closed the connection.
    public func receive<T: Decodable>(_ type: T.Type) throws(HostFailure) -> T? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                do {
                    return try decoder.decode(type, from: line)
                } catch {
                    throw HostFailure("malformed control message: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
            }
            guard buffer.count < Self.maxLineBytes else { throw HostFailure("a control message over \(Self.maxLineBytes) bytes") }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw HostFailure("control socket: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return nil }
            buffer.append(contentsOf: chunk[0 ..< count])
        }
    }
}

/// A listening Unix stream socket.
final class ControlListener: @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws(HostFailure) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostFailure("socket: \(String(cString: strerror(errno)))") }
        var address = try ControlConnection.unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HostFailure("\(path): cannot listen: \(reason)")
        }
        self.fd = fd
        self.path = path
    }

    func accept() -> ControlConnection? {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return ControlConnection(fd: client) }
            if errno == EINTR { continue }
            return nil
        }
    }

    /// The lock on the guest's name (see `GuestDaemon.claimControlSocket`), released on close.
    var nameLockDescriptor: Int32 = -1

    func close() {
        unlink(path)
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        if nameLockDescriptor >= 0 { Glibc.close(nameLockDescriptor) }
    }
}
