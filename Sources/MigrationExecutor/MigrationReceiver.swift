import MigrationCore
import MigrationStream

/// A guest being built on the destination from an incoming stream.
public protocol IncomingGuest: AnyObject {
    /// Where page `page` of guest memory lives, for the receiver to write into.
    func pageAddress(_ page: Int) -> UnsafeMutableRawPointer
    func loadVcpuState(_ state: [UInt8], vcpu: Int) throws(HostFailure)
    func loadDeviceState(_ state: [UInt8]) throws(HostFailure)
    /// Runs the guest: only after the source has cleared it to.
    func run() throws(HostFailure)
    /// Throws the partial guest away.
    func discard()
    /// The guest's first console line printed after `seconds` (wall clock), waiting for one up
    /// to `timeoutSeconds`: its wall-clock time and text. For the guest-visible gap.
    func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)?
}

extension IncomingGuest {
    /// A guest without a console has no first line.
    public func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? {
        nil
    }
}

/// What a completed receive produced.
public struct ReceivedMigration {
    public var guest: any IncomingGuest
    public var layout: GuestLayout
    public var pagesReceived: Int
    public var bytesReceived: Int
    /// Monotonic times: end of stream received, and the guest running.
    public var endOfStreamSeconds: Double
    public var runningSeconds: Double
    /// Wall-clock time the guest started running here (comparable with the source's pause time).
    public var runningWallClockSeconds: Double
}

/// The destination's side of one migration over one connection: drives `DestinationMigration`,
/// writes pages into the new guest's memory, answers the commit handshake, and runs the guest
/// only when the source clears it. Any failure before that throws the partial guest away.
/// Reading a saved guest from a file (`livemig restore`) is the same without the handshake.
public enum MigrationReceiver {
    /// How long the receiver waits, once the guest runs, for its first console line (the
    /// built-in guests print a heartbeat every 100 ms).
    public static let firstConsoleLineWaitSeconds = 1.0

    public static func receive(
        on socket: BlockingSocket,
        makeGuest: (GuestLayout) throws(HostFailure) -> any IncomingGuest,
        beforeRun: ((any IncomingGuest) -> Void)? = nil
    ) throws(HostFailure) -> ReceivedMigration {
        var reader = StreamReader(socket: socket, direction: .sourceToDestination)
        var encoder = StreamEncoder(direction: .destinationToSource)
        var machine = DestinationMigration()
        var guest: (any IncomingGuest)?
        var layout: GuestLayout?
        var pages = 0
        var endOfStreamSeconds = 0.0
        var replyHeaderSent = false

        let restoringFromFile = !socket.isSocket
        func reply(_ record: StreamRecord) throws(HostFailure) {
            guard !restoringFromFile else { return }
            var buffer: [UInt8] = []
            if !replyHeaderSent {
                encoder.appendHeader(into: &buffer)
                replyHeaderSent = true
            }
            do {
                try encoder.append(record, into: &buffer)
            } catch {
                throw HostFailure("cannot encode \(record.type): \(error.description)")
            }
            try socket.write(buffer)
        }

        func fail(_ reason: String) -> HostFailure {
            if machine.handle(.transportFailed(reason)).contains(.destroyGuest) { guest?.discard() }
            try? reply(.abort(reason: String(reason.utf8.prefix(StreamLimits.maxAbortReasonBytes)) ?? "aborted"))
            return HostFailure(reason)
        }

        func apply(_ actions: [DestinationMigration.Action]) throws(HostFailure) {
            if case .aborted(let reason) = machine.state {
                guest?.discard()
                throw fail(reason)
            }
            for action in actions where action == .reportReady { try reply(.readyToUnpause) }
        }

        while true {
            let item: StreamItem
            do {
                item = try reader.nextItem()
            } catch {
                throw fail(error.description)
            }
            switch item {
            case .record(.guestLayout(let received)):
                do {
                    guest = try makeGuest(received)
                } catch {
                    throw fail("cannot create the guest: \(error.description)")
                }
                layout = received
                try apply(machine.handle(.streamOpened(guestPages: Int(received.guestPages))))
            case .pageBatchHead(let head):
                guard let guest else { throw fail("page data before the guest layout") }
                do {
                    try reader.readPageData(into: pageTargets(of: head, in: guest))
                } catch {
                    throw fail(error.description)
                }
                pages += head.pageNumbers.count
                try apply(machine.handle(.pagesReceived(count: head.pageNumbers.count)))
            case .record(.vcpuState(let state)):
                do {
                    try guest?.loadVcpuState(state.blob, vcpu: Int(state.vcpuId))
                } catch {
                    throw fail("cannot load the vCPU state: \(error.description)")
                }
                try apply(machine.handle(.deviceStateReceived))
            case .record(.deviceState(let blob)):
                do {
                    try guest?.loadDeviceState(blob)
                } catch {
                    throw fail("cannot load the device state: \(error.description)")
                }
            case .record(.endOfStream):
                endOfStreamSeconds = monotonicSeconds()
                try apply(machine.handle(.endOfStream))
                // A saved guest has no source to clear it: it runs once it is whole.
                if restoringFromFile { fallthrough }
            case .record(.clearedToUnpause):
                let actions = machine.handle(.clearedToRun)
                guard actions.contains(.unpauseGuest), let guest, let layout else {
                    throw fail("cleared to unpause before the whole guest arrived")
                }
                beforeRun?(guest)
                let unpausedWall = wallClockSeconds()
                do {
                    try guest.run()
                } catch {
                    guest.discard()
                    try? reply(.abort(reason: "the guest did not start: \(error.description)"))
                    throw HostFailure("the guest did not start: \(error.description)")
                }
                let running = monotonicSeconds()
                let runningWall = wallClockSeconds()
                // The unpause instant: just before the guest was let run (its first line may
                // follow at once, before `run` returns).
                try? reply(.running(destinationWallClockMicroseconds: UInt64(unpausedWall * 1e6)))
                if !restoringFromFile,
                   let line = guest.firstConsoleLine(after: unpausedWall, waitingUpTo: firstConsoleLineWaitSeconds) {
                    try? reply(.firstConsoleLine(destinationWallClockMicroseconds: UInt64(line.wallClockSeconds * 1e6),
                                                 text: consoleLinePrefix(line.text)))
                }
                return ReceivedMigration(guest: guest, layout: layout, pagesReceived: pages,
                                         bytesReceived: reader.bytesRead, endOfStreamSeconds: endOfStreamSeconds,
                                         runningSeconds: running, runningWallClockSeconds: runningWall)
            case .record(.abort(let reason)):
                throw fail("the source aborted: \(reason)")
            case .record(let other):
                throw fail("unexpected \(other.type) from the source")
            }
        }
    }

    /// The longest prefix of `text` that fits a firstConsoleLine record, whole characters only.
    private static func consoleLinePrefix(_ text: String) -> String {
        var bytes = 0
        return String(text.prefix { character in
            bytes += character.utf8.count
            return bytes <= StreamLimits.maxConsoleLineBytes
        })
    }

    /// Where a batch's pages go in guest memory, in order, with runs of pages that are adjacent
    /// in guest memory merged into one target (a full pass then reads 16 MiB per call).
    private static func pageTargets(of head: PageBatchHead, in guest: any IncomingGuest) -> [UnsafeMutableRawBufferPointer] {
        let size = head.pageSizeBytes
        var targets: [UnsafeMutableRawBufferPointer] = []
        for page in head.pageNumbers {
            let address = guest.pageAddress(Int(page))
            if let last = targets.last, last.baseAddress! + last.count == address {
                targets[targets.count - 1] = UnsafeMutableRawBufferPointer(start: last.baseAddress, count: last.count + size)
            } else {
                targets.append(UnsafeMutableRawBufferPointer(start: address, count: size))
            }
        }
        return targets
    }
}
