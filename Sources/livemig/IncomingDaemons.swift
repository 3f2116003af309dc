import Foundation
import GuestControl
import MigrationExecutor
import Relocation

/// The KVM receiver's loop: accepts connections and starts one guest daemon per incoming
/// migration, within the limits. It waits with poll on the listener and on the arrival pipes of
/// the migrations under way (see `IncomingArrival`); a pipe that ends means the guest runs (or
/// its daemon is gone), and the migration no longer counts. Daemons that exit are reaped with
/// waitpid(WNOHANG) at every turn (at least once a second). A connection over a limit, or from a
/// peer hosts-allow refuses, is closed at once with a log line; a daemon that cannot be started
/// is logged, and the receiver goes on.
struct IncomingDaemons {
    let listener: ListeningSocket
    let runDirectory: RunDirectory
    let settings: RelocationServerSettings
    let once: Bool

    /// The daemon's TLS options: it does the handshake itself (a TLS session cannot cross
    /// processes), before it reads anything or reserves guest memory.
    private var tlsArguments: [String] {
        guard let tls = settings.tls else { return [] }
        return ["--tls-ca", tls.caFilePath, "--tls-cert", tls.certificateFilePath, "--tls-key", tls.privateKeyFilePath]
            + (tls.allowedPeerNames.isEmpty ? [] : ["--tls-allow", tls.allowedPeerNames.joined(separator: " ")])
    }

    /// With `once`, serves until one connection has brought a guest (or its daemon ended
    /// without one after a guest's layout came): a connection that ended before any guest (a
    /// query, a throughput probe, a refused or broken stream) does not count, and no other is
    /// accepted while the one is under way.
    func serve() {
        var table = IncomingMigrationTable(maxIncoming: settings.maxIncoming, maxPerPeer: settings.maxPerPeer)
        let flags = fcntl(listener.fd, F_GETFL)
        _ = fcntl(listener.fd, F_SETFL, flags | O_NONBLOCK)  // poll said readable; accept must not then block
        var onceArrival: Int32?
        while true {
            // While --once's connection is under way the listener is not watched: a connection
            // waiting in its backlog would wake every poll at once and spin.
            var watched = [pollfd(fd: onceArrival == nil ? listener.fd : -1, events: Int16(POLLIN), revents: 0)]
                + table.entries.map { pollfd(fd: $0.arrivalDescriptor, events: Int16(POLLIN), revents: 0) }
            _ = poll(&watched, nfds_t(watched.count), 1000)
            for entry in watched.dropFirst() where entry.revents != 0 {
                let answered = endArrival(entry.fd, in: &table)
                if entry.fd == onceArrival {
                    guard answered else { return }
                    onceArrival = nil
                }
            }
            for ended in reapDaemons(&table) where ended.descriptor == onceArrival {
                guard ended.answered else { return }
                onceArrival = nil
            }
            if onceArrival == nil, watched[0].revents != 0, let arrival = acceptOne(into: &table), once { onceArrival = arrival }
        }
    }

    /// Accepts one connection and starts its daemon if it is admitted; its arrival pipe if it was.
    private func acceptOne(into table: inout IncomingMigrationTable) -> Int32? {
        let fd = accept(listener.fd, nil, nil)
        guard fd >= 0 else {
            if errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                ReceiverLog.line("accept on port \(listener.port): \(String(cString: strerror(errno))); going on")
                usleep(100_000)  // out of descriptors, say: do not spin
            }
            return nil
        }
        let connection = BlockingSocket(fd: fd, peer: SocketAddress.peerWithPort(of: fd) ?? "?")
        let address = SocketAddress.peer(of: fd) ?? connection.peer
        switch table.admission(for: address) {
        case .admitted:
            break
        case .tooMany(let limit):
            ReceiverLog.line("refused connection from \(connection.peer): \(limit) incoming migrations under way (--max-incoming \(limit))")
            connection.close()
            return nil
        case .tooManyFromPeer(let limit):
            ReceiverLog.line("refused connection from \(connection.peer): \(limit) incoming migrations from \(address) under way (--max-per-peer \(limit))")
            connection.close()
            return nil
        }
        guard RelocationGate(settings: settings).admit(connection) != nil else { return nil }
        guard let (pid, arrival) = startDaemon(for: connection) else { return nil }
        table.add(.init(processID: pid, peer: address, arrivalDescriptor: arrival))
        ReceiverLog.line("incoming migration from \(connection.peer): daemon pid \(pid)")
        return arrival
    }

    /// Starts `guest daemon --incoming` with the connection on fd 3 and the arrival pipe's write
    /// end on fd 4; returns its pid and the pipe's read end, or nil (logged) if it cannot.
    private func startDaemon(for connection: BlockingSocket) -> (pid_t, Int32)? {
        defer { connection.close() }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            ReceiverLog.line("cannot start a guest daemon for \(connection.peer): pipe: \(String(cString: strerror(errno))); the receiver goes on")
            return nil
        }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        // Read only when poll says so or the daemon is gone; never a read that could block.
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        defer { close(ends[1]) }
        do {
            let pid = try DaemonSpawner.spawn(
                arguments: ["guest", "daemon", "--incoming", "--arrival-pipe", "--handshake-timeout", String(settings.handshakeTimeoutSeconds),
                            "--run-dir", runDirectory.path] + tlsArguments,
                logPath: "\(runDirectory.path)/incoming.log", passing: [connection.fd, ends[1]])
            return (pid, ends[0])
        } catch {
            close(ends[0])
            ReceiverLog.line("cannot start a guest daemon for \(connection.peer): \(error.description); the receiver goes on")
            return nil
        }
    }

    /// An arrival pipe has something to say: the guest runs, the connection ended before any
    /// guest came (a query, a throughput probe, a stream refused early: true), or the daemon is
    /// gone.
    @discardableResult
    private func endArrival(_ descriptor: Int32, in table: inout IncomingMigrationTable) -> Bool {
        var byte: UInt8 = 0
        let count = read(descriptor, &byte, 1)
        guard let entry = table.removeArrival(descriptor) else { return false }
        close(descriptor)
        if count == 1, byte == IncomingArrival.answeredByte {
            ReceiverLog.line("the connection from \(entry.peer) brought no guest (a query, a throughput probe, or a stream refused before its guest: see \(runDirectory.path)/incoming.log; daemon pid \(entry.processID))")
            return true
        }
        if count == 1, byte == IncomingArrival.runningByte {
            ReceiverLog.line("the guest from \(entry.peer) runs (daemon pid \(entry.processID))")
        } else {
            ReceiverLog.line("the incoming migration from \(entry.peer) ended without a running guest (daemon pid \(entry.processID); see \(runDirectory.path)/incoming.log)")
        }
        return false
    }

    /// Reaps every daemon that has exited (incoming or long since running its guest); one still
    /// counted as arriving has its pipe read first (a byte it wrote before it exited is still
    /// there): its descriptor, and whether it was answered without a guest.
    private func reapDaemons(_ table: inout IncomingMigrationTable) -> [(descriptor: Int32, answered: Bool)] {
        var ended: [(descriptor: Int32, answered: Bool)] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return ended }
            if let entry = table.entries.first(where: { $0.processID == pid }) {
                ended.append((entry.arrivalDescriptor, endArrival(entry.arrivalDescriptor, in: &table)))
            }
        }
    }
}
