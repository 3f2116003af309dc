import Foundation
import MigrationCore
import MigrationSimulation
import DirtyTraceFormat

/// Walks a parsed scenario document section by section and builds its `SimulationConfig`.
struct ScenarioReader {
    let file: String
    let baseDirectory: String
    /// Sizes and page counts: any finite number here, since their own checks (2^32 pages,
    /// the guest's pages) follow with a more telling error.
    static let anySize = InputBound("size", .count, from: "0", to: "1e300")
    static let batchPages = InputBound("batchPages", .count, from: "1", to: "\(EngineSettings.maxBatchPagesLimit)")
    static let streams = InputBound("streams", .count, from: "1", to: "\(SimulationConfig.maxStreams)")
    static let cores = InputBound("cores", .count, from: "1", to: "4096")
    static let postcopyRounds = InputBound("postcopyAfter", .count, from: "1", to: "\(PostcopySwitch.maxLiveRounds)")

    mutating func read(_ document: [String: Any], defaultName: String) throws(ScenarioError) -> Scenario {
        var top = try ScenarioSection(file: file, path: "", value: document)
        let name = top.text("name") ?? defaultName
        let summary = top.text("description")
        let seed = try top.seed() ?? 1

        var guest = try top.section("guest")
        guard let memory = try guest.positive("memory", expected: "a size such as 1GiB or 512MiB", within: Self.anySize, Quantities.bytes) else {
            throw guest.error("memory", "is required (e.g. memory: 1GiB)")
        }
        let pageSize = try guest.positive("pageSize", expected: "a size such as 4KiB", within: Self.anySize, Quantities.bytes) ?? 4096
        guard pageSize >= 512, pageSize <= 1_073_741_824, let pageBytes = CheckedConversion.wholeInt(pageSize),
              pageBytes & (pageBytes - 1) == 0 else {
            throw guest.error("pageSize", "must be a power of two from 512B to 1GiB")
        }
        guard memory / pageSize <= Double(1 << 32) else {
            throw guest.error("memory", "more than 2^32 pages of \(pageBytes) bytes")
        }
        let memoryBytes = try guest.whole("memory", memory, unit: "bytes")
        guard memoryBytes % pageBytes == 0 else {
            throw guest.error("memory", "\(memoryBytes) bytes is not a whole number of \(pageBytes)-byte pages")
        }
        var costs = HostCosts()
        if let bytes = try guest.nonNegative("deviceState", expected: "a size such as 64KiB", within: ScenarioBounds.deviceState, Quantities.bytes) {
            costs.deviceStateBytes = try guest.whole("deviceState", bytes, unit: "bytes")
        }
        // The share of memory that is zero pages when the migration starts (sent as markers).
        let zeroShare = try guest.nonNegative("zeroShare", expected: "a share such as 0.6", within: ScenarioBounds.zeroShare,
                                              Quantities.number) ?? 0
        // What compression shrinks the guest's data pages to (compressed over raw).
        let compressRatio = try guest.positive("compressRatio", expected: "a share such as 0.4", within: ScenarioBounds.compressRatio,
                                               Quantities.number) ?? 0.5
        // What an XBZRLE delta shrinks a page sent before to (delta over page).
        let deltaRatio = try guest.positive("deltaRatio", expected: "a share such as 0.02", within: ScenarioBounds.deltaRatio,
                                            Quantities.number) ?? 0.02
        try guest.rejectUnknownKeys()

        let guestPages = memoryBytes / pageBytes
        var workloadSection = try top.section("workload")
        let workload = try readWorkload(&workloadSection, guestPages: guestPages, pageBytes: pageBytes)
        let placement = try readPlacement(&workloadSection, guestPages: guestPages, pageBytes: pageBytes)
        try workloadSection.rejectUnknownKeys()

        var linkSection = try top.section("link")
        let link = try readLink(&linkSection)
        // The share of the nominal rates transfers achieve: measured by `calibrate
        // --from-history` (a capped link delivered 74-99 % of its cap here, with the host's load).
        let efficiency = try linkSection.positive("efficiency", expected: "a share such as 0.9", within: ScenarioBounds.efficiency,
                                                  Quantities.number) ?? 1
        let failAt = try linkSection.nonNegative("failAt", expected: "a time such as 5s", within: ScenarioBounds.duration, Quantities.seconds)
        try linkSection.rejectUnknownKeys()

        var source = try top.section("source")
        let secondsText = "a duration such as 0.5ms"
        costs.dirtyLogReadSecondsPerGiB = try source.nonNegative("dirtyLogReadCost", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? costs.dirtyLogReadSecondsPerGiB
        costs.dirtyLogPeekSecondsPerGiB = try source.nonNegative("dirtyLogPeekCost", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? costs.dirtyLogPeekSecondsPerGiB
        costs.pageCopySecondsPerPage = try source.nonNegative("pageCopyCost", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? costs.pageCopySecondsPerPage
        costs.pauseSeconds = try source.nonNegative("pauseCost", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? costs.pauseSeconds
        costs.resumeSeconds = try source.nonNegative("resumeCost", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? costs.resumeSeconds
        // One stream's most (its threads' CPU), and the cores the streams run on.
        costs.streamBytesPerSecond = try source.positive("streamRate", expected: "a bandwidth such as 8Gbit/s", within: ScenarioBounds.bandwidth,
                                                         Quantities.bytesPerSecond)
        costs.sourceCores = try source.wholeNumber("cores", within: Self.cores)
        costs.compressSecondsPerPage = try source.nonNegative("compressCost", expected: secondsText, within: ScenarioBounds.duration,
                                                              Quantities.seconds) ?? costs.compressSecondsPerPage
        costs.deltaSecondsPerPage = try source.nonNegative("deltaCost", expected: secondsText, within: ScenarioBounds.duration,
                                                           Quantities.seconds) ?? costs.deltaSecondsPerPage
        try source.rejectUnknownKeys()

        var migration = try top.section("migration")
        var engine = EngineSettings(pageSizeBytes: pageBytes)
        engine.live = try migration.bool("live") ?? true
        engine.rateLimitBytesPerSecond = try migration.positive("rateLimit", expected: "a bandwidth such as 500Mbit/s",
                                                                within: ScenarioBounds.bandwidth, Quantities.bytesPerSecond)
        engine.maxBatchPages = try migration.wholeNumber("batchPages", within: Self.batchPages) ?? engine.maxBatchPages
        engine.capsPausedRound = try migration.bool("capPausedRound") ?? false
        let streams = try migration.wholeNumber("streams", within: Self.streams) ?? 1
        let compression = try migration.choice("compression", of: CompressionName.self) ?? .none
        guard compression != .xbzrle || streams == 1 else {
            throw migration.error("compression", "xbzrle with \(streams) streams; deltas run on one stream (streams: 1), which knows what it sent before")
        }
        // Post-copy instead of an offline fallback (`postcopy: fallback`), or after N live rounds.
        let postcopy = try migration.choice("postcopy", of: PostcopyName.self) ?? .never
        if let rounds = try migration.wholeNumber("postcopyAfter", within: Self.postcopyRounds) {
            guard postcopy != .never || migration.text("postcopy") == nil else {
                throw migration.error("postcopyAfter", "asks for post-copy where postcopy: never says none")
            }
            engine.postcopy = .afterLiveRounds(rounds)
        } else if postcopy == .fallback {
            engine.postcopy = .insteadOfFallback
        }
        if engine.postcopy != .never {
            let key = migration.has("postcopyAfter") ? "postcopyAfter" : "postcopy"
            // Post-copy hands a running guest over after live rounds, on one connection (the
            // destination's order of page requests and pushed pages: docs/postcopy.md).
            guard engine.live else { throw migration.error(key, "asks for post-copy in a migration that is not live (live: false)") }
            guard streams == 1 else { throw migration.error(key, "asks for post-copy with \(streams) streams; post-copy runs on one (streams: 1)") }
        }
        // What the pause costs besides its pages, as the model has it: the qemu policy budgets it.
        engine.pauseOverheadSeconds = costs.pauseSeconds + costs.resumeSeconds
        try migration.rejectUnknownKeys()

        var policySection = try top.section("policy")
        let policy = try readPolicy(&policySection, pageBytes: pageBytes)
        try policySection.rejectUnknownKeys()

        let events = try readEvents(&top, policy: policy)

        var simulation = try top.section("simulation")
        let fidelity = try simulation.choice("fidelity", of: Fidelity.self) ?? .page
        let maxSeconds = try simulation.positive("maxSeconds", expected: "a duration such as 1h", within: ScenarioBounds.duration,
                                                 Quantities.seconds) ?? 86_400
        try simulation.rejectUnknownKeys()
        try top.rejectUnknownKeys()

        var config = SimulationConfig(
            guestMemoryBytes: memoryBytes, workload: workload, link: link, costs: costs, engine: engine,
            policy: policy, fidelity: fidelity, seed: seed, maxSimulatedSeconds: maxSeconds, linkFailureAtSeconds: failAt)
        config.placement = placement
        config.linkEfficiency = efficiency
        config.zeroPageShare = zeroShare
        config.streams = streams
        config.engine.compression = compression.engineSetting
        config.engine.compressionThreads = min(streams, costs.sourceCores ?? streams)
        config.compressRatio = compressRatio
        config.sendsDeltas = compression == .xbzrle
        config.deltaRatio = deltaRatio
        config.operatorEvents = events
        do {
            try config.validate()
        } catch {
            throw ScenarioError("\(file): \(error.description)")
        }
        return Scenario(name: name, summary: summary, config: config)
    }

    private func pagesKey(_ section: inout ScenarioSection, _ key: String, pageBytes: Int, guestPages: Int,
                          default fallback: Int?) throws(ScenarioError) -> Int {
        guard let pages = try section.nonNegative(key, expected: "a size such as 256MiB or a page count", within: Self.anySize,
                                                  { Quantities.pages($0, pageSizeBytes: pageBytes) }) else {
            guard let fallback else { throw section.error(key, "is required") }
            return fallback
        }
        guard pages <= Double(guestPages) else {
            throw section.error(key, "\(section.text(key) ?? "") is larger than guest.memory (\(guestPages) pages)")
        }
        return try section.whole(key, pages, unit: "\(pageBytes)-byte pages")
    }

    /// `workload.placement` (`scattered`, the default, or `contiguous`) and, for a contiguous
    /// block, `workload.offset`: where it starts (a size or a page count; 0 by default).
    private func readPlacement(_ section: inout ScenarioSection, guestPages: Int, pageBytes: Int) throws(ScenarioError) -> WorkingSetPlacement {
        let placement = try section.choice("placement", of: PlacementName.self) ?? .scattered
        guard placement == .contiguous else {
            if section.has("offset") { throw section.error("offset", "only with placement: contiguous") }
            return .scattered
        }
        return .contiguous(firstPage: try pagesKey(&section, "offset", pageBytes: pageBytes, guestPages: guestPages, default: 0))
    }

    private enum PlacementName: String, CaseIterable { case scattered, contiguous }
    private enum CompressionName: String, CaseIterable {
        case none, zstd, auto, xbzrle
        var engineSetting: PageCompression {
            switch self {
            case .none: .off
            case .zstd: .always
            // XBZRLE deltas: the engine chooses round by round whether they pay, as for auto.
            case .auto, .xbzrle: .auto
            }
        }
    }

    /// `migration.postcopy`: never (the default) or instead of an offline fallback.
    enum PostcopyName: String, CaseIterable {
        case never, fallback
    }

    private func rate(_ section: inout ScenarioSection, _ key: String, pageBytes: Int, required: Bool) throws(ScenarioError) -> Double {
        let value = try section.nonNegative(key, expected: "a rate in pages per second (e.g. 20000) or bytes (80MiB/s)",
                                            within: ScenarioBounds.pageRate, { Quantities.pagesPerSecond($0, pageSizeBytes: pageBytes) })
        if let value { return value }
        if required { throw section.error(key, "is required (pages written per second)") }
        return 0
    }

    private func readWorkload(_ section: inout ScenarioSection, guestPages: Int, pageBytes: Int) throws(ScenarioError) -> Workload {
        guard let kind = section.text("kind") else {
            if section.has("rate") || section.has("workingSet") { throw section.error("kind", "is required") }
            return .idle
        }
        switch kind {
        case "idle":
            return .idle
        case "uniform":
            return .uniform(
                workingSetPages: try pagesKey(&section, "workingSet", pageBytes: pageBytes, guestPages: guestPages, default: guestPages),
                ratePagesPerSecond: try rate(&section, "rate", pageBytes: pageBytes, required: true))
        case "hotCold":
            let workingSet = try pagesKey(&section, "workingSet", pageBytes: pageBytes, guestPages: guestPages, default: guestPages)
            let hot = try pagesKey(&section, "hotSet", pageBytes: pageBytes, guestPages: guestPages, default: nil)
            guard hot <= workingSet else {
                throw section.error("hotSet", "\(hot) pages is larger than workingSet (\(workingSet) pages)")
            }
            return .hotCold(workingSetPages: workingSet, hotPages: hot,
                            hotRatePagesPerSecond: try rate(&section, "hotRate", pageBytes: pageBytes, required: true),
                            coldRatePagesPerSecond: try rate(&section, "coldRate", pageBytes: pageBytes, required: false))
        case "zipf":
            let pages = try pagesKey(&section, "workingSet", pageBytes: pageBytes, guestPages: guestPages, default: guestPages)
            let exponent = try section.positive("exponent", expected: "a number such as 1.0", within: ScenarioBounds.zipfExponent,
                                                Quantities.number) ?? 1.0
            return .zipf(workingSetPages: pages, ratePagesPerSecond: try rate(&section, "rate", pageBytes: pageBytes, required: true),
                         exponent: exponent)
        case "sequential":
            return .sequential(
                regionPages: try pagesKey(&section, "workingSet", pageBytes: pageBytes, guestPages: guestPages, default: guestPages),
                ratePagesPerSecond: try rate(&section, "rate", pageBytes: pageBytes, required: true))
        case "phases":
            guard let list = section.raw("phases") as? [Any], !list.isEmpty else {
                throw section.error("phases", "is required: a list of phases, each with a duration and a workload kind")
            }
            var phases: [WorkloadPhase] = []
            for (index, item) in list.enumerated() {
                var phase = try ScenarioSection(file: file, path: section.key("phases[\(index)]"), value: item)
                guard let duration = try phase.positive("duration", expected: "a duration such as 10s", within: ScenarioBounds.duration,
                                                        Quantities.seconds) else {
                    throw phase.error("duration", "is required")
                }
                if phase.text("kind") == "phases" { throw phase.error("kind", "phases cannot be nested") }
                var inner = phase
                let workload = try readWorkload(&inner, guestPages: guestPages, pageBytes: pageBytes)
                try inner.rejectUnknownKeys()
                phases.append(WorkloadPhase(durationSeconds: duration, workload: workload))
            }
            return .phases(phases)
        case "trace":
            guard let path = section.text("file") else { throw section.error("file", "is required: the trace file to replay") }
            let fullPath = path.hasPrefix("/") ? path : baseDirectory + "/" + path
            let text: String
            do {
                text = try String(contentsOfFile: fullPath, encoding: .utf8)
            } catch {
                throw section.error("file", "cannot read '\(fullPath)' (\(error.localizedDescription))")
            }
            let trace: DirtyTrace
            do {
                trace = try DirtyTrace.parse(text, source: fullPath)
            } catch {
                throw section.error("file", error.description)
            }
            guard trace.pageSizeBytes == pageBytes else {
                throw section.error("file", "the trace's page-size \(trace.pageSizeBytes) differs from guest.pageSize \(pageBytes)")
            }
            guard trace.pageCount <= guestPages else {
                throw section.error("file", "the trace covers \(trace.pageCount) pages, more than guest.memory (\(guestPages) pages)")
            }
            return .trace(trace, loop: try section.bool("loop") ?? false)
        default:
            throw section.error("kind", "'\(kind)' is not one of idle, uniform, hotCold, zipf, sequential, phases, trace")
        }
    }

    private func readLink(_ section: inout ScenarioSection) throws(ScenarioError) -> LinkModel {
        let bandwidthText = "a bandwidth such as 1Gbit/s or 125MB/s"
        var steps: [LinkModel.Step] = []
        if let bandwidth = try section.positive("bandwidth", expected: bandwidthText, within: ScenarioBounds.bandwidth, Quantities.bytesPerSecond) {
            steps.append(LinkModel.Step(fromSeconds: 0, bytesPerSecond: bandwidth))
        }
        if let profile = section.raw("profile") {
            guard let list = profile as? [Any], !list.isEmpty else {
                throw section.error("profile", "must be a list of {at, bandwidth} steps")
            }
            steps = []
            for (index, item) in list.enumerated() {
                var step = try ScenarioSection(file: file, path: section.key("profile[\(index)]"), value: item)
                guard let at = try step.nonNegative("at", expected: "a time such as 30s", within: ScenarioBounds.duration, Quantities.seconds) else {
                    throw step.error("at", "is required")
                }
                guard let bandwidth = try step.nonNegative("bandwidth", expected: bandwidthText, within: ScenarioBounds.bandwidth,
                                                           Quantities.bytesPerSecond) else {
                    throw step.error("bandwidth", "is required")
                }
                try step.rejectUnknownKeys()
                if index == 0, at != 0 { throw step.error("at", "the first step must be at 0s") }
                if let last = steps.last, at <= last.fromSeconds {
                    throw step.error("at", "steps must be in increasing time order")
                }
                steps.append(LinkModel.Step(fromSeconds: at, bytesPerSecond: bandwidth))
            }
            if steps[0].bytesPerSecond <= 0 { throw section.error("profile[0].bandwidth", "must be greater than 0") }
        }
        guard !steps.isEmpty else { throw section.error("bandwidth", "is required (e.g. bandwidth: 1Gbit/s)") }
        let secondsText = "a duration such as 0.2ms"
        return LinkModel(
            bandwidthProfile: steps,
            latencySeconds: try section.nonNegative("latency", expected: secondsText, within: ScenarioBounds.duration, Quantities.seconds) ?? 0.0002,
            perBatchOverheadSeconds: try section.nonNegative("batchOverhead", expected: secondsText, within: ScenarioBounds.duration,
                                                             Quantities.seconds) ?? 0)
    }

    /// `events:`: what the operator does mid-run, each `{at: 5s, bandwidth: 2Gbit/s}` (or
    /// `none`), `{at: 5s, downtimeLimit: 100ms}` or `{at: 5s, cancel: true}`, in time order.
    private func readEvents(_ top: inout ScenarioSection, policy: PolicyConfiguration) throws(ScenarioError) -> [OperatorEvent] {
        guard top.has("events") else { return [] }
        guard let list = top.raw("events") as? [Any] else {
            throw top.error("events", "must be a list such as [{at: 5s, bandwidth: 2Gbit/s}]")
        }
        guard list.count <= OperatorEvent.maxCount else { throw top.error("events", "\(list.count) events, at most \(OperatorEvent.maxCount)") }
        var events: [OperatorEvent] = []
        for (index, item) in list.enumerated() {
            var entry = try ScenarioSection(file: file, path: top.key("events[\(index)]"), value: item)
            guard let at = try entry.nonNegative("at", expected: "a time such as 5s", within: ScenarioBounds.duration, Quantities.seconds) else {
                throw entry.error("at", "is required: when the operator acts, from the migration's start")
            }
            let actions = ["bandwidth", "downtimeLimit", "cancel"].filter { entry.has($0) }
            guard actions.count == 1 else {
                throw ScenarioError("\(file): \(entry.path): one of bandwidth, downtimeLimit or cancel (found \(actions.isEmpty ? "none" : actions.joined(separator: ", ")))")
            }
            let event: SourceEvent
            switch actions[0] {
            case "bandwidth":
                if entry.text("bandwidth") == "none" {
                    event = .setRateLimit(bytesPerSecond: nil)
                } else {
                    let rate = try entry.positive("bandwidth", expected: "a bandwidth such as 2Gbit/s, or none", within: ScenarioBounds.bandwidth,
                                                  Quantities.bytesPerSecond)
                    event = .setRateLimit(bytesPerSecond: rate)
                }
            case "downtimeLimit":
                guard policy.name == .qemu || policy.name == .timeout else {
                    throw entry.error("downtimeLimit", "policy \(policy.name.rawValue) has no downtime limit to set (qemu and timeout have one)")
                }
                let seconds = try entry.positive("downtimeLimit", expected: "a duration such as 100ms", within: PolicyBounds.downtimeLimit,
                                                 Quantities.seconds)
                event = .setDowntimeLimit(seconds: seconds ?? 0)
            default:
                guard try entry.bool("cancel") == true else { throw entry.error("cancel", "must be true") }
                event = .cancel(reason: "events[\(index)] at \(at) s")
            }
            try entry.rejectUnknownKeys()
            if let last = events.last, last.atSeconds > at {
                throw entry.error("at", "events must be in time order (\(at) s comes after \(last.atSeconds) s)")
            }
            events.append(OperatorEvent(atSeconds: at, event: event))
        }
        return events
    }

    private func readPolicy(_ section: inout ScenarioSection, pageBytes: Int) throws(ScenarioError) -> PolicyConfiguration {
        let name = try section.choice("name", of: PolicyName.self) ?? .xen4
        var policy = PolicyConfiguration(name: name)
        policy.maxIterations = try section.wholeNumber("maxIterations", within: PolicyBounds.maxIterations)
        policy.maxFactor = try section.positive("maxFactor", expected: "a number such as 3", within: PolicyBounds.maxFactor, Quantities.number)
        policy.targetDirtyPages = try section.nonNegative("targetDirtyPages", expected: "a page count such as 50",
                                                          within: PolicyBounds.targetDirtyPages, Quantities.number)
        policy.downtimeLimitSeconds = try section.positive("downtimeLimit", expected: "a duration such as 300ms",
                                                           within: PolicyBounds.downtimeLimit, Quantities.seconds)
        policy.autoConverge = try section.bool("autoConverge") ?? false
        policy.dirtyLimitPagesPerSecond = try section.positive("dirtyLimit", expected: "a dirty rate in pages per second (e.g. 2000) or bytes (8MiB/s)",
                                                               within: PolicyBounds.dirtyLimit, { Quantities.pagesPerSecond($0, pageSizeBytes: pageBytes) })
        if let problem = policy.throttleChoiceProblem { throw section.error("dirtyLimit", problem) }
        policy.shrinksPause = try section.bool("shrinkPause")
        policy.timeoutSeconds = try section.positive("timeout", expected: "a duration such as 60s", within: PolicyBounds.timeout, Quantities.seconds)
        policy.fallbackRounds = try section.wholeNumber("fallbackRounds", within: PolicyBounds.fallbackRounds)
        policy.fallbackDirtyRatio = try section.positive("fallbackDirtyRatio", expected: "a ratio such as 0.9",
                                                         within: PolicyBounds.fallbackDirtyRatio, Quantities.number)
        return policy
    }
}
