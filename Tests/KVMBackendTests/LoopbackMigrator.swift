import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor
import XCTest

/// One migration of a KVM guest to a receiver thread on 127.0.0.1, with memory digests taken on
/// both sides (the source's when it lets go, the destination's just before it runs the guest).
enum LoopbackMigrator {
    struct Outcome {
        var source: KVMMigrationResult
        var received: ReceivedMigration?
        var destinationDigest: UInt64?
        var receiveError: String?
    }

    private final class ResultBox: @unchecked Sendable {
        var received: ReceivedMigration?
        var digest: UInt64?
        var error: String?
        let done = DispatchSemaphore(value: 0)
    }

    static func migrate(_ guest: KVMGuest, policy: PolicyConfiguration, settings: EngineSettings = EngineSettings(),
                        file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let box = ResultBox()
        let receiver = Thread {
            do {
                let socket = try listener.accept()
                let received = try MigrationReceiver.receive(on: socket, makeGuest: { layout throws(HostFailure) in
                    try KVMIncomingGuest.make(for: layout)
                }, beforeRun: { guest in
                    box.digest = (guest as? KVMIncomingGuest)?.guest.memory.digest()
                })
                box.received = received
            } catch {
                box.error = "\(error)"
            }
            box.done.signal()
        }
        receiver.start()
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let result = try KVMMigration.migrate(guest, over: socket, policy: policy, settings: settings, computeDigest: true)
        XCTAssertEqual(box.done.wait(timeout: .now() + 60), .success, "the receiver did not finish", file: file, line: line)
        return Outcome(source: result, received: box.received, destinationDigest: box.digest, receiveError: box.error)
    }
}
