import Foundation
import MigrationExecutor
import Relocation

/// The checks `receive` makes on a new connection before it reads a byte: the peer's address,
/// and hosts-allow (with the peer's name looked up only when the address alone is not allowed).
/// A refused peer is logged with its address and name, as xend logged it, and closed.
struct RelocationGate {
    let settings: RelocationServerSettings

    /// The connection's peer address if hosts-allow lets it in; nil after closing it otherwise.
    func admit(_ connection: BlockingSocket) -> String? {
        guard let address = SocketAddress.peer(of: connection.fd) else {
            ReceiverLog.line("refused connection from \(connection.peer): its address is unknown")
            connection.close()
            return nil
        }
        let decision = settings.hostsAllow.admits(address: address, name: { PeerName.fullyQualified(address) })
        guard case .refused(let name) = decision else { return address }
        ReceiverLog.line("refused connection from \(address) (\(name)): neither matches hosts-allow '\(settings.hostsAllow.description)'")
        connection.close()
        return nil
    }
}

/// The receiver's log: one line at a time on stdout, flushed (it usually goes to a file).
enum ReceiverLog {
    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }

    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("livemig receive: \(text)\n".utf8))
    }
}
