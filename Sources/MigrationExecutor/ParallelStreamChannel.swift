import MigrationCore
import MigrationStream

/// The channel of a parallel migration, for the steps that are not page sends: the device state
/// and the handshake go on the main connection; the drain before the pause and the end of the
/// stream go to every data stream first (the main connection carries no pages). The executor
/// hands page batches to the data streams itself, several at once (`runParallel`).
struct ParallelStreamChannel: MigrationChannel {
    typealias Batch = [Int]
    typealias DeviceState = CapturedGuestState

    var main: StreamChannel
    let dataStreams: DataStreamSenders

    /// One batch at a time, for a driver that sends serially: handed to a data stream as the
    /// executor hands them, and waited for (each send is bounded by its socket's stall timeout).
    mutating func sendPages(_ batch: [Int], pageCount: Double, wireBytes: Double) throws(HostFailure) -> Double {
        let id = ActionID(.max)
        dataStreams.submit(id, batch: batch, pageCount: pageCount, wireBytes: wireBytes, round: dataStreams.currentRound ?? 0)
        while true {
            guard let (done, outcome) = dataStreams.nextCompletion(timeoutSeconds: 1), done == id else { continue }
            switch outcome {
            case .sent(let bytes): return bytes
            case .failed(let message): throw HostFailure(message)
            default: return wireBytes
            }
        }
    }

    mutating func sendDeviceState(_ state: CapturedGuestState) throws(HostFailure) {
        try main.sendDeviceState(state)
    }

    mutating func drainBeforePause() throws(HostFailure) {
        try dataStreams.drain()
    }

    mutating func finishStreamAndAwaitReady() throws(HostFailure) {
        try dataStreams.end()
        try main.finishStreamAndAwaitReady()
    }

    mutating func clearToRunAndAwaitRunning() throws(HostFailure) -> ClearanceAnswer {
        try main.clearToRunAndAwaitRunning()
    }
}
