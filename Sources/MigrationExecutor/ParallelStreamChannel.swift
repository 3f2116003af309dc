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

    /// Pages never go this way: `runParallel` hands each batch to a data stream's thread and
    /// takes its end from there, with the round it belongs to. A driver that calls this is told so.
    mutating func sendPages(_ batch: [Int], pageCount: Double, wireBytes: Double) throws(HostFailure) -> Double {
        throw HostFailure("a parallel migration's pages go through its data streams (runParallel), not one batch at a time")
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
