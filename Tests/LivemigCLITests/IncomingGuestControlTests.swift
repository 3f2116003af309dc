import Foundation
import MigrationExecutor
import MigrationStream
import XCTest

/// A guest that is still arriving answers its control socket at once on the destination:
/// `list` shows it "incoming", other commands say why they must wait, and `guest stop`
/// cancels the incoming migration (the source is told, the partial guest goes away). The
/// source here is written by hand so that the arrival can be held half-way.
final class IncomingGuestControlTests: GuestHostsTestCase {
    func testAnArrivingGuestAnswersAtOnceAndStopCancelsIt() throws {
        let hostB = hosts.runDirectory("b")
        let port = try hosts.startLoopbackReceiver(hostB).port

        // Half a guest: the layout and the first 1,024 of its 16,384 pages, then nothing.
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: port))
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var decoder = StreamDecoder(direction: .destinationToSource)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try socket.write(bytes)
        socket.setReceiveTimeout(seconds: 30)
        func nextReply() throws -> StreamRecord? {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let view = try decoder.nextRecordView() { return view.record }
                let count = try chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard count > 0 else { return nil }
                decoder.feed(chunk[0 ..< count])
            }
        }
        guard case .challenge(let nonce)? = try nextReply() else { return XCTFail("no challenge") }
        bytes = []
        try encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
        try encoder.append(.guestLayout(GuestLayout(name: "arriving", memoryBytes: 64 << 20, pageSizeBytes: 4096, vcpuCount: 1)), into: &bytes)
        try encoder.append(.pageBatch(PageBatch(pageNumbers: (0 ..< 1024).map { $0 }, data: [UInt8](repeating: 7, count: 1024 * 4096))), into: &bytes)
        try socket.write(bytes)

        var listed = ""
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) {
            listed = (try? hosts.livemig(["list", "--run-dir", hostB]).stdout) ?? ""
            return listed.contains("arriving") && listed.contains("incoming")
        }, "list did not show the arriving guest as incoming: \(listed)")

        let console = try hosts.livemig(["guest", "console", "arriving", "--run-dir", hostB])
        XCTAssertNotEqual(console.status, 0)
        XCTAssertTrue(console.stderr.contains("arriving by migration"), console.stderr)

        let stop = try hosts.livemig(["guest", "stop", "arriving", "--run-dir", hostB])
        XCTAssertEqual(stop.status, 0, stop.stderr)

        // The source hears why, and the destination has no guest left.
        let reply = try nextReply()
        guard case .abort(let reason)? = reply else { return XCTFail("the source got \(String(describing: reply))") }
        XCTAssertTrue(reason.contains("cancelled on the destination: guest stop"), reason)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) {
            !FileManager.default.fileExists(atPath: "\(hostB)/arriving.sock")
        }, "the cancelled guest's control socket is still there")
        XCTAssertFalse(try hosts.livemig(["list", "--run-dir", hostB]).stdout.contains("arriving"))
    }
}
