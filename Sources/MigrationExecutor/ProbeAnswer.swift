import Dispatch
import MigrationCore
import MigrationStream

/// The destination's side of a throughput probe (`throughputProbe`, docs/stream-format.md):
/// reads the announced page batches into one scratch buffer, drops them, and answers how many
/// bytes came and how long they took by its own clock. No guest is made and nothing is kept;
/// no more data than announced is taken, and the whole probe must end by its deadline.
enum ProbeAnswer {
    /// What a probe measured here.
    struct Received {
        var bytes: Int
        var seconds: Double
    }

    /// Answers a probe that announced at most `announcedBytes` of page data; every read,
    /// record or page data, ends by `deadlineSeconds` (monotonic), however the peer paces it.
    static func serve(reader: inout StreamReader, replies: inout ReplyWriter, announcedBytes: UInt64,
                      deadlineSeconds: Double, cancellation: MigrationCancellation) throws(HostFailure) -> Received {
        let start = monotonicSeconds()
        reader.deadline = deadlineSeconds
        // Each read waits at most until the deadline; under TLS one read may be several of the
        // socket's (OpenSSL gathers a whole record), so a watchdog also shuts the connection
        // at the deadline. Armed on the connection's own cancellation, which the receiver
        // detaches at the end, so a late firing touches nothing.
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0, deadlineSeconds - start)) {
            cancellation.cancel(reason: "the throughput probe did not end within its deadline")
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: StreamLimits.maxBatchDataBytes, alignment: 4096)
        defer { scratch.deallocate() }
        var received = 0
        do throws(HostFailure) {
            while true {
                switch try reader.nextItem() {
                case .pageBatchHead(let head):
                    // A head passed the decoder's checks: its data fits one batch's limit.
                    let bytes = head.pageNumbers.count * head.pageSizeBytes
                    guard UInt64(received + bytes) <= announcedBytes else {
                        throw refuse("the throughput probe sent more than the \(announcedBytes) bytes it announced", replies: &replies)
                    }
                    try reader.readPageData(into: [UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< bytes])])
                    received += bytes
                case .record(.endOfStream):
                    let seconds = monotonicSeconds() - start
                    let microseconds = UInt64(CheckedConversion.clampedInt(seconds * 1e6, to: 0 ... Int.max))
                    try replies.send(.probeResult(receivedBytes: UInt64(received), receiveMicroseconds: microseconds))
                    return Received(bytes: received, seconds: seconds)
                case .record(.abort(let reason)):
                    throw HostFailure("the source gave up its throughput probe: \(reason)")
                case .record(let other):
                    // The decoder refuses anything else in a probe; this is the check's backstop.
                    throw refuse("unexpected \(other.type) in a throughput probe", replies: &replies)
                }
            }
        } catch {
            let timedOut = BlockingSocket.isTimeout(error) && monotonicSeconds() >= deadlineSeconds
            guard timedOut || cancellation.cancelledReason != nil else { throw error }
            throw refuse(cancellation.cancelledReason ?? "the throughput probe did not end within its deadline", replies: &replies)
        }
    }

    private static func refuse(_ reason: String, replies: inout ReplyWriter) -> HostFailure {
        try? replies.send(.abort(reason: reason))
        return HostFailure(reason)
    }
}
