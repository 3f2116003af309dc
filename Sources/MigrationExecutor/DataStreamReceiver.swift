import Foundation
import MigrationCore
import MigrationStream

/// One data stream on the destination, after its join: reads its records on its own thread and
/// writes its pages straight into the guest, in the round order `DataStreamGroup` keeps.
/// Answers drain marks on its own connection. Ends at `endOfStream`; any failure fails the
/// group (and so the migration), naming the stream.
/// Sendable because it is handed to its thread once and used there alone.
struct DataStreamReceiver: @unchecked Sendable {
    let index: Int
    var reader: StreamReader
    var replies: ReplyWriter
    let group: DataStreamGroup
    let guest: any IncomingGuest
    let pageSizeBytes: Int
    let idleSeconds: Double
    /// Made at the stream's first `compressedPages`.
    var decompression: PageDecompression?

    /// Runs the stream on a new thread; the group hears of its end, failure and exit.
    static func start(_ stream: DataStreamReceiver) {
        let thread = Thread {
            var stream = stream
            do throws(HostFailure) {
                try stream.run()
                stream.group.streams[stream.index].bytesRead = stream.reader.bytesRead
                stream.group.end(stream.index)
            } catch {
                stream.group.fail("data stream \(stream.index) from \(stream.reader.socket.peer): \(error.description)")
            }
            stream.group.exit()
        }
        thread.name = "livemig data stream \(stream.index)"
        thread.start()
    }

    private mutating func run() throws(HostFailure) {
        let pages = group.streams[index]
        while true {
            let item: StreamItem
            do {
                item = try reader.nextItem()
            } catch {
                // A stream may be silent for a while as long as the others are not (a round of
                // few batches, under a cap, leaves some streams nothing but its mark).
                if BlockingSocket.isTimeout(error), group.failureReason == nil, group.activeWithin(idleSeconds) { continue }
                throw error
            }
            group.noteActivity()
            let strike = group.strikes(item.type)
            switch strike {
            case .exitOn?, .pauseOn?:
                FaultTrigger.actOnProcess(strike!)
            case .corrupt?:
                throw HostFailure("malformed stream: \(item.type) damaged (\(ReceiverFaultInjection.environmentVariable))")
            case .drop?:
                // Lost on the way: a page batch's data is still read (it is in the stream), but
                // its pages are never counted as received here.
                if case .pageBatchHead(let head) = item {
                    try reader.readPageData(into: ReceiveSession.pageTargets(of: head, in: guest))
                    for page in head.pageNumbers { pages.written.insert(Int(page)) }
                }
                continue
            default:
                break
            }
            switch item {
            case .record(.roundStart(let round)):
                try group.arrive(index, atRound: round, timeoutSeconds: idleSeconds)
            case .pageBatchHead(let head):
                // The decoder checked every number against the adopted layout.
                try reader.readPageData(into: ReceiveSession.pageTargets(of: head, in: guest))
                for page in head.pageNumbers {
                    pages.written.insert(Int(page))
                    pages.received.insert(Int(page))
                }
                pages.receivedCount &+= head.pageNumbers.count
            case .record(.compressedPages(let compressed)):
                // A delta needs the one stream that knows what it sent before.
                guard compressed.algorithm != .xbzrle else { throw HostFailure("XBZRLE deltas on a data stream (they go on one stream only)") }
                if decompression == nil { decompression = try PageDecompression() }
                try decompression?.write(compressed, into: guest, pageSizeBytes: pageSizeBytes)
                for page in compressed.pageNumbers {
                    pages.written.insert(Int(page))
                    pages.received.insert(Int(page))
                }
                pages.receivedCount &+= compressed.pageNumbers.count
            case .record(.zeroPages(let list)):
                for number in list.pageNumbers {
                    let page = Int(number)
                    // Written on this stream since the last barrier, or on any before it.
                    if pages.written.contains(page) || group.sharedWritten.contains(page) {
                        guest.pageAddress(page).initializeMemory(as: UInt8.self, repeating: 0, count: pageSizeBytes)
                        pages.written.remove(page)
                    }
                    pages.received.insert(page)
                }
                pages.receivedCount &+= list.pageNumbers.count
            case .record(.drainMark(let sequence)):
                do {
                    try replies.send(.drained(sequence: sequence))
                } catch {
                    guard BlockingSocket.isTimeout(error) else { throw error }
                    throw HostFailure("read none of our replies for \(idleSeconds) s (the receiver's idle timeout)")
                }
            case .record(.endOfStream):
                return
            case .record(.abort(let reason)):
                throw HostFailure("the source aborted: \(reason)")
            case .record(let other):
                // The decoder's order check lets no other record through on a data stream.
                throw HostFailure("unexpected \(other.type) on a data stream")
            }
        }
    }
}
