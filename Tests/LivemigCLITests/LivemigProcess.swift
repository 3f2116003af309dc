import Foundation
import XCTest

/// Runs the built `livemig` executable as a real process, from the package root, and collects
/// its exit status, standard output and standard error. The binary is looked for next to the
/// test bundle (`<scratch>/debug/livemig`); `LIVEMIG_BINARY` may name another one.
enum LivemigProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The package root: three levels above this file (Tests/LivemigCLITests/…).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["LIVEMIG_BINARY"] {
            guard FileManager.default.isExecutableFile(atPath: path) else { throw Missing(searched: ["LIVEMIG_BINARY=\(path)"]) }
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in candidates {
            let url = directory.appendingPathComponent("livemig")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: url.path) {
                return url
            }
        }
        throw Missing(searched: candidates.map(\.path))
    }

    struct Missing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "the livemig executable was not found next to the test bundle (looked in \(searched.joined(separator: ", "))); "
                + "build it first with `swift build` using the same --scratch-path, or set LIVEMIG_BINARY"
        }
    }

    /// Runs `livemig arguments…` in `directory` (the package root by default) and waits for it.
    static func run(_ arguments: [String], in directory: URL = packageRoot) throws -> Result {
        try runExecutable(try binary().path, arguments, in: directory)
    }

    /// Runs any executable the same way (for `ip netns exec … livemig …`).
    static func runExecutable(_ path: String, _ arguments: [String], in directory: URL = packageRoot) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        // Files, not pipes: a full pipe would block the child while we wait for it.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: outURL, encoding: .utf8),
                      stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// Parses a JSON object printed by `--format json`.
    static func jsonObject(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(value as? [String: Any], "not a JSON object: \(text)", file: file, line: line)
    }

    /// Runs `command + arguments` for each case and checks it fails with one line on standard
    /// error that contains the case's text (every bad input: one clear line naming it).
    static func assertEachFailsInOneLine(_ command: [String], _ cases: [([String], String)],
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        for (arguments, expected) in cases {
            let result = try run(command + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)", file: file, line: line)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)", file: file, line: line)
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)", file: file, line: line)
        }
    }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(for test: XCTestCase) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("LivemigCLITests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }
}
