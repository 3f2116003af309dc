import Foundation
import MigrationCore
@testable import MigrationExecutor
@testable import XenBackend
import XCTest

/// A wait with its own deadline gives the socket back with the caller's timeout: xl's
/// conversation reads "ready" within its deadline, and the receiver's idle timeout set before
/// it still holds afterwards (not "wait for ever").
final class SocketTimeoutTests: XCTestCase {
    func testADeadlineReadPutsTheCallersTimeoutBack() throws {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let client = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        defer { client.close() }
        let server = try listener.accept()
        defer { server.close() }
        client.setReceiveTimeout(seconds: 2.5)
        XCTAssertEqual(try XCTUnwrap(client.receiveTimeoutSeconds), 2.5, accuracy: 0.01)
        try server.write(XlMigrationProtocol.ready)
        try XlConversation(socket: client).expect(XlMigrationProtocol.ready, "ready", within: 5)
        XCTAssertEqual(try XCTUnwrap(client.receiveTimeoutSeconds), 2.5, accuracy: 0.01, "the idle timeout is back")
        let started = monotonicSeconds()
        XCTAssertThrowsError(try XlConversation(socket: client).read(1, within: 0.3)) { XCTAssertTrue("\($0)".contains("within 0.3 s"), "\($0)") }
        XCTAssertLessThan(monotonicSeconds() - started, 2.4, "the read's own deadline, not the idle timeout, ended it")
        XCTAssertEqual(try XCTUnwrap(client.receiveTimeoutSeconds), 2.5, accuracy: 0.01)
    }
}
