import ArgumentParser
import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor
import XenBackend

/// `livemig receive`: accepts migrations and runs each arriving guest under its own name, in
/// its own daemon process (like `xl migrate-receive`, one process per incoming guest).
struct ReceiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive", abstract: "Accept migrations and run arriving guests under their own names.")

    @Option(help: "ADDR:PORT to listen on (default: all addresses, port 8002, xend's relocation port; port 0: any free port).")
    var listen: String = ":\(Endpoint.defaultPort)"
    @Flag(help: "Accept one migration, then exit.") var once = false
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Receive Xen domains (the default on a Xen host), speaking xl's migration protocol; an error elsewhere.") var xen = false

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        if xen || XenHost.isXenHost { return try receiveXenDomains() }
        signal(SIGCHLD, SIG_IGN)  // daemons are reaped by the kernel
        let runDirectory = host.directory
        do {
            try runDirectory.create()
            let (host, port) = try parseListen(listen)
            let listener = try ListeningSocket(host: host, port: port)
            print("livemig receive: listening on \(host.isEmpty ? "*" : host):\(listener.port), guests in \(runDirectory.path)")
            fflush(nil)
            repeat {
                let connection = try listener.accept()
                let pid = try DaemonSpawner.spawn(
                    arguments: ["guest", "daemon", "--incoming", "--run-dir", runDirectory.path],
                    logPath: "\(runDirectory.path)/incoming.log", passing: connection.fd)
                connection.close()
                print("incoming migration from \(connection.peer): daemon pid \(pid)")
                fflush(nil)
            } while !once
        } catch {
            throw failure(error.description)
        }
    }

    /// Xen: each connection is one `xl migrate`-style stream, received in this process (libxl
    /// forks its save helper and waits for it, so SIGCHLD keeps its default here).
    private func receiveXenDomains() throws {
        do {
            let xenHost = try XenHost()
            for name in try XenMigrationReceiver.removeStaleIncoming(on: xenHost) {
                print("removed \(name), left paused by a receiver that died mid-stream")
            }
            let (address, port) = try parseListen(listen)
            let listener = try ListeningSocket(host: address, port: port)
            print("livemig receive: listening on \(address.isEmpty ? "*" : address):\(listener.port) for Xen domains (xl's migration protocol)")
            fflush(nil)
            repeat {
                let connection = try listener.accept()
                do {
                    let received = try XenMigrationReceiver.receive(on: connection, host: xenHost)
                    print("received domain \(received.name) (id \(received.domainID)) from \(connection.peer): running")
                } catch {
                    print("migration from \(connection.peer) failed: \(error.description)")
                }
                connection.close()
                fflush(nil)
            } while !once
        } catch {
            throw failure(error.description)
        }
    }

    private func parseListen(_ text: String) throws(HostFailure) -> (String, Int) {
        if text.hasPrefix(":") {
            guard let port = Int(text.dropFirst()), (0 ... 65535).contains(port) else {
                throw HostFailure("--listen \(text): the port must be a number from 0 to 65535")
            }
            return ("", port)
        }
        // HOST:0 asks for any free port (the line printed at start names it).
        if text.hasSuffix(":0"), !text.dropLast(2).isEmpty {
            return (String(text.dropLast(2)).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), 0)
        }
        let endpoint = try Endpoint(parsing: text)
        return (endpoint.host, endpoint.port)
    }
}
