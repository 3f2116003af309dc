import Foundation
import Glibc
import MigrationCore
import MigrationStream

/// One receive in progress: the stream, the destination state machine, the guest being built,
/// and what the last record carried for the action that uses it.
struct ReceiveSession {
    private let socket: BlockingSocket
    private let timeouts: ReceiverTimeouts
    private let cancellation: MigrationCancellation
    private let makeGuest: (GuestLayout) throws(HostFailure) -> any IncomingGuest
    private let beforeRun: ((any IncomingGuest) -> Void)?
    private var reader: StreamReader
    private var replies: ReplyWriter
    private var machine = DestinationMigration()
    private var guest: (any IncomingGuest)?
    private var layout: GuestLayout?
    /// What the record just read carries, for the action that the machine answers it with.
    private var pendingBatch: PageBatchHead?
    private var pendingCompressed: CompressedPages?
    /// Made at the first `compressedPages`.
    private var decompression: PageDecompression?
    /// The page numbers of the last `zeroPages` record, until the machine says to zero them.
    private var pendingZeroPages: [UInt64] = []
    /// Pages page data has been written to. A new guest's memory reads as zero, so a zero-page
    /// marker for a page never written costs nothing; one for a page written in an earlier
    /// round is cleared (QEMU's destination does the same check before its memset, in
    /// `ram_handle_zero`, migration/ram.c).
    private var pagesWithData: DirtyBitmap?
    private var pendingVcpuState: [UInt8] = []
    private var pendingDeviceState: [UInt8] = []
    private var sourceMemoryDigest: UInt64?
    private var memoryVerified = false
    private var endOfStreamSeconds = 0.0
    private var unpausedWallClockSeconds = 0.0
    /// This host's timing of its part of the pause, for `running` (`RunningReport`): seconds
    /// spent loading state, and when "ready" was due and "cleared" came (monotonic).
    private var stateLoadSeconds = 0.0
    private var checkSeconds = 0.0
    private var clearedSeconds = 0.0
    /// The timeout in force, named for the error when it runs out.
    private var waiting: (name: String, seconds: Double) = ("handshake", 0)
    /// The item read after the challenge's echo, for the first `nextEvent`.
    private var firstItem: StreamItem?
    /// This connection's nonce (empty for a saved file).
    private var nonce: [UInt8] = []
    /// Told the nonce at the point of no return, before the guest runs.
    var onCommit: ((_ migrationNonce: [UInt8]) throws(HostFailure) -> Void)?
    /// Hears the nonce when a committed guest is destroyed after all (its unpause failed): the
    /// host forgets the commit, so a source that never heard the release may resume (a
    /// remembered commit would make `guest resume` refuse, and the guest would run nowhere).
    var onRollback: ((_ migrationNonce: [UInt8]) -> Void)?
    /// `onCommit` recorded this migration and no rollback has undone it.
    private var commitRecorded = false
    private var faults: FaultTrigger
    /// The main connection's TLS check, for data streams to pass too (nil: plain connections).
    var secureDataStream: ((BlockingSocket) throws(HostFailure) -> Void)?
    /// The data streams of a parallel migration, once announced.
    private var dataStreams: DataStreamGroup?
    /// Post-copy: the return path's writer once joined, the missing pages named at the hand-over,
    /// and the fault thread and page placing once the guest runs without them.
    private var returnPath: ReplyWriter?
    private var missingAtHandOver: DirtyBitmap?
    private var postcopy: PostcopyPlacement?

    init(socket: BlockingSocket, timeouts: ReceiverTimeouts, cancellation: MigrationCancellation, fault: ReceiverFaultInjection?,
         makeGuest: @escaping (GuestLayout) throws(HostFailure) -> any IncomingGuest,
         beforeRun: ((any IncomingGuest) -> Void)?) {
        self.socket = socket
        self.timeouts = timeouts
        self.cancellation = cancellation
        self.makeGuest = makeGuest
        self.beforeRun = beforeRun
        reader = StreamReader(socket: socket, direction: .sourceToDestination)
        replies = ReplyWriter(socket: socket)
        faults = FaultTrigger(fault)
        cancellation.attach(socket)
        // A source that stops reading our replies (drain marks are answered as they come)
        // must not hold this receiver in a write for ever.
        socket.setSendTimeout(seconds: timeouts.idleSeconds)
    }

    /// Sends this connection's nonce and reads its echo; answers a guest query or a throughput
    /// probe at once (the outcome is returned), and otherwise keeps the item that followed the echo for `run`.
    /// A stream that does not echo the nonce first is refused before a byte of guest data.
    mutating func openChallenge(answerQuery: ((String, [UInt8]) -> GuestPresence)?) throws(HostFailure) -> IncomingOutcome? {
        wait("handshake", timeouts.handshakeSeconds)
        // The echo and the layout (or query) must be whole within the handshake timeout in all,
        // not within it per byte: a peer trickling a byte at a time must not hold the slot.
        reader.deadline = monotonicSeconds() + timeouts.handshakeSeconds
        defer { reader.deadline = nil }
        var random = SystemRandomNumberGenerator()
        let nonce = (0 ..< StreamLimits.challengeNonceBytes).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        self.nonce = nonce
        func refuse(_ reason: String) -> HostFailure {
            try? replies.send(.abort(reason: reason))
            return HostFailure(reason)
        }
        do throws(HostFailure) {
            try replies.send(.challenge(nonce: nonce))
            let echo = try reader.nextItem()
            if let strike = faults.strikes(echo.type) {
                FaultTrigger.actOnProcess(strike)
                if strike == .drop || strike == .corrupt { throw refuse("\(echo.type) lost or damaged (\(ReceiverFaultInjection.environmentVariable))") }
            }
            guard case .record(.challengeEcho(let echoed)) = echo, echoed == nonce else {
                throw refuse("the stream did not answer this connection's challenge first (a replayed or foreign stream)")
            }
            let next = try reader.nextItem()
            if case .record(.throughputProbe(let announced)) = next {
                let deadline = monotonicSeconds() + timeouts.probeSeconds + timeouts.handshakeSeconds
                let probe = try ProbeAnswer.serve(reader: &reader, replies: &replies, announcedBytes: announced, deadlineSeconds: deadline,
                                                  cancellation: cancellation)
                return .answeredProbe(bytes: probe.bytes, seconds: probe.seconds)
            }
            guard case .record(.queryGuest(let name, let migrationNonce)) = next else {
                firstItem = next
                return nil
            }
            guard let answerQuery else { throw refuse("this receiver answers no guest queries") }
            let presence = answerQuery(name, migrationNonce)
            try replies.send(.guestState(presence))
            return .answeredQuery(name: name, presence: presence)
        } catch {
            switch failureEvent(error) {
            case .transportFailed(let reason), .localFailure(let reason): throw HostFailure(reason)
            default: throw error
            }
        }
    }

    /// Receives until the guest runs here (returned) or the migration is aborted (thrown).
    mutating func run() throws(HostFailure) -> ReceivedMigration {
        if !socket.isSocket { wait("handshake", timeouts.handshakeSeconds) }
        while true {
            let event = nextEvent()
            if event == .endOfStream, let group = dataStreams {
                // The pages the data streams carried count once every one of them has ended.
                do {
                    let (pages, count) = try group.awaitEnd(idleSeconds: timeouts.idleSeconds)
                    perform(machine.handle(.parallelStreamsEnded(pages: pages, pagesReceived: count)))
                } catch {
                    perform(machine.handle(.transportFailed(error.description)))
                }
            }
            perform(machine.handle(event))
            switch machine.state {
            case .running:
                socket.setReceiveTimeout(seconds: 0)
                return finished()
            case .aborted(let reason):
                throw HostFailure(reason)
            case .postcopyInterrupted(let reason):
                // The guest is held paused (`.holdGuestPaused`), never destroyed: the source's copy is
                // stale, so this one, with the pages it lacks from the source's, is all there is.
                socket.setReceiveTimeout(seconds: 0)
                return held(reason)
            case .receiving where layout != nil && waiting.name == "handshake":
                wait("idle", timeouts.idleSeconds)
            default:
                break
            }
        }
    }

    private mutating func wait(_ name: String, _ seconds: Double) {
        waiting = (name, seconds)
        socket.setReceiveTimeout(seconds: seconds)
    }

    /// Reads the next item and turns it into the machine's event; a broken, malformed,
    /// cancelled or silent stream becomes a failure event.
    private mutating func nextEvent() -> DestinationMigration.Event {
        // A loop, not recursion: a source may send any number of drain marks (or a fault may
        // drop any number of records) in a row.
        while true {
            if let event = readEvent() { return event }
        }
    }

    /// The next record's event, or nil for a record answered or dropped here (read on).
    private mutating func readEvent() -> DestinationMigration.Event? {
        let item: StreamItem
        do {
            if let first = firstItem {
                item = first
                firstItem = nil
            } else {
                item = try reader.nextItem()
            }
        } catch {
            // The main connection is silent while the data streams carry the pages: its idle
            // timeout counts their traffic.
            if BlockingSocket.isTimeout(error), let group = dataStreams, group.failureReason == nil,
               cancellation.cancelledReason == nil, group.activeWithin(waiting.seconds) {
                return nil
            }
            return failureEvent(error)
        }
        switch faults.strikes(item.type) {
        case .exitOn?, .pauseOn?: FaultTrigger.actOnProcess(faults.fault!.action)
        case .corrupt?: return .transportFailed("malformed stream from \(socket.peer): \(item.type) damaged (\(ReceiverFaultInjection.environmentVariable))")
        case .drop?: return droppedEvent(item)
        default: break
        }
        switch item {
        case .pageBatchHead(let head):
            pendingBatch = head
            return .pageBatchAnnounced(pageNumbers: head.pageNumbers)
        case .record(.zeroPages(let list)):
            pendingZeroPages = list.pageNumbers
            return .zeroPagesAnnounced(pageNumbers: list.pageNumbers)
        case .record(.compressedPages(let pages)):
            pendingCompressed = pages
            return .pageBatchAnnounced(pageNumbers: pages.pageNumbers)
        case .record(.parallelStreams(let count)):
            return .parallelStreamsAnnounced(count: Int(count))
        case .record(.returnPath):
            do {
                try openReturnPath()
            } catch {
                return .localFailure("no return path for post-copy: \(error.description)")
            }
            return nil
        case .record(.postcopyStart(let missing)):
            guard let layout else { return .localFailure("post-copy before the guest layout") }
            let bitmap = DirtyBitmap(pageCount: Int(layout.guestPages), words: missing.words)
            missingAtHandOver = bitmap
            // The hand-over is post-copy's clearance: the unpause is timed from it.
            clearedSeconds = monotonicSeconds()
            return .postcopyStarted(missingPages: bitmap, missingCount: bitmap.count)
        case .record(.guestLayout(let received)):
            layout = received
            return .streamOpened(guestPages: Int(received.guestPages), vcpuCount: Int(received.vcpuCount))
        case .record(.vcpuState(let state)):
            pendingVcpuState = state.blob
            return .vcpuStateReceived(vcpu: Int(state.vcpuId))
        case .record(.deviceState(let blob)):
            pendingDeviceState = blob
            return .deviceStateReceived
        case .record(.memoryDigest(let digest)):
            sourceMemoryDigest = digest
            return .memoryDigestReceived
        case .record(.drainMark(let sequence)):
            // Everything before the mark has been read: say so at once, and read on.
            do {
                try reply(.drained(sequence: sequence))
            } catch {
                return .transportFailed(error.description)
            }
            return nil
        case .record(.endOfStream):
            endOfStreamSeconds = monotonicSeconds()
            return .endOfStream
        case .record(.clearedToUnpause):
            clearedSeconds = monotonicSeconds()
            return .clearedToRun
        case .record(.abort(let reason)):
            return .sourceAborted(reason)
        case .record(let other):
            return .localFailure("unexpected \(other.type) from the source")
        }
    }

    /// Decompresses a `compressedPages` batch into the guest.
    private mutating func writeCompressed(_ pages: CompressedPages, into guest: any IncomingGuest, pageSizeBytes: Int) throws(HostFailure) {
        if decompression == nil { decompression = try PageDecompression() }
        try decompression?.write(pages, into: guest, pageSizeBytes: pageSizeBytes)
    }

    /// A record lost on the way (`drop`): its page data is still read (it is in the stream) but
    /// nothing is told to the machine, so its pages are never marked received.
    private mutating func droppedEvent(_ item: StreamItem) -> DestinationMigration.Event? {
        if case .pageBatchHead(let head) = item, let postcopy {
            // After the hand-over guest memory is written only through the trap: read and let go.
            do {
                try reader.readPageData(into: [UnsafeMutableRawBufferPointer(start: postcopy.staging, count: head.dataBytes)])
            } catch {
                return failureEvent(error)
            }
            return nil
        }
        if case .record(.compressedPages(let pages)) = item, postcopy == nil, let guest, let layout {
            // As for a page batch: in guest memory all the same, never marked received.
            do {
                try writeCompressed(pages, into: guest, pageSizeBytes: Int(layout.pageSizeBytes))
            } catch {
                return .localFailure(error.description)
            }
            for page in pages.pageNumbers { pagesWithData?.insert(Int(page)) }
            return nil
        }
        if case .pageBatchHead(let head) = item, let guest {
            do {
                try reader.readPageData(into: Self.pageTargets(of: head, in: guest))
            } catch {
                return failureEvent(error)
            }
            // The data is in guest memory all the same: a later zero marker must clear it.
            for page in head.pageNumbers { pagesWithData?.insert(Int(page)) }
        }
        return nil
    }

    /// A read failure as the machine's event: cancelled, timed out, or broken.
    private func failureEvent(_ error: HostFailure) -> DestinationMigration.Event {
        if let reason = dataStreams?.failureReason { return .transportFailed(reason) }
        if let reason = cancellation.cancelledReason { return .localFailure("cancelled on the destination: \(reason)") }
        if waiting.seconds > 0, BlockingSocket.isTimeout(error) {
            return .transportFailed("\(socket.peer) sent nothing for \(formatSeconds(waiting.seconds)) (the receiver's \(waiting.name) timeout)")
        }
        return .transportFailed(error.description)
    }

    /// Performs the machine's actions in order; a failing one becomes a `localFailure` event
    /// whose actions (destroy, report) are performed in its place.
    private mutating func perform(_ actions: [DestinationMigration.Action]) {
        for action in actions {
            do {
                try perform(action)
            } catch {
                perform(machine.handle(.localFailure(error.description)))
                return
            }
        }
    }

    private mutating func perform(_ action: DestinationMigration.Action) throws(HostFailure) {
        switch action {
        case .createGuest:
            guard let layout else { throw HostFailure("no guest layout") }
            do {
                guest = try makeGuest(layout)
            } catch {
                throw HostFailure("cannot create the guest: \(error.description)")
            }
            pagesWithData = DirtyBitmap(pageCount: Int(layout.guestPages))
        case .receivePageData:
            guard let guest, let layout else { throw HostFailure("page data before the guest layout") }
            // The decoder checked every number against the layout; the machine did too.
            let pageNumbers: [UInt64]
            if let compressed = pendingCompressed {
                pendingCompressed = nil
                // A delta applies to the page the source sent before: one never written here has none.
                if compressed.algorithm == .xbzrle, let never = compressed.pageNumbers.first(where: { pagesWithData?.contains(Int($0)) == false }) {
                    throw HostFailure("an XBZRLE delta for page \(never), which never came whole")
                }
                try writeCompressed(compressed, into: guest, pageSizeBytes: Int(layout.pageSizeBytes))
                pageNumbers = compressed.pageNumbers
            } else if let postcopy {
                // The running guest's memory is written only through the trap (`PostcopyPlacement`).
                guard let head = pendingBatch else { throw HostFailure("page data without a page batch") }
                pendingBatch = nil
                try reader.readPageData(into: [UnsafeMutableRawBufferPointer(start: postcopy.staging, count: head.dataBytes)])
                try postcopy.place(head.pageNumbers)
                return
            } else {
                guard let head = pendingBatch else { throw HostFailure("page data without a page batch") }
                pendingBatch = nil
                try reader.readPageData(into: Self.pageTargets(of: head, in: guest))
                pageNumbers = head.pageNumbers
            }
            for page in pageNumbers { pagesWithData?.insert(Int(page)) }
        case .acceptParallelStreams(let count):
            try acceptParallelStreams(count)
        case .zeroAnnouncedPages:
            if let postcopy {
                try postcopy.placeZeros(pendingZeroPages)
                pendingZeroPages = []
                return
            }
            guard let guest, let size = layout.map({ Int($0.pageSizeBytes) }) else { throw HostFailure("zero pages before the guest layout") }
            for page in pendingZeroPages where pagesWithData?.contains(Int(page)) ?? true {
                guest.pageAddress(Int(page)).initializeMemory(as: UInt8.self, repeating: 0, count: size)
                pagesWithData?.remove(Int(page))
            }
            pendingZeroPages = []
        case .loadVcpuState(let vcpu):
            let start = monotonicSeconds()
            defer { stateLoadSeconds += monotonicSeconds() - start }
            do {
                try guest?.loadVcpuState(pendingVcpuState, vcpu: vcpu)
            } catch {
                throw HostFailure("cannot load the state of vCPU \(vcpu): \(error.description)")
            }
        case .loadDeviceState:
            let start = monotonicSeconds()
            defer { stateLoadSeconds += monotonicSeconds() - start }
            do {
                try guest?.loadDeviceState(pendingDeviceState)
            } catch {
                throw HostFailure("cannot load the device state: \(error.description)")
            }
        case .verifyMemory:
            try verifyMemory()
        case .markPagesMissing:
            try beginPostcopy()
        case .holdGuestPaused:
            // Paused first, while the fault thread still zero-fills never-written pages (a vCPU
            // waiting on one of those would not stop); then the fault thread goes. A vCPU waiting
            // on a missing page may not stop at all: it stays so (the trap is kept), and the
            // source still hears why post-copy ended (a throw here would skip that report).
            if let guest = guest as? any PostcopyIncomingGuest, !guest.holdPaused(timeoutSeconds: Self.holdPauseSeconds) {
                FileHandle.standardError.write(Data("livemig receive: the held guest's vCPU did not stop within \(Self.holdPauseSeconds) s: it waits on a missing page, and will for as long as it is held\n".utf8))
            }
            postcopy?.stop()
        case .reportPostcopyComplete:
            try finishPostcopy()
        case .reportReady:
            checkSeconds = monotonicSeconds() - endOfStreamSeconds
            try reply(.readyToUnpause)
            wait("commit", timeouts.commitSeconds)
            // A saved guest has no source to clear it: it runs once it is whole.
            if !socket.isSocket {
                clearedSeconds = monotonicSeconds()
                perform(machine.handle(.clearedToRun))
            }
        case .unpauseGuest:
            try unpause()
        case .reportRunning:
            // The unpause instant: just before the guest was let run (its first line may
            // follow at once, before `run` returns).
            let unpauseSeconds = monotonicSeconds() - clearedSeconds
            try? reply(.running(RunningReport(
                unpauseWallClockMicroseconds: microseconds(unpausedWallClockSeconds), stateLoadMicroseconds: microseconds(stateLoadSeconds),
                checkMicroseconds: microseconds(checkSeconds), unpauseMicroseconds: microseconds(unpauseSeconds))))
        case .destroyGuest:
            // No data stream may write into the memory once it is gone, nor post-copy's fault
            // thread place a page (a hand-over that failed before the guest ran).
            dataStreams?.stopAndWait()
            postcopy?.stop()
            postcopy?.endTrap()
            postcopy = nil
            guest?.discard()
            // Gone before the source hears of it (the machine reports after this).
            if commitRecorded {
                onRollback?(nonce)
                commitRecorded = false
            }
        case .reportAbort(let reason):
            try? replies.send(.abort(reason: reason.prefix(utf8Bytes: StreamLimits.maxAbortReasonBytes)))
        }
    }

    /// `returnPath`: opens its port, names it, and takes the source's connection (`DataStreamAcceptance`).
    private mutating func openReturnPath() throws(HostFailure) {
        guard socket.isSocket else { throw HostFailure("a return path in a saved guest's file") }
        guard returnPath == nil else { throw HostFailure("a second return path") }
        returnPath = try DataStreamAcceptance.acceptReturnPath(main: socket, migrationNonce: nonce, secure: secureDataStream,
                                                               timeouts: timeouts, replies: &replies)
    }

    /// Post-copy's hand-over, before the guest runs: digests what is here (with
    /// `--verify-memory`), makes the missing pages fault, and starts the fault thread.
    private mutating func beginPostcopy() throws(HostFailure) {
        guard let guest = guest as? any PostcopyIncomingGuest else { throw HostFailure("this hypervisor cannot run a guest in post-copy") }
        guard let returnPath else { throw HostFailure("post-copy without a return path for page requests") }
        guard let layout, let missing = missingAtHandOver else { throw HostFailure("post-copy without its missing pages") }
        let pageSize = Int(layout.pageSizeBytes)
        var digest: PageWiseDigest?
        if sourceMemoryDigest != nil {
            // The pages held now are final (the source is paused); the missing ones are added as
            // they are placed. Read before the trap is set, so no page here faults.
            var here = PageWiseDigest()
            for page in 0 ..< Int(layout.guestPages) where !missing.contains(page) {
                here.add(page: page, bytes: UnsafeRawBufferPointer(start: guest.pageAddress(page), count: pageSize))
            }
            digest = here
        }
        let pages = try guest.beginPostcopy(missing: missing.pageNumbers)
        let placement = PostcopyPlacement(pages: pages, missing: missing, pageSizeBytes: pageSize, returnPath: returnPath, digest: digest)
        placement.start()
        postcopy = placement
    }

    /// Every missing page is placed: stops the fault thread, ends the trap, and tells the
    /// source (`postcopyComplete`), which may then destroy its copy.
    private mutating func finishPostcopy() throws(HostFailure) {
        guard let postcopy else { throw HostFailure("post-copy's end without a post-copy") }
        postcopy.stop()
        postcopy.endTrap()
        if let failure = postcopy.faultThreadFailure {
            FileHandle.standardError.write(Data("livemig receive: post-copy's page requests stopped early: \(failure)\n".utf8))
        }
        try reply(.postcopyComplete(postcopy.completion))
    }

    /// Opens the data streams' port, names it to the source, and takes them (`DataStreamAcceptance`).
    private mutating func acceptParallelStreams(_ count: Int) throws(HostFailure) {
        guard socket.isSocket else { throw HostFailure("parallel streams in a saved guest's file") }
        guard let guest, let layout else { throw HostFailure("parallel streams before the guest layout") }
        let group = DataStreamGroup(count: count, guestPages: Int(layout.guestPages), mainSocket: socket, fault: faults.fault)
        dataStreams = group
        let joining = DataStreamAcceptance.Joining(count: count, migrationNonce: nonce, main: socket, layout: layout, guest: guest,
                                                   timeouts: timeouts, secure: secureDataStream, group: group)
        let listener = try DataStreamAcceptance.listen(joining, replies: &replies)
        try DataStreamAcceptance.accept(joining, on: listener)
    }

    /// Sends a reply, unless the fault withholds it (then the link is shut instead); a
    /// `pause-on` fault for the reply's type stops the process right after it left.
    private mutating func reply(_ record: StreamRecord) throws(HostFailure) {
        let strike = faults.strikes(record.type)
        if strike == .withhold {
            shutdown(socket.fd, Int32(SHUT_RDWR))
            return
        }
        do {
            try replies.send(record)
        } catch {
            guard BlockingSocket.isTimeout(error) else { throw error }
            throw HostFailure("\(socket.peer) read none of our replies for \(formatSeconds(timeouts.idleSeconds)) (the receiver's idle timeout)")
        }
        if let strike { FaultTrigger.actOnProcess(strike) }
    }

    /// Compares the digest of the memory received with the source's, before "ready".
    private mutating func verifyMemory() throws(HostFailure) {
        guard let guest, let layout, let expected = sourceMemoryDigest else { throw HostFailure("no memory digest to verify against") }
        let here = MemoryDigest.of(pageCount: Int(layout.guestPages), pageSizeBytes: Int(layout.pageSizeBytes)) { UnsafeRawPointer(guest.pageAddress($0)) }
        guard here == expected else {
            throw HostFailure("the memory received differs from the source's (digest \(MemoryDigest.hex(here)) here, \(MemoryDigest.hex(expected)) there)")
        }
        memoryVerified = true
    }

    /// Runs the guest, unless a cancel came first; then tells the machine it runs.
    private mutating func unpause() throws(HostFailure) {
        guard let guest else { throw HostFailure("no guest to run") }
        guard cancellation.commit() else {
            throw HostFailure("cancelled on the destination: \(cancellation.cancelledReason ?? "stop")")
        }
        if !nonce.isEmpty, let onCommit {
            try onCommit(nonce)
            commitRecorded = true
        }
        // Post-copy: the missing pages are not here to look at (and a touch would fault for ever).
        if postcopy == nil { beforeRun?(guest) }
        unpausedWallClockSeconds = wallClockSeconds()
        do {
            try guest.run()
        } catch {
            throw HostFailure("the guest did not start: \(error.description)")
        }
        perform(machine.handle(.guestRunning))
    }

    private mutating func finished() -> ReceivedMigration {
        let running = monotonicSeconds()
        let runningWall = wallClockSeconds()
        guard let guest, let layout else { preconditionFailure("running without a guest") }
        if socket.isSocket,
           let line = guest.firstConsoleLine(after: unpausedWallClockSeconds, waitingUpTo: MigrationReceiver.firstConsoleLineWaitSeconds) {
            try? replies.send(.firstConsoleLine(destinationWallClockMicroseconds: microseconds(line.wallClockSeconds),
                                                text: line.text.prefix(utf8Bytes: StreamLimits.maxConsoleLineBytes)))
        }
        let dataStreamBytes = dataStreams?.streams.reduce(0) { $0 &+ $1.bytesRead } ?? 0
        return ReceivedMigration(guest: guest, layout: layout, pagesReceived: machine.pagesReceived,
                                 bytesReceived: reader.bytesRead &+ dataStreamBytes, endOfStreamSeconds: endOfStreamSeconds,
                                 runningSeconds: running, runningWallClockSeconds: runningWall, memoryVerified: memoryVerified)
    }

    /// How long holding a guest waits for its vCPU to stop: one that can stops within
    /// microseconds; one blocked on a missing page may never (the kick need not end the wait).
    static let holdPauseSeconds = 2.0

    /// The guest post-copy left here without all its pages, paused, for the host to keep.
    private func held(_ reason: String) -> ReceivedMigration {
        guard let guest, let layout else { preconditionFailure("post-copy without a guest") }
        var received = ReceivedMigration(guest: guest, layout: layout, pagesReceived: machine.pagesReceived, bytesReceived: reader.bytesRead,
                                         endOfStreamSeconds: endOfStreamSeconds, runningSeconds: monotonicSeconds(),
                                         runningWallClockSeconds: unpausedWallClockSeconds)
        received.postcopyInterruption = reason
        received.missingPageTrap = postcopy
        return received
    }

    private func microseconds(_ seconds: Double) -> UInt64 {
        seconds.isFinite && seconds > 0 ? UInt64(min(seconds * 1e6, 1.8e19)) : 0
    }

    private func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    /// Where a batch's pages go in guest memory, in order, with runs of pages that are adjacent
    /// in guest memory merged into one target (a full pass then reads 16 MiB per call).
    static func pageTargets(of head: PageBatchHead, in guest: any IncomingGuest) -> [UnsafeMutableRawBufferPointer] {
        pageTargets(of: head.pageNumbers, pageSizeBytes: head.pageSizeBytes, in: guest)
    }

    static func pageTargets(of pageNumbers: [UInt64], pageSizeBytes size: Int, in guest: any IncomingGuest) -> [UnsafeMutableRawBufferPointer] {
        var targets: [UnsafeMutableRawBufferPointer] = []
        for page in pageNumbers {
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

/// The destination's replies on the stream (none when reading a saved file): the header
/// before the first record, then each record as it is sent.
struct ReplyWriter {
    let socket: BlockingSocket
    private var encoder = StreamEncoder(direction: .destinationToSource)
    private var headerSent = false

    init(socket: BlockingSocket) { self.socket = socket }

    mutating func send(_ record: StreamRecord) throws(HostFailure) {
        guard socket.isSocket else { return }
        var buffer: [UInt8] = []
        if !headerSent {
            encoder.appendHeader(into: &buffer)
            headerSent = true
        }
        do {
            try encoder.append(record, into: &buffer)
        } catch {
            throw HostFailure("cannot encode \(record.type): \(error.description)")
        }
        try socket.write(buffer)
    }
}
