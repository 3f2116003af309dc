import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream

/// Answers a guest's control socket while the guest is still arriving by migration, so that
/// `livemig list`, `guest console` and `guest stop` on the destination answer at once instead of
/// waiting for the arrival: `status` says "incoming", `stop` cancels the incoming migration
/// (unless the guest is already committed to run here), anything else is refused with a reason.
/// It accepts with a short poll, so that `stop()` hands the socket over to the guest's daemon
/// within `pollMilliseconds` without closing it (callers queued meanwhile wait in its backlog).
final class IncomingControlServer: @unchecked Sendable {
    private let listener: ControlListener
    private let layout: GuestLayout
    private let consoleLog: String
    private let cancellation: MigrationCancellation
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    static let pollMilliseconds: Int32 = 50

    init(listener: ControlListener, layout: GuestLayout, consoleLog: String, cancellation: MigrationCancellation) {
        self.listener = listener
        self.layout = layout
        self.consoleLog = consoleLog
        self.cancellation = cancellation
        Thread { [self] in serve() }.start()
    }

    /// Stops answering (the caller then serves the socket itself, or closes it). Waits for the
    /// accept loop to end, at most a few poll periods.
    func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + .seconds(5))
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func serve() {
        defer { finished.signal() }
        while !isStopping {
            var entry = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Self.pollMilliseconds) > 0, !isStopping else { continue }
            guard let connection = listener.accept() else { return }
            // One short request each: answered on this thread, with a bound on the wait.
            connection.setReceiveTimeout(seconds: 2)
            guard let request = try? connection.receive(ControlRequest.self) else { continue }
            try? connection.send(reply(to: request, from: connection))
        }
    }

    private func reply(to request: ControlRequest, from connection: ControlConnection) -> ControlReply {
        switch request.command {
        case .status:
            return ControlReply(status: GuestStatus(
                name: layout.name, state: "incoming", memoryBytes: Int(clamping: layout.memoryBytes),
                workload: layout.workload.isEmpty ? "(arriving)" : layout.workload, uptimeSeconds: 0,
                heartbeats: 0, pageWrites: 0, processID: getpid(), consoleLog: consoleLog))
        case .stop:
            // A client that hung up before we got here does not get its stop carried out.
            guard !connection.peerHasHungUp else { return ControlReply(error: "the client hung up") }
            guard cancellation.cancel(reason: "guest stop") else {
                return ControlReply(error: "guest '\(layout.name)' is starting here (the migration has committed); stop it once it runs")
            }
            return ControlReply(ok: true)
        default:
            return ControlReply(error: "guest '\(layout.name)' is arriving by migration; \(request.command.rawValue) is possible once it runs here")
        }
    }
}
