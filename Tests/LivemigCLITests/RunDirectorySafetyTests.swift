import Foundation
import MigrationExecutor
import XCTest

/// Run directories follow one rule (like OpenSSH's StrictModes): a real directory, not a
/// symbolic link; owned by the user or root; not writable by group or others; every parent
/// owned by the user or root and writable by others only when sticky. livemig makes them 0700
/// and opens its daemon logs in them with O_NOFOLLOW. Before: a run directory writable by
/// others was followed through symbolic links by root, and the default non-root directory was
/// a fixed /tmp path taken without a look at its owner.
final class RunDirectorySafetyTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try LivemigProcess.temporaryDirectory(for: self)
    }

    /// `guest start` with a valid memory size reaches the run directory before anything else.
    private func start(in runDirectory: String) throws -> LivemigProcess.Result {
        try LivemigProcess.run(["guest", "start", "g", "--memory", "16M", "--run-dir", runDirectory])
    }

    /// A file holding "precious", and `directory`/g.log a symbolic link to it; returns the file.
    private func plantLogLink(in directory: String, victim: String) throws -> String {
        let target = root.appendingPathComponent(victim).path
        FileManager.default.createFile(atPath: target, contents: Data("precious\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: directory + "/g.log", withDestinationPath: target)
        return target
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? Int)
    }

    func testARunDirectoryIsCreatedPrivateWithItsMissingParents() throws {
        let sticky = root.appendingPathComponent("tmp").path
        try FileManager.default.createDirectory(atPath: sticky, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o1777])
        let runDirectory = sticky + "/a/b/run"
        // `receive` makes its run directory first, then fails to listen on a port already taken.
        let taken = try ListeningSocket(host: "127.0.0.1", port: 0)
        let created = try LivemigProcess.run(["receive", "--once", "--listen", "127.0.0.1:\(taken.port)", "--run-dir", runDirectory])
        XCTAssertEqual(created.status, 1)
        XCTAssertTrue(created.stderr.contains("cannot listen") || created.stderr.contains("in use"), created.stderr)
        for path in [sticky + "/a", sticky + "/a/b", runDirectory] {
            XCTAssertEqual(try mode(path), 0o700, path)
        }
    }

    func testASymbolicLinkAsRunDirectoryIsRefused() throws {
        let real = root.appendingPathComponent("real").path
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let link = root.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let result = try start(in: link)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(link): the run directory is a symbolic link"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: real), [], "nothing was made through the link")
    }

    func testARunDirectoryWritableByOthersIsRefusedStickyOrNot() throws {
        for permissions in [0o777, 0o1777, 0o770] {
            let directory = root.appendingPathComponent("open-\(String(permissions, radix: 8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: permissions])
            // A planted log link: root would have appended to its target.
            let target = try plantLogLink(in: directory, victim: "victim-\(permissions)")
            let result = try start(in: directory)
            XCTAssertEqual(result.status, 1, result.stdout)
            XCTAssertTrue(result.stderr.contains("\(directory): the run directory is writable by"), result.stderr)
            XCTAssertTrue(result.stderr.contains("chmod go-w"), result.stderr)
            XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious\n")
        }
    }

    func testARunDirectoryOfAnotherUserIsRefused() throws {
        let directory = root.appendingPathComponent("theirs").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        guard chown(directory, 65534, 65534) == 0 else { throw XCTSkip("cannot chown (not root): \(String(cString: strerror(errno)))") }
        let result = try start(in: directory)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(directory): the run directory belongs to uid 65534"), result.stderr)
    }

    func testAParentWritableByOthersWithoutTheStickyBitIsRefused() throws {
        let parent = root.appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        let result = try start(in: parent + "/run")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("its parent \(parent) is writable by its group and others and not sticky"), result.stderr)
    }

    func testASymbolicLinkedLogInAPrivateRunDirectoryIsNotFollowed() throws {
        let directory = root.appendingPathComponent("private").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let target = try plantLogLink(in: directory, victim: "victim")
        let result = try start(in: directory)
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stderr.contains("\(directory)/g.log is a symbolic link"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious\n")
    }

    /// As an ordinary user: $XDG_RUNTIME_DIR/livemig when set; else /tmp/livemig-UID, refused
    /// when someone else made it first.
    func testTheDefaultRunDirectoryOfAnOrdinaryUser() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run livemig as another user")
        }
        let binary = try LivemigProcess.binary().path
        let uid: uid_t = 65534
        let runtime = root.appendingPathComponent("runtime").path
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        XCTAssertEqual(chown(runtime, uid, uid), 0)
        chmod(root.path, 0o755)
        let asUser = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "env", "LIVEMIG_RUN_DIR="]
        let viaRuntime = try LivemigProcess.runExecutable("/usr/bin/setpriv", asUser + ["XDG_RUNTIME_DIR=\(runtime)", binary,
                                                                                        "guest", "console", "none"])
        XCTAssertTrue(viaRuntime.stderr.contains("\(runtime)/livemig/none.sock"), viaRuntime.stderr)

        let fallback = "/tmp/livemig-\(uid)"
        try? FileManager.default.removeItem(atPath: fallback)
        defer { try? FileManager.default.removeItem(atPath: fallback) }
        try FileManager.default.createDirectory(atPath: fallback, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        XCTAssertEqual(chown(fallback, 4321, 4321), 0, "another user made it first")
        let squatted = try LivemigProcess.runExecutable("/usr/bin/setpriv", asUser + ["XDG_RUNTIME_DIR=", binary, "guest", "console", "none"])
        XCTAssertEqual(squatted.status, 1)
        XCTAssertTrue(squatted.stderr.contains("\(fallback): the run directory belongs to uid 4321"), squatted.stderr)
    }
}
