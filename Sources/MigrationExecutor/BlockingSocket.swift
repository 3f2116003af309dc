import Foundation
import MigrationCore

/// A TCP connection over plain POSIX sockets (or, for save and restore, a file), used from one
/// thread at a time. Blocking I/O on a dedicated thread is the simplest fast way to pump a
/// migration stream (no event loop needed for one connection); every failure is a
/// `HostFailure` naming the peer and the system error. After `startTLS` (BlockingSocket+TLS)
/// the same calls go through an OpenSSL session; without it they are the plain system calls,
/// unchanged (one nil check more).
public final class BlockingSocket: @unchecked Sendable {
    public let fd: Int32
    public let peer: String
    /// False for a file: plain read/write instead of send/recv.
    public let isSocket: Bool
    private var closed = false
    /// The TLS session once `startTLS` succeeded; the I/O calls below go through it then.
    var tls: TLSSession?
    /// The peer's certificate names once `startTLS` succeeded.
    public internal(set) var tlsPeerIdentity: TLSPeerIdentity?
    /// Whether the connection is under TLS.
    public var isTLS: Bool { tls != nil }

    public init(fd: Int32, peer: String, isSocket: Bool = true) {
        self.fd = fd
        self.peer = peer
        self.isSocket = isSocket
        if isSocket {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// A file opened for a saved guest: `write` to create (truncating), otherwise read.
    public static func file(path: String, write: Bool) throws(HostFailure) -> BlockingSocket {
        let fd = write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostFailure("\(path): cannot open \(write ? "for writing" : "for reading"): \(String(cString: strerror(errno)))")
        }
        return BlockingSocket(fd: fd, peer: path, isSocket: false)
    }

    /// Makes sure the data written so far is on disk (files only).
    public func sync() throws(HostFailure) {
        guard !isSocket else { return }
        if fsync(fd) != 0 { throw HostFailure("\(peer): fsync: \(String(cString: strerror(errno)))") }
    }

    deinit { close() }

    /// Closes the connection; under TLS, sends close_notify first if it can go at once.
    public func close() {
        guard !closed else { return }
        closed = true
        if let tls {
            try? setNonBlocking(true)
            tls.sendCloseNotify()
            self.tls = nil
        }
        Glibc.close(fd)
    }

    /// Connects to `endpoint`, trying each address it resolves to.
    /// Each address gets at most `timeoutSeconds` to answer (a host that drops packets would
    /// otherwise hold the caller for the kernel's two minutes of retries). The name lookup
    /// itself is the resolver's and keeps its own timeouts (/etc/resolv.conf).
    public static func connect(to endpoint: Endpoint, timeoutSeconds: Double = 10) throws(HostFailure) -> BlockingSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        guard status == 0, let first = result else {
            throw HostFailure("cannot resolve \(endpoint): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let candidate = info {
            let fd = socket(candidate.pointee.ai_family, candidate.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                            candidate.pointee.ai_protocol)
            if fd >= 0 {
                if let failure = connectWithin(timeoutSeconds, fd: fd, to: candidate.pointee) {
                    lastError = failure
                    Glibc.close(fd)
                } else {
                    return BlockingSocket(fd: fd, peer: endpoint.description)
                }
            }
            info = candidate.pointee.ai_next
        }
        throw HostFailure("cannot connect to \(endpoint): \(lastError)")
    }

    /// A non-blocking connect, waited for with poll; nil when connected (the socket is then
    /// blocking again), else why not.
    private static func connectWithin(_ timeoutSeconds: Double, fd: Int32, to address: addrinfo) -> String? {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        let seconds = timeoutSeconds.isFinite ? max(1, min(timeoutSeconds, 3600)) : 10
        let milliseconds = Int32(seconds * 1000)
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, milliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return ready == 0 ? "no answer within \(Int(seconds)) s" : String(cString: strerror(errno)) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(HostFailure) {
        if let tls { return try tls.write(bytes) }
        var offset = 0
        while offset < bytes.count {
            let written = isSocket
                ? Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                : Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw HostFailure("sending to \(peer): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws(HostFailure) {
        // withUnsafeBytes only rethrows untyped errors: carry the typed one out by hand.
        var failure: HostFailure?
        bytes.withUnsafeBytes { buffer in
            do { try write(buffer) } catch { failure = error as? HostFailure ?? HostFailure("\(error)") }
        }
        if let failure { throw failure }
    }

    /// Writes the buffers in order with `sendmsg` (gather I/O: page data goes straight from
    /// guest memory to the socket, no copy in between).
    public func writeGathered(_ pieces: inout [iovec]) throws(HostFailure) {
        if let tls { return try tls.writeGathered(pieces) }
        var index = 0
        while index < pieces.count {
            let count = min(pieces.count - index, Int(UIO_MAXIOV))
            var message = msghdr()
            let socket = isSocket
            let written = pieces.withUnsafeMutableBufferPointer { buffer -> Int in
                guard socket else { return writev(fd, buffer.baseAddress! + index, Int32(count)) }
                message.msg_iov = buffer.baseAddress! + index
                message.msg_iovlen = count
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw HostFailure("sending to \(peer): \(String(cString: strerror(errno)))")
            }
            skip(written, of: &pieces, from: &index)
        }
    }

    /// Fills the buffers in order with `readv` (scatter I/O: page data goes from the socket
    /// straight into guest memory). Each call reads what is there, blocking for at least one
    /// byte; `handle` hears of each read's size. Throws if the connection ends first, or, with
    /// a `deadline` (monotonic seconds), if it comes first: each read then waits at most until
    /// it, so a peer trickling a byte at a time cannot stretch the whole past it.
    public func readScattered(_ pieces: inout [iovec], deadline: Double? = nil, handle: (Int) -> Void) throws(HostFailure) {
        if let tls {
            return try tls.readScattered(pieces, beforeEachRead: { () throws(HostFailure) in try self.waitAtMost(until: deadline) }, handle: handle)
        }
        var index = 0
        while index < pieces.count {
            try waitAtMost(until: deadline)
            let count = min(pieces.count - index, Int(UIO_MAXIOV))
            let received = pieces.withUnsafeMutableBufferPointer { readv(fd, $0.baseAddress! + index, Int32(count)) }
            if received < 0 {
                if errno == EINTR { continue }
                throw HostFailure("receiving from \(peer): \(String(cString: strerror(errno)))")
            }
            guard received > 0 else { throw HostFailure("\(peer) closed the connection in the middle of page data") }
            handle(received)
            skip(received, of: &pieces, from: &index)
        }
    }

    /// With a deadline: throws as a timed-out read once it has passed, else sets the receive
    /// timeout to the time left, so that the next read waits no longer.
    private func waitAtMost(until deadline: Double?) throws(HostFailure) {
        guard let deadline else { return }
        let remaining = deadline - monotonicSeconds()
        // Said as a timed-out read (EAGAIN), so callers name their timeout as for a silent peer.
        guard remaining > 0 else { throw HostFailure("receiving from \(peer): \(String(cString: strerror(EAGAIN)))") }
        setReceiveTimeout(seconds: remaining)
    }

    /// Moves `index` past the `bytes` bytes a gather or scatter call moved; trims a partly
    /// moved piece.
    private func skip(_ bytes: Int, of pieces: inout [iovec], from index: inout Int) {
        var remaining = bytes
        while remaining > 0 {
            let length = pieces[index].iov_len
            if remaining >= length {
                remaining -= length
                index += 1
            } else {
                pieces[index].iov_base = pieces[index].iov_base! + remaining
                pieces[index].iov_len = length - remaining
                remaining = 0
            }
        }
    }

    /// Reads what is there (at most `buffer.count` bytes), blocking for at least one; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(HostFailure) -> Int {
        if let tls { return try tls.read(into: buffer) }
        while true {
            let count = isSocket ? recv(fd, buffer.baseAddress, buffer.count, 0) : Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw HostFailure("receiving from \(peer): \(String(cString: strerror(errno)))")
        }
    }

    /// Gives up on reads that wait longer than `seconds` (0: wait for ever; see `SocketOptions`).
    public func setReceiveTimeout(seconds: Double) {
        SocketOptions.setTimeout(SO_RCVTIMEO, seconds: seconds, on: fd)
    }

    /// The receive timeout now set (0: none).
    public var receiveTimeoutSeconds: Double? { SocketOptions.timeout(SO_RCVTIMEO, of: fd) }
}

/// A listening TCP socket.
public final class ListeningSocket: @unchecked Sendable {
    public let fd: Int32
    public let port: Int

    public init(host: String, port: Int) throws(HostFailure) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw HostFailure("cannot resolve listen address \(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
        guard fd >= 0 else { throw HostFailure("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HostFailure("cannot listen on \(host.isEmpty ? "*" : host):\(port): \(reason)")
        }
        guard listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HostFailure("listen on port \(port): \(reason)")
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = address.ss_family
        let boundPort = withUnsafePointer(to: &address) { pointer -> Int in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        self.fd = fd
        self.port = boundPort
    }

    deinit { Glibc.close(fd) }

    /// Waits for the next connection.
    public func accept() throws(HostFailure) -> BlockingSocket {
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
            }
            if client >= 0 { return BlockingSocket(fd: client, peer: Self.describe(&address)) }
            if errno == EINTR { continue }
            throw HostFailure("accept on port \(port): \(String(cString: strerror(errno)))")
        }
    }

    /// "address:port" of a peer, numerically.
    static func describe(_ address: inout sockaddr_storage) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return "?" }
        return "\(String(nulTerminated: host)):\(String(nulTerminated: service))"
    }
}

/// `HOST[:PORT]` as the command line writes it; the port defaults to 8002 (xend's relocation port).
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public static let defaultPort = 8002
    public var host: String
    public var port: Int

    public init(host: String, port: Int = Endpoint.defaultPort) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(HostFailure) {
        var host = text
        var port = Self.defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw HostFailure("'\(text)': an IPv6 address needs its closing ]") }
            host = String(text[text.index(after: text.startIndex) ..< close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()), (1 ... 65535).contains(value) else {
                    throw HostFailure("'\(text)': the port must be a number from 1 to 65535")
                }
                port = value
            }
        } else if let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
            host = String(text[..<colon])
            guard let value = Int(text[text.index(after: colon)...]), (1 ... 65535).contains(value) else {
                throw HostFailure("'\(text)': the port must be a number from 1 to 65535")
            }
            port = value
        }
        guard !host.isEmpty else { throw HostFailure("'\(text)': the host is empty") }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
