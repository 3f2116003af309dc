import Foundation
import MigrationCore

/// Where a host's guest daemons keep their control sockets and logs: `$LIVEMIG_RUN_DIR`, or
/// `/run/livemig` (root) / `/tmp/livemig-UID`. Two "hosts" on one machine (tests, network
/// namespaces) use two directories.
public struct RunDirectory: Sendable {
    public let path: String

    public init(path: String? = nil) {
        if let path {
            self.path = path
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["LIVEMIG_RUN_DIR"], !fromEnvironment.isEmpty {
            self.path = fromEnvironment
        } else {
            self.path = getuid() == 0 ? "/run/livemig" : "/tmp/livemig-\(getuid())"
        }
    }

    public func create() throws(HostFailure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw HostFailure("\(path): cannot create the run directory: \(error.localizedDescription)")
        }
    }

    public func controlSocket(_ name: String) -> String { "\(path)/\(name).sock" }
    public func consoleLog(_ name: String) -> String { "\(path)/\(name).console" }
    public func daemonLog(_ name: String) -> String { "\(path)/\(name).log" }

    /// Names of the guests with a control socket here.
    public func guestNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { $0.hasSuffix(".sock") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A guest name: letters, digits, '-', '_', '.', 1 to 64 characters.
    public static func validate(name: String) throws(HostFailure) {
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.count <= 64, allowed, !name.hasPrefix(".") else {
            throw HostFailure("guest name '\(name)': use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")
        }
    }

    /// Asks the guest daemon `name` one request and returns its first reply.
    public func ask(_ name: String, _ request: ControlRequest) throws(HostFailure) -> ControlReply {
        let connection = try ControlConnection.connect(path: controlSocket(name))
        try connection.send(request)
        guard let reply = try connection.receive(ControlReply.self) else {
            throw HostFailure("guest '\(name)': the daemon closed the connection without answering")
        }
        if let error = reply.error { throw HostFailure(error) }
        return reply
    }
}
