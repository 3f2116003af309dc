import Foundation
import MigrationCore
import MigrationExecutor
import XCTest

/// Certificates for the TLS tests, made once per test process with the `openssl` command in a
/// temporary directory, the way docs/tls.md tells operators to make them: the operator's CA;
/// hosta.test and hostb.test (each with a DNS and a 127.0.0.1 subjectAltName, for server and
/// client use); hostc.test for server use only ("serveronly"); and a rogue CA with its own
/// certificate for the name hosta.test.
enum TLSTestCertificates {
    struct Files: Sendable {
        let directory: String
        func path(_ name: String) -> String { "\(directory)/\(name)" }

        /// A configuration with `host`'s certificate and key ("hosta", "hostb", "rogue"),
        /// trusting `ca` ("ca" or "rogue-ca").
        func configuration(_ host: String, trusting ca: String = "ca", allowing names: [String] = []) -> TLSConfiguration {
            TLSConfiguration(caFilePath: path("\(ca)-cert.pem"), certificateFilePath: path("\(host)-cert.pem"),
                             privateKeyFilePath: path("\(host)-key.pem"), allowedPeerNames: names)
        }
    }

    /// The files, or the reason they could not be made (then every TLS test fails with it).
    static let made: Result<Files, HostFailure> = make()

    static func files() throws -> Files { try made.get() }

    private static let directory = NSTemporaryDirectory() + "livemig-tls-\(getpid())"

    private static func make() -> Result<Files, HostFailure> {
        atexit { try? FileManager.default.removeItem(atPath: TLSTestCertificates.directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let files = Files(directory: directory)
            try makeCA("ca", subject: "/CN=livemig test CA", in: files)
            try makeCA("rogue-ca", subject: "/CN=rogue CA", in: files)
            try makeHost("hosta", name: "hosta.test", signedBy: "ca", in: files)
            try makeHost("hostb", name: "hostb.test", signedBy: "ca", in: files)
            try makeHost("rogue", name: "hosta.test", signedBy: "rogue-ca", in: files)
            try makeHost("serveronly", name: "hostc.test", signedBy: "ca", usages: "serverAuth", in: files)
            return .success(files)
        } catch let failure as HostFailure {
            return .failure(failure)
        } catch {
            return .failure(HostFailure("cannot make test certificates in \(directory): \(error)"))
        }
    }

    private static func makeCA(_ name: String, subject: String, in files: Files) throws {
        try openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", files.path("\(name)-key.pem"), "-out", files.path("\(name)-cert.pem"), "-days", "30",
                     "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private static func makeHost(_ host: String, name: String, signedBy ca: String, usages: String = "serverAuth,clientAuth",
                                 in files: Files) throws {
        let extensions = files.path("\(host).ext")
        try """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=\(usages)
            subjectAltName=DNS:\(name),IP:127.0.0.1

            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", files.path("\(host)-key.pem"), "-out", files.path("\(host).csr"), "-subj", "/CN=\(name)"])
        try openssl(["x509", "-req", "-in", files.path("\(host).csr"), "-CA", files.path("\(ca)-cert.pem"),
                     "-CAkey", files.path("\(ca)-key.pem"), "-CAcreateserial", "-days", "30",
                     "-out", files.path("\(host)-cert.pem"), "-extfile", extensions])
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HostFailure("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
