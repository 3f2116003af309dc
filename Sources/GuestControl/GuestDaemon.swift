import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor
import MigrationStream

/// The background process that owns one running guest: it serves the guest's control socket
/// (status, console, stop, migrate, save, observe) until the guest has moved away or been stopped.
/// `livemig guest start`, `livemig receive` and `livemig restore` start one per guest.
public final class GuestDaemon: @unchecked Sendable {
    public let guest: KVMGuest
    let runDirectory: RunDirectory
    private let listener: ControlListener
    private let startedAt = monotonicSeconds()
    /// The guest program's page writes when this daemon took the guest (a guest that arrived
    /// by migration brings its count along): the achieved rate counts from here.
    private let writesAtStart: UInt64
    /// For a guest that arrived by migration: the workload as the stream described it.
    private var arrivedWorkload: String?
    private let lock = NSLock()
    /// What the guest is busy with ("migrating", "observing", "stopping"), if anything.
    private var activity: String?
    /// The migration or save in progress, for `migrate --cancel`.
    private var moving: MigrationCancellation?
    /// The same migration's mailbox for `livemig job` (its progress, new limits).
    private var steering: MigrationSteering?
    /// The destination of a migration whose commit outcome is unknown (the connection was lost
    /// after "cleared to unpause"): the guest stays paused here until `guest resume` learns
    /// from that destination that it does not run the guest.
    private var unknownOutcomeTarget: (target: String, tls: TLSConfiguration?, migrationNonce: [UInt8])?
    /// The destination that ran this guest in a post-copy cut short: this paused copy is stale
    /// (it lacks the writes made there), so it may never run again, even with `--force`.
    private var handedOverInPostcopy: String?
    /// A guest whose post-copy was cut short after it ran here: why. It is held paused, lacking
    /// pages only its source has; it may not run or move (docs/postcopy.md), only be stopped.
    private var postcopyInterruption: String?
    /// Keeps that guest's missing pages trapped (closing the trap would make them read as zero).
    private var missingPageTrap: AnyObject?
    /// Whether this daemon holds such a guest.
    public var isHeldAfterPostcopy: Bool { lock.withLock { postcopyInterruption != nil } }
    private var done = false

    /// Binds the guest's control socket; a live one means the name is taken on this host.
    /// The claim is made under an exclusive lock on NAME.lock, held as long as the listener:
    /// two daemons starting with one name cannot both pass the check, and a socket is unlinked
    /// only when nobody listens on it (left by a daemon that died), never on another error.
    static func claimControlSocket(_ name: String, in runDirectory: RunDirectory) throws(HostFailure) -> ControlListener {
        try RunDirectory.validate(name: name)
        try runDirectory.create()
        let lockPath = "\(runDirectory.path)/\(name).lock"
        let lock = try ExclusiveLockFile.take(lockPath, what: "a guest named '\(name)' already runs or is starting on this host (\(lockPath) is held)")
        let path = runDirectory.controlSocket(name)
        do throws(HostFailure) {
            if FileManager.default.fileExists(atPath: path) {
                var nobodyListens = false
                do throws(ControlConnection.ConnectError) {
                    _ = try ControlConnection.connectTelling(path: path)
                } catch {
                    guard error.code == ECONNREFUSED else {
                        throw HostFailure("cannot tell whether a guest named '\(name)' runs on this host: \(error.failure.description)")
                    }
                    nobodyListens = true
                }
                guard nobodyListens else { throw HostFailure("a guest named '\(name)' already runs on this host (\(path))") }
                unlink(path)  // left behind by a daemon that died
            }
            let listener = try ControlListener(path: path)
            listener.nameLockDescriptor = lock
            return listener
        } catch {
            close(lock)
            throw error
        }
    }

    /// A new guest running the built-in program.
    public static func startFresh(name: String, memoryBytes: Int, workload: GuestWorkload, seed: UInt64,
                                  runDirectory: RunDirectory) throws(HostFailure) -> GuestDaemon {
        try start(name, in: runDirectory) { () throws(KVMError) in
            try KVMGuest.create(name: name, memoryBytes: memoryBytes, workload: workload, seed: seed,
                                consolePath: runDirectory.consoleLog(name))
        }
    }

    /// A new guest booting a firmware image (`--image`), like `qemu -bios`.
    public static func startFirmware(name: String, memoryBytes: Int, image: [UInt8],
                                     runDirectory: RunDirectory) throws(HostFailure) -> GuestDaemon {
        try start(name, in: runDirectory) { () throws(KVMError) in
            try KVMGuest.createFirmware(name: name, memoryBytes: memoryBytes, image: image,
                                        consolePath: runDirectory.consoleLog(name))
        }
    }

    /// Claims the name on this host, then creates a guest with `make` and starts it. The claim
    /// comes first: creating the guest opens (and empties) its console log, which must never
    /// happen to a guest of the same name that runs here (two starts racing for one name).
    private static func start(_ name: String, in runDirectory: RunDirectory,
                              _ make: () throws(KVMError) -> KVMGuest) throws(HostFailure) -> GuestDaemon {
        let listener = try claimControlSocket(name, in: runDirectory)
        let guest: KVMGuest
        do {
            guest = try make()
        } catch {
            listener.close()
            throw HostFailure(error.description)
        }
        let daemon = GuestDaemon(guest: guest, runDirectory: runDirectory, listener: listener)
        guest.start()
        return daemon
    }

    /// A guest arriving on a connected migration stream (fd handed over by `livemig receive`),
    /// or read back from a saved file. From the moment the stream names the guest, its control
    /// socket answers (`IncomingControlServer`): status "incoming", and `stop` cancels. A
    /// connection that only asks about a guest (`livemig guest resume` on a source) is answered
    /// from this host's run directory and yields no daemon (nil).
    /// `onGuestLayout` hears when the stream names its guest (from then on a failure is a
    /// migration that failed, not a connection that brought none).
    public static func receive(from stream: BlockingSocket, runDirectory: RunDirectory,
                               timeouts: ReceiverTimeouts? = nil,
                               secureDataStream: ((BlockingSocket) throws(HostFailure) -> Void)? = nil,
                               onGuestLayout: (() -> Void)? = nil) throws(HostFailure) -> GuestDaemon? {
        let environmentTimeouts = try TimeoutsFromEnvironment.receiver()
        let timeouts = timeouts ?? environmentTimeouts
        try runDirectory.create()
        let cancellation = MigrationCancellation()
        final class Claim: @unchecked Sendable { var listener: ControlListener?; var server: IncomingControlServer?; var name = "" }
        let claim = Claim()
        let outcome: IncomingOutcome
        do {
            outcome = try MigrationReceiver.serve(on: stream, timeouts: timeouts, cancellation: cancellation,
                                                  secureDataStream: secureDataStream, makeGuest: { layout throws(HostFailure) in
                onGuestLayout?()
                let listener = try claimControlSocket(layout.name, in: runDirectory)
                claim.listener = listener
                claim.name = layout.name
                claim.server = IncomingControlServer(listener: listener, layout: layout,
                                                     consoleLog: runDirectory.consoleLog(layout.name), cancellation: cancellation)
                return try KVMIncomingGuest.make(for: layout, consolePath: runDirectory.consoleLog(layout.name))
            }, answerQuery: { name, nonce in runDirectory.presence(of: name, migration: nonce) },
               onCommit: { nonce throws(HostFailure) in try runDirectory.recordCommit(migration: nonce, guest: claim.name) },
               onRollback: { nonce in
                   do throws(HostFailure) {
                       try runDirectory.forgetCommit(migration: nonce)
                   } catch {
                       // Into the daemon's log: an operator must remove it before a source asks.
                       FileHandle.standardError.write(Data("livemig: \(error.description)\n".utf8))
                   }
               })
        } catch {
            claim.server?.stop()
            claim.listener?.close()
            throw error
        }
        claim.server?.stop()
        if case .answeredProbe(let bytes, let seconds) = outcome {
            FileHandle.standardError.write(Data("throughput probe from \(stream.peer): \(bytes) bytes in \(String(format: "%.3f", seconds)) s\n".utf8))
        }
        guard case .migration(let received) = outcome else { return nil }
        guard let incoming = received.guest as? KVMIncomingGuest, let listener = claim.listener else {
            throw HostFailure("the received guest is not a KVM guest")
        }
        if let reason = received.postcopyInterruption {
            FileHandle.standardError.write(Data("\(received.layout.name) held paused: post-copy was cut short after it ran here (\(reason)); it lacks pages only its source has, and its source's copy is stale: neither may run (docs/postcopy.md)\n".utf8))
            let daemon = GuestDaemon(guest: incoming.guest, runDirectory: runDirectory, listener: listener, postcopyInterruption: reason)
            daemon.missingPageTrap = received.missingPageTrap
            daemon.arrivedWorkload = received.layout.workload.isEmpty ? nil : received.layout.workload
            return daemon
        }
        // To the daemon's log (incoming.log for arrivals): what came, and whether it was verified.
        let verified = received.memoryVerified ? "; memory verified against the source's digest" : ""
        FileHandle.standardError.write(Data("\(received.layout.name) arrived: \(received.pagesReceived) pages, \(received.bytesReceived) bytes\(verified)\n".utf8))
        let daemon = GuestDaemon(guest: incoming.guest, runDirectory: runDirectory, listener: listener)
        daemon.arrivedWorkload = received.layout.workload.isEmpty ? nil : received.layout.workload
        return daemon
    }

    /// `postcopyInterruption`: a guest held after its post-copy was cut short, whose memory
    /// this daemon never reads (a missing page would block the reader for ever on the trap).
    private init(guest: KVMGuest, runDirectory: RunDirectory, listener: ControlListener, postcopyInterruption: String? = nil) {
        self.guest = guest
        self.runDirectory = runDirectory
        self.listener = listener
        self.postcopyInterruption = postcopyInterruption
        writesAtStart = postcopyInterruption == nil ? guest.counters.writes : 0
    }

    /// Serves control connections until the guest is gone; returns the process exit status.
    public func serve() -> Int32 {
        while let connection = listener.accept() {
            let thread = Thread { [self] in handle(connection) }
            thread.start()
            lock.lock()
            let finished = done
            lock.unlock()
            if finished { break }
        }
        return 0
    }

    private func finish() {
        lock.lock()
        done = true
        lock.unlock()
        listener.close()
    }

    private func handle(_ connection: ControlConnection) {
        do {
            while let request = try connection.receive(ControlRequest.self) {
                try respond(to: request, on: connection)
            }
        } catch {
            try? connection.send(ControlReply(error: error.description))
        }
    }

    private func respond(to request: ControlRequest, on connection: ControlConnection) throws(HostFailure) {
        // A command that changes the guest is carried out only for a client still there to hear
        // the answer: one that gave up (a timed-out `guest stop`) must not act later.
        if request.command != .status, request.command != .console, connection.peerHasHungUp {
            throw HostFailure("\(request.command.rawValue): the client hung up before it was carried out")
        }
        // Anyone who can open the control socket can send numbers the command line would refuse.
        try request.validate()
        if ![.status, .console, .stop].contains(request.command), let reason = lock.withLock({ postcopyInterruption }) {
            throw HostFailure("guest '\(guest.name)' is held paused here: its post-copy was cut short (\(reason)); it lacks pages only its source has, so it cannot run, move or be looked into; `livemig guest stop \(guest.name)` discards it (docs/postcopy.md)")
        }
        switch request.command {
        case .status:
            try connection.send(ControlReply(status: status()))
        case .console:
            let lines = guest.console.lines.suffix(max(1, min(request.lines ?? 20, 10_000)))
            try connection.send(ControlReply(console: lines.map { "\(String(format: "%.3f", $0.seconds)) \($0.text)" }))
        case .stop:
            try claim("stopping")
            // A held guest's vCPU may wait on a page that never comes, and a stop would wait on
            // it: the process exits instead (`serve` returns), which ends the vCPU and the trap.
            if lock.withLock({ postcopyInterruption }) == nil { guest.destroy() }
            try connection.send(ControlReply(ok: true))
            finish()
        case .observe:
            try claim("observing")
            defer { release() }
            try connection.send(ControlReply(observation: try observe(request)))
        case .measureCosts:
            try claim("measuring costs")
            defer { release() }
            try connection.send(ControlReply(costs: try HostCostMeasurement.measure(guest)))
        case .cancel:
            try connection.send(cancelMove())
        case .job:
            try connection.send(try job(request))
        case .resume:
            try claim("resuming")
            defer { release() }
            try connection.send(try resumeAfterUnknownOutcome(force: request.force ?? false))
        case .migrate, .save:
            if let target = lock.withLock({ unknownOutcomeTarget?.target }) {
                throw HostFailure("guest '\(guest.name)' may run on \(target) (a migration there lost its connection after clearing it): settle that first with `livemig guest resume \(guest.name)` or `livemig guest stop \(guest.name)`")
            }
            try claim(request.command == .save ? "saving" : "migrating")
            let cancellation = MigrationCancellation()
            let steering = MigrationSteering()
            lock.withLock {
                moving = cancellation
                self.steering = steering
            }
            let watcher = ClientWatcher(connection) { cancellation.cancel(reason: "the \(request.command.rawValue) client went away") }
            let report: KVMMigrationResult
            do {
                report = try move(request, cancellation: cancellation, steering: steering,
                                  progress: { line in try? connection.send(ControlReply(progress: line)) })
            } catch {
                watcher.stop()
                release()
                throw error
            }
            watcher.stop()
            // Recorded before the report goes out (at most 2 s, the history's lock wait), so
            // that a client which sees the report finds the migration in the history too.
            recordInHistory(request, report: report.report, steered: steering.changedLimits)
            try? connection.send(ControlReply(report: report.report))
            if report.report.outcome == .aborted {
                if !report.sourceRunning, request.command == .migrate, let target = request.target {
                    lock.withLock { unknownOutcomeTarget = (target, request.tlsConfiguration, report.migrationNonce) }
                    if report.report.postcopy != nil, report.report.sourceLeftPaused == true {
                        lock.withLock { handedOverInPostcopy = target }
                    }
                }
                release()
            } else {
                finish()
            }
        }
    }

    /// Appends the migration to the run directory's history (`MigrationHistory`); a failure to
    /// write it is logged, and never changes the migration's outcome.
    private func recordInHistory(_ request: ControlRequest, report: MigrationReport, steered: Bool) {
        var entry = MigrationHistoryEntry(
            finishedAt: ISO8601DateFormatter().string(from: Date()), guest: guest.name, command: request.command.rawValue,
            target: request.target ?? request.file, rateLimitBytesPerSecond: request.rateLimitBytesPerSecond,
            workload: status().workload, report: report)
        if steered { entry.steeredMidFlight = true }
        do {
            try MigrationHistory.append(entry, in: runDirectory)
        } catch {
            FileHandle.standardError.write(Data("livemig: \(guest.name): the migration was not added to the history: \(error.description)\n".utf8))
        }
    }

    /// Traces the guest's dirtying into `request.file` (see `DirtyLogObservation`).
    private func observe(_ request: ControlRequest) throws(HostFailure) -> ObservationSummary {
        guard let file = request.file else { throw HostFailure("observe: no trace file named") }
        return try TraceRecording.record(guest, into: file, seconds: request.seconds ?? 10, intervalSeconds: request.intervalSeconds ?? 0.1)
    }

    private func claim(_ what: String) throws(HostFailure) {
        lock.lock()
        defer { lock.unlock() }
        guard activity == nil, !done else { throw HostFailure("guest '\(guest.name)' is busy (\(activity ?? "stopping"))") }
        activity = what
    }

    private func release() {
        lock.lock()
        activity = nil
        moving = nil
        steering = nil
        lock.unlock()
    }

    /// `guest resume`: runs a paused guest again. After an unknown commit outcome it first asks
    /// the destination, and resumes only when that destination has no such guest; with
    /// `force` it resumes when the destination cannot be reached (the operator has checked).
    private func resumeAfterUnknownOutcome(force: Bool) throws(HostFailure) -> ControlReply {
        guard !guest.isRunning else { throw HostFailure("guest '\(guest.name)' is running") }
        if let target = lock.withLock({ handedOverInPostcopy }) {
            throw HostFailure("guest '\(guest.name)' ran on \(target) in a post-copy that was cut short: this paused copy is stale (it lacks the writes made there) and must not run, even with --force; `livemig guest stop \(guest.name)` discards it (docs/postcopy.md)")
        }
        if let (target, tls, migrationNonce) = lock.withLock({ unknownOutcomeTarget }) {
            let presence: GuestPresence
            do {
                presence = try GuestQuery.ask(try Endpoint(parsing: target), name: guest.name, migrationNonce: migrationNonce, tls: tls)
            } catch {
                guard force else {
                    throw HostFailure("cannot ask \(target) whether it runs '\(guest.name)' (\(error.description)); check there that it does not (`livemig list` on that host), then `livemig guest resume \(guest.name) --force`")
                }
                presence = .absent
            }
            switch presence {
            case .absent:
                break
            case .running:
                throw HostFailure("guest '\(guest.name)' runs on \(target): this paused copy must not run; `livemig guest stop \(guest.name)` discards it")
            case .committed:
                throw HostFailure("the migration of '\(guest.name)' committed on \(target) (the guest ran there, wherever it runs now): this paused copy is stale and must not run; `livemig guest stop \(guest.name)` discards it")
            case .arriving:
                throw HostFailure("guest '\(guest.name)' is still arriving or starting on \(target): ask again once its commit timeout (30 s by default) has passed")
            case .present:
                throw HostFailure("a guest '\(guest.name)' exists on \(target) but does not run: settle it there first (`livemig list`, `livemig guest stop`)")
            }
        }
        guest.resume()
        lock.withLock { unknownOutcomeTarget = nil }
        return ControlReply(ok: true)
    }

    /// `migrate --cancel`: stops the migration in progress unless it has committed.
    private func cancelMove() -> ControlReply {
        guard let cancellation = lock.withLock({ moving }) else {
            return ControlReply(error: "guest '\(guest.name)' is not migrating")
        }
        guard cancellation.cancel(reason: "migrate --cancel") else {
            return ControlReply(error: "guest '\(guest.name)': the migration has committed (the destination was cleared to run it); it can no longer be cancelled")
        }
        return ControlReply(ok: true)
    }

    /// `livemig job`: the migration under way, after applying any new limits the request
    /// carries (each refused with the engine's reason, nothing else changed by that one).
    private func job(_ request: ControlRequest) throws(HostFailure) -> ControlReply {
        guard let steering = lock.withLock({ self.steering }) else {
            throw HostFailure("guest '\(guest.name)' is not migrating")
        }
        var events: [(String, SourceEvent)] = []
        if let seconds = request.jobDowntimeLimitSeconds { events.append(("downtimeLimit", .setDowntimeLimit(seconds: seconds))) }
        if let bytesPerSecond = request.jobRateLimitBytesPerSecond { events.append(("bandwidth", .setRateLimit(bytesPerSecond: bytesPerSecond))) }
        if request.jobLiftRateLimit == true { events.append(("bandwidth", .setRateLimit(bytesPerSecond: nil))) }
        let refusals = events.compactMap { key, event -> String? in
            if case .refused(let why) = steering.submit(event, waitingUpTo: 5) { return "\(key): \(why)" }
            return nil
        }
        if !refusals.isEmpty { throw HostFailure("guest '\(guest.name)': " + refusals.joined(separator: "; ")) }
        guard let progress = steering.progress else {
            // Just started (no progress yet) or just ended (none any more).
            if !events.isEmpty { return ControlReply(ok: true) }
            throw HostFailure("guest '\(guest.name)': no migration progress to show (it is starting or has just ended); ask again")
        }
        var reply = ControlReply()
        reply.job = JobInfo(guest: guest.name, progress: progress)
        return reply
    }

    private func move(_ request: ControlRequest, cancellation: MigrationCancellation, steering: MigrationSteering,
                      progress: @escaping (ProgressLine) -> Void) throws(HostFailure) -> KVMMigrationResult {
        var settings = EngineSettings()
        settings.rateLimitBytesPerSecond = request.rateLimitBytesPerSecond
        settings.capsPausedRound = request.capPausedRound ?? false
        settings.compression = request.pageCompression
        settings.postcopy = request.postcopySwitch
        let policy = request.policyConfiguration
        let stream: BlockingSocket
        var parallelStreams: ParallelStreamsRequest?
        var returnPathConnect: ((UInt16) throws(HostFailure) -> BlockingSocket)?
        if request.command == .save {
            guard let file = request.file else { throw HostFailure("save: no file named") }
            if let streams = request.streams, streams > 1 { throw HostFailure("save: --streams \(streams): a file is one stream") }
            stream = try BlockingSocket.file(path: file, write: true)
            settings.live = false
        } else {
            guard let target = request.target else { throw HostFailure("migrate: no target host named") }
            let endpoint = try Endpoint(parsing: target)
            let tls: TLSContext? = try request.tlsConfiguration.map { configuration throws(HostFailure) in try TLSContext(configuration) }
            // Before a byte of the guest: the destination proves itself with a certificate
            // from the CA naming the host we connected to (or an allowed name). Each data
            // stream is connected and checked the same way, to the port the destination names.
            let connect = { (port: Int) throws(HostFailure) -> BlockingSocket in
                let socket = try BlockingSocket.connect(to: Endpoint(host: endpoint.host, port: port))
                if let tls { _ = try socket.startTLS(tls, role: .client, expectedPeerName: endpoint.host, handshakeTimeoutSeconds: 10) }
                return socket
            }
            stream = try connect(endpoint.port)
            if let streams = request.streams, streams > 1 {
                parallelStreams = ParallelStreamsRequest(count: streams) { port throws(HostFailure) in try connect(Int(port)) }
            }
            returnPathConnect = { port throws(HostFailure) in try connect(Int(port)) }
            settings.live = request.live ?? true
            // The pause's fixed part as past migrations to this host measured it, if enough
            // did; else the default (a loopback pause's).
            if let measured = MigrationHistory.measuredPauseOverhead(toward: target, in: runDirectory) {
                settings.pauseOverheadSeconds = measured
            }
        }
        defer { stream.close() }
        // Until the first dirty-log read: the calibration's dirtying if the client sent one,
        // else the built-in program's own workload at the rate it has achieved here, else
        // (a firmware image) what the first round's dirty log shows.
        let expectedDirtying = request.expectedDirtying ?? ownDirtying()
        // A guest nothing describes: its first round's dirty log, peeked, stands in.
        let firstRound = expectedDirtying.isEmpty && guest.workload == nil ? FirstRoundDirtying(peekDirtyPages: { [guest] in try? guest.readDirtyLog(clear: false).count }) : nil
        return try KVMMigration.migrate(guest, over: stream, policy: policy, settings: settings, cancellation: cancellation, steering: steering,
                                        maxDowntimeSeconds: request.maxDowntimeSeconds,
                                        timeouts: try TimeoutsFromEnvironment.sender(), verifyMemory: request.verifyMemory ?? false,
                                        detectsZeroPages: request.zeroPages ?? true, sendsDeltas: request.sendsDeltas, parallelStreams: parallelStreams,
                                        returnPathConnect: returnPathConnect) { update in
            // The time left and the pause by the model, rounds to come included; before the
            // transfer rate is known, the pending pages alone.
            let estimate = update.remaining(under: policy, expectedDirtying: firstRound?.expectedDirtying(at: update) ?? expectedDirtying)
            let remaining = update.pagesPending * Double(update.pageSizeBytes)
            progress(ProgressLine(
                elapsedSeconds: update.elapsedSeconds, iteration: update.iteration, bytesSent: update.totalBytesSent,
                pagesPending: update.pagesPending, bytesPerSecond: update.measuredBytesPerSecond,
                expectedDowntimeSeconds: estimate?.downtimeSeconds ?? update.expectedDowntimeSeconds,
                etaSeconds: estimate?.remainingSeconds ?? (update.measuredBytesPerSecond > 0 ? remaining / update.measuredBytesPerSecond : 0)))
        }
    }

    /// The built-in guest program's workload as dirty classes, its rates scaled to what it has
    /// achieved since this daemon took it (empty for a firmware image or an idle program).
    private func ownDirtying() -> [RemainingMigrationEstimate.DirtyClass] {
        guard let workload = guest.workload else { return [] }
        let classes: [RemainingMigrationEstimate.DirtyClass] = switch workload.kind {
        case .idle: []
        case .uniform: [.init(pages: Double(workload.workingSetPages), writesPerSecond: Double(workload.ratePagesPerSecond))]
        case .sequential: [.init(pages: Double(workload.workingSetPages), writesPerSecond: Double(workload.ratePagesPerSecond), sweep: true)]
        case .hotCold: [.init(pages: Double(workload.hotPages), writesPerSecond: Double(workload.ratePagesPerSecond)),
                        .init(pages: Double(workload.workingSetPages - workload.hotPages), writesPerSecond: Double(workload.coldRatePagesPerSecond))]
        }
        let nominal = classes.reduce(0) { $0 + $1.writesPerSecond }
        guard nominal > 0, let achieved = status().achievedWritesPerSecond, achieved > 0 else { return classes }
        let scale = min(1, achieved / nominal)
        return classes.map { .init(pages: $0.pages, writesPerSecond: $0.writesPerSecond * scale, sweep: $0.sweep) }
    }

    func status() -> GuestStatus {
        lock.lock()
        let busyWith = activity
        lock.unlock()
        let held = lock.withLock { postcopyInterruption != nil }
        let state: String = if let failure = guest.failure { "stopped: \(failure)" } else if let busyWith { busyWith }
            else if held { "held (post-copy cut short)" } else if guest.isRunning { "running" } else { "paused" }
        // The counters live in guest memory, which a held guest may lack.
        let counters = held ? (heartbeats: UInt64(0), writes: UInt64(0)) : { let read = guest.counters; return (heartbeats: read.heartbeats, writes: read.writes) }()
        let uptime = monotonicSeconds() - startedAt
        var status = GuestStatus(name: guest.name, state: state, memoryBytes: guest.memory.sizeBytes,
                                 workload: guest.workload?.description ?? arrivedWorkload ?? (guest.firmware != nil ? "firmware image" : "(received)"),
                                 uptimeSeconds: uptime, heartbeats: counters.heartbeats, pageWrites: counters.writes, processID: getpid(),
                                 consoleLog: runDirectory.consoleLog(guest.name))
        if guest.firmware == nil, uptime > 0, counters.writes >= writesAtStart {
            status.achievedWritesPerSecond = Double(counters.writes - writesAtStart) / uptime
        }
        return status
    }
}
