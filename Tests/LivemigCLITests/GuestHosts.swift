import Foundation
import XCTest

/// Two or more "hosts" on one machine for the command-line migration tests: each has its own
/// run directory (guest daemons, control sockets, console logs); optionally its own network
/// namespace. Everything is torn down at the end of the test, guests included.
final class GuestHosts {
    let root: URL
    private var receivers: [SpawnedProcess] = []
    private var namespaces: [String] = []
    private var runDirectories: [String] = []
    /// The veth ends of the last `makeNetworkPair` (in its first and second namespace).
    private(set) var interfaces: (a: String, b: String)?

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("lm-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// A run directory for one host.
    func runDirectory(_ name: String) -> String {
        let path = root.appendingPathComponent(name).path
        runDirectories.append(path)
        return path
    }

    /// Starts `livemig receive` in the background (inside `namespace` when given); returns a
    /// reader of its output.
    func startReceiver(listen: String, runDirectory: String, namespace: String? = nil, extraArguments: [String] = []) throws -> URL {
        let output = root.appendingPathComponent("receive-\(receivers.count).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let binary = try LivemigProcess.binary().path
        let arguments = ["receive", "--listen", listen, "--run-dir", runDirectory] + extraArguments
        let process = namespace.map { namespace in
            (path: "/usr/sbin/ip", arguments: ["netns", "exec", namespace, binary] + arguments)
        } ?? (path: binary, arguments: arguments)
        receivers.append(try SpawnedProcess.start(process.path, process.arguments, outputPath: output.path))
        XCTAssertTrue(Self.waitUntil(seconds: 10) { ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains("listening") },
                      "the receiver did not start: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
        return output
    }

    /// Starts a receiver on an ephemeral loopback port and returns the port it printed.
    func startLoopbackReceiver(_ runDirectory: String, extraArguments: [String] = []) throws -> (port: Int, output: URL) {
        let output = try startReceiver(listen: "127.0.0.1:0", runDirectory: runDirectory, extraArguments: extraArguments)
        let text = try String(contentsOf: output, encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("listening on") })
        let address = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") })
        return (try XCTUnwrap(Int(address.split(separator: ":")[1].trimmingCharacters(in: .punctuationCharacters))), output)
    }

    /// Two network namespaces joined by a veth pair: (namespace, address) for each end.
    func makeNetworkPair() throws -> (a: (String, String), b: (String, String)) {
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let (nsA, nsB) = ("lmA\(tag)", "lmB\(tag)")
        let (ifA, ifB) = ("va\(tag)", "vb\(tag)")
        interfaces = (ifA, ifB)
        let (addressA, addressB) = ("10.213.7.1", "10.213.7.2")
        for command in [["netns", "add", nsA], ["netns", "add", nsB]] {
            try Self.ip(command)
        }
        namespaces = [nsA, nsB]
        try Self.ip(["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB])
        for (ns, interface, address) in [(nsA, ifA, addressA), (nsB, ifB, addressB)] {
            try Self.ip(["-n", ns, "address", "add", "\(address)/24", "dev", interface])
            try Self.ip(["-n", ns, "link", "set", interface, "up"])
            try Self.ip(["-n", ns, "link", "set", "lo", "up"])
        }
        return ((nsA, addressA), (nsB, addressB))
    }

    static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "ip", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "ip \(arguments.joined(separator: " ")) failed"])
        }
    }

    /// Runs livemig inside a namespace (or directly).
    func livemig(_ arguments: [String], namespace: String? = nil) throws -> LivemigProcess.Result {
        if let namespace {
            return try LivemigProcess.runExecutable("/usr/sbin/ip", ["netns", "exec", namespace, try LivemigProcess.binary().path] + arguments)
        }
        return try LivemigProcess.run(arguments)
    }

    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// The process ids of the receivers started so far, oldest first.
    var receiverPIDs: [pid_t] { receivers.map(\.pid) }

    /// Stops every receiver started so far (their guests' daemons go on).
    func stopReceivers() {
        for process in receivers { process.terminate() }
        receivers.removeAll()
    }

    func tearDown() {
        stopReceivers()
        // Stop every guest daemon left in the run directories.
        for directory in runDirectories {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for entry in entries where entry.hasSuffix(".sock") {
                _ = try? LivemigProcess.run(["guest", "stop", String(entry.dropLast(5)), "--run-dir", directory])
            }
        }
        for namespace in namespaces { try? Self.ip(["netns", "delete", namespace]) }
        try? FileManager.default.removeItem(at: root)
    }
}

/// Tests that need /dev/kvm fail, loudly, when it is missing.
func requireKVMDevice(file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.fileExists(atPath: "/dev/kvm") else {
        XCTFail("/dev/kvm is missing: this test needs KVM", file: file, line: line)
        throw XCTSkip("no /dev/kvm")
    }
}

/// A test case with fresh `GuestHosts`, torn down after each test; needs /dev/kvm.
class GuestHostsTestCase: XCTestCase {
    var hosts: GuestHosts!

    override func setUpWithError() throws {
        try requireKVMDevice()
        hosts = try GuestHosts()
    }

    override func tearDown() {
        hosts?.tearDown()
    }

    /// `livemig list` on a host ("" if it fails).
    func listing(_ runDirectory: String) -> String {
        (try? hosts.livemig(["list", "--run-dir", runDirectory]).stdout) ?? ""
    }

    /// Starts guest `name` (`memory`, `workload`) on host A and migrates it live to the receiver
    /// at `portB` with `arguments` added; asserts both commands succeeded and returns the JSON report.
    func startAndMigrate(_ name: String, memory: String, workload: String, hostA: String, portB: Int,
                         _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let started = try hosts.livemig(["guest", "start", name, "--memory", memory, "--workload", workload, "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr, file: file, line: line)
        let moved = try LivemigProcess.run(["migrate", "--live", name, "127.0.0.1:\(portB)", "--format", "json", "--run-dir", hostA] + arguments)
        XCTAssertEqual(moved.status, 0, moved.stderr, file: file, line: line)
        return try LivemigProcess.jsonObject(moved.stdout)
    }

    /// Test certificates for hosta and hostb, both 127.0.0.1 (scripts/make-tls-certs): the
    /// directory holding one subdirectory per host.
    func makeLoopbackCertificates(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let pki = hosts.root.appendingPathComponent("pki").path
        let certificates = try LivemigProcess.runExecutable("/bin/bash", ["scripts/make-tls-certs", pki, "hosta=127.0.0.1", "hostb=127.0.0.1"])
        XCTAssertEqual(certificates.status, 0, certificates.stderr, file: file, line: line)
        return pki
    }

    /// How many heartbeat lines guest `name` has printed on a host.
    func heartbeatCount(_ name: String, _ runDirectory: String) -> Int {
        let console = (try? hosts.livemig(["guest", "console", name, "--lines", "1000", "--run-dir", runDirectory]).stdout) ?? ""
        return console.split(separator: "\n").filter { $0.contains(" hb ") }.count
    }
}
