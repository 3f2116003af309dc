import ArgumentParser
import Foundation
import GuestControl
import KVMBackend
import XenBackend
import MigrationCore
import MigrationExecutor

/// `livemig guest`: start, watch and stop guests on this host.
struct GuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest", abstract: "Start, watch and stop guests on this host.",
        subcommands: [GuestStartCommand.self, GuestConsoleCommand.self, GuestStopCommand.self, GuestResumeCommand.self, TestImageCommand.self,
                      GuestDaemonCommand.self])
}

/// `livemig guest test-image FILE`: writes the built-in test firmware (real mode, PIT at 100 Hz,
/// HLT between ticks, "tick N" on the serial port) to try `--image` with.
struct TestImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test-image", abstract: "Write the built-in test firmware image to FILE.")
    @Argument(help: "The file to write.") var file: String

    func run() throws {
        guard FileManager.default.createFile(atPath: file, contents: Data(FirmwareImage.testImage)) else {
            throw failure("\(file): cannot write the image")
        }
        print("wrote \(FirmwareImage.testImage.count) bytes to \(file)")
    }
}

struct RunDirectoryOption: ParsableArguments {
    @Option(help: "Where guest daemons keep control sockets and logs (default: $LIVEMIG_RUN_DIR or /run/livemig).")
    var runDir: String?

    var directory: RunDirectory { RunDirectory(path: runDir) }

    /// Whether `name` means a Xen domain: asked for with `--xen`, or on a Xen host where none
    /// of livemig's KVM guests has that name.
    func namesXenDomain(_ name: String, xenFlag: Bool) -> Bool {
        xenFlag || (XenHost.isXenHost && !directory.guestNames().contains(name))
    }
}

/// `path` made absolute against the current directory (daemons run elsewhere).
func absolutePath(_ path: String) -> String {
    (path as NSString).isAbsolutePath ? path : FileManager.default.currentDirectoryPath + "/" + path
}

struct GuestStartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a guest in a background process.",
        discussion: "WORKLOAD: idle | uniform,workingSet=64MiB,rate=20000 | hotCold,workingSet=256MiB,hotSet=16MiB,hotRate=20000,coldRate=500 | sequential,workingSet=128MiB,rate=50000")

    @Argument(help: "The guest's name.") var name: String
    @Option(help: "Guest memory: 256M, 1G, 512MiB (a multiple of 2 MiB, 4 MiB to 4 GiB; 3 GiB with --image).") var memory: String
    @Option(help: "The built-in guest program's workload.") var workload: String = "idle"
    @Option(help: "Boot this flat firmware image instead (like qemu -bios; see docs/firmware-guests.md).") var image: String?
    @Option(help: "Seed of the guest's page choices.") var seed: UInt64 = 1
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        let runDirectory = host.directory
        do {
            try RunDirectory.validate(name: name)
            let bytes = try (image == nil ? OptionBounds.memory : OptionBounds.firmwareMemory).wholeNumber(memory)
            var arguments = ["guest", "daemon", name, "--memory-bytes", String(bytes), "--run-dir", runDirectory.path]
            if let image {
                let path = absolutePath(image)
                _ = try FirmwareImage.load(path: path)
                arguments += ["--image", path]
            } else {
                _ = try GuestWorkload.parse(workload, regionPages: (bytes - (2 << 20)) / GuestMemory.pageSizeBytes)
                arguments += ["--workload", workload, "--seed", String(seed)]
            }
            // Before anything of that name is touched: a running guest keeps its console log.
            try runDirectory.create()
            try runDirectory.refuseRunningGuest(name)
            let pid = try DaemonSpawner.spawn(arguments: arguments, logPath: runDirectory.daemonLog(name))
            let status = try DaemonSpawner.waitUntilServing(name, pid: pid, in: runDirectory)
            let what = image.map { "firmware \($0)" } ?? status.workload
            print("guest \(name) started: pid \(status.processID), \(status.memoryBytes >> 20) MiB, \(what); console: \(status.consoleLog)")
        } catch let error as HostFailure {
            throw failure(error.description)
        } catch let error as KVMError {
            throw failure(error.description)
        } catch let error as InputBoundError {
            throw failure(error.description)
        }
    }
}

struct GuestConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "console", abstract: "Print a guest's console (serial port) output.")
    @Argument(help: "The guest's name.") var name: String
    @Option(help: "How many of the last lines.") var lines: Int = 20
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        var request = ControlRequest(command: .console)
        request.lines = lines
        do {
            try request.validate()
            let reply = try host.directory.ask(name, request)
            for line in reply.console ?? [] { print(line) }
        } catch {
            throw failure("guest '\(name)': \(error.description)")
        }
    }
}

struct GuestStopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a guest and its daemon.")
    @Argument(help: "The guest's name.") var name: String
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        do {
            _ = try host.directory.ask(name, ControlRequest(command: .stop))
            print("guest \(name) stopped")
        } catch {
            throw failure("guest '\(name)': \(error.description)")
        }
    }
}

/// The background process itself (started by `guest start`, `receive` and `restore`).
struct GuestDaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "daemon", abstract: "(internal) Run a guest's daemon.",
                                                    shouldDisplay: false)
    @Argument var name: String?
    @Option var memoryBytes: Int?
    @Option var workload: String = "idle"
    @Option var seed: UInt64 = 1
    @Flag(help: "Receive the guest from a migration stream on fd 3.") var incoming = false
    @Flag(help: "With --incoming: fd 4 is the receiver's arrival pipe (one byte, then closed: the guest runs, or none came).")
    var arrivalPipe = false
    @Option(help: "With --incoming: seconds the stream header may take to arrive.") var handshakeTimeout: String?
    @Option(help: "With --incoming: mutual TLS, this CA's certificate file.") var tlsCa: String?
    @Option(help: "With --incoming: mutual TLS, this host's certificate file.") var tlsCert: String?
    @Option(help: "With --incoming: mutual TLS, this host's key file.") var tlsKey: String?
    @Option(help: "With --incoming: the peer certificate names allowed, space-separated.") var tlsAllow: String?
    @Option(help: "Boot this firmware image.") var image: String?
    @Option(help: "Restore the guest from a saved file.") var restore: String?
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let runDirectory = host.directory
        let daemon: GuestDaemon
        do {
            if incoming {
                final class Arrival { var guestCame = false }
                let arrival = Arrival()
                do {
                    if let handshakeTimeout { try IncomingArrival.waitForStreamHeader(timeoutText: handshakeTimeout) }
                    let connection = BlockingSocket(fd: IncomingArrival.connectionDescriptor, peer: "the migration source")
                    try startIncomingTLS(on: connection)
                    // A connection that only asked about a guest, or probed the path, was
                    // answered: nothing to serve.
                    // A parallel migration's data streams pass the same TLS check.
                    let command = self
                    guard let received = try GuestDaemon.receive(from: connection, runDirectory: runDirectory,
                                                                 secureDataStream: { stream throws(HostFailure) in try command.startIncomingTLS(on: stream) },
                                                                 onGuestLayout: { arrival.guestCame = true }) else {
                        if arrivalPipe { IncomingArrival.reportAnswered() }
                        return
                    }
                    daemon = received
                } catch {
                    // Refused or broken before any guest: not the one migration of `receive --once`.
                    if arrivalPipe, !arrival.guestCame { IncomingArrival.reportAnswered() }
                    throw error
                }
                if arrivalPipe { IncomingArrival.reportRunning() }
            } else if let image, let name, let memoryBytes {
                try OptionBounds.firmwareMemory.check(memoryBytes)
                try runDirectory.create()
                try runDirectory.refuseRunningGuest(name)
                daemon = try GuestDaemon.startFirmware(name: name, memoryBytes: memoryBytes, image: try FirmwareImage.load(path: image),
                                                       runDirectory: runDirectory)
            } else if let restore {
                guard let restored = try GuestDaemon.receive(from: try BlockingSocket.file(path: restore, write: false),
                                                             runDirectory: runDirectory) else { throw HostFailure("\(restore): not a saved guest") }
                daemon = restored
            } else {
                guard let name, let memoryBytes else { throw HostFailure("a guest daemon needs a name and --memory-bytes") }
                try OptionBounds.memory.check(memoryBytes)
                try runDirectory.create()
                try runDirectory.refuseRunningGuest(name)
                let parsed = try GuestWorkload.parse(workload, regionPages: (memoryBytes - (2 << 20)) / GuestMemory.pageSizeBytes)
                daemon = try GuestDaemon.startFresh(name: name, memoryBytes: memoryBytes, workload: parsed, seed: seed,
                                                    runDirectory: runDirectory)
            }
        } catch let error as HostFailure {
            throw failure(error.description)
        } catch let error as KVMError {
            throw failure(error.description)
        } catch let error as InputBoundError {
            throw failure(error.description)
        }
        FileHandle.standardError.write(Data("guest \(daemon.guest.name) \(daemon.isHeldAfterPostcopy ? "held paused" : "running") (pid \(getpid()))\n".utf8))
        throw ExitCode(daemon.serve())
    }
}

extension GuestDaemonCommand {
    /// With TLS options: the server side of the handshake, before a byte of the stream is read
    /// or any guest memory reserved; a peer without a certificate from the CA (or with a name
    /// not allowed) is refused here, and so is a plain connection.
    func startIncomingTLS(on connection: BlockingSocket) throws(HostFailure) {
        guard tlsCa != nil || tlsCert != nil || tlsKey != nil else { return }
        guard let tlsCa, let tlsCert, let tlsKey else { throw HostFailure("--tls-ca, --tls-cert and --tls-key go together") }
        let configuration = TLSConfiguration(caFilePath: tlsCa, certificateFilePath: tlsCert, privateKeyFilePath: tlsKey,
                                             allowedPeerNames: tlsAllow.map { $0.split(separator: " ").map(String.init) } ?? [])
        let seconds = handshakeTimeout.flatMap(Double.init).flatMap { $0.isFinite && $0 > 0 ? min($0, BlockingSocket.maxHandshakeTimeoutSeconds) : nil } ?? 30
        let identity = try connection.startTLS(configuration, role: .server, handshakeTimeoutSeconds: seconds)
        FileHandle.standardError.write(Data("TLS peer: \(identity) (\(identity.suite))\n".utf8))
    }
}

/// `livemig list`: the guests on this host, like `virsh list`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the guests on this host.",
        discussion: "On a Xen host (dom0), the Xen domains like `xl list`; elsewhere the KVM guests livemig runs.")
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "List Xen domains (the default on a Xen host); an error elsewhere.") var xen = false

    func run() throws {
        if xen || XenHost.isXenHost {
            try listXenDomains()
            if !xen, !host.directory.guestNames().isEmpty { print("") } else { return }
        }
        let runDirectory = host.directory
        print("name              state       memory  workload                                  writes/s  uptime")
        for name in runDirectory.guestNames() {
            guard let status = try? runDirectory.ask(name, ControlRequest(command: .status)).status else { continue }
            let achieved = status.achievedWritesPerSecond.map { String(format: "%.0f", $0) } ?? "-"
            let columns = [pad(status.name, 17), pad(status.state, 11), pad("\(status.memoryBytes >> 20)M", 7),
                           pad(status.workload, 41), pad(achieved, 9), String(format: "%.1fs", status.uptimeSeconds)]
            print(columns.joined(separator: " "))
        }
    }

    /// `xl list`'s columns: Name, ID, Mem, VCPUs, State, Time(s).
    private func listXenDomains() throws {
        let domains: [XenDomain]
        do {
            domains = try XenHost().domains()
        } catch {
            throw failure(error.description)
        }
        print("Name                                        ID   Mem VCPUs\tState\tTime(s)")
        for domain in domains {
            print(pad(domain.name, 40) + String(format: "%6u %5d %5d", domain.id, domain.memoryMiB, domain.vcpus)
                  + "\t\(domain.state)\t" + String(format: "%7.1f", domain.cpuTimeSeconds))
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
