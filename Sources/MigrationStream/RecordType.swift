/// The type number at the start of every record. Numbers 1...15 are the guest's data (source to
/// destination only); 16 and above are control messages (the commit handshake, data streams,
/// post-copy's return path).
public enum RecordType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case guestLayout = 1
    case pageBatch = 2
    case vcpuState = 3
    case deviceState = 4
    case endOfStream = 5
    case memoryDigest = 6
    case drainMark = 7
    case zeroPages = 8
    case parallelStreams = 9
    case roundStart = 10
    case compressedPages = 11
    case postcopyStart = 12
    case returnPath = 13
    case readyToUnpause = 16
    case clearedToUnpause = 17
    case running = 18
    case abort = 19
    case firstConsoleLine = 20
    case challenge = 21
    case challengeEcho = 22
    case queryGuest = 23
    case guestState = 24
    case throughputProbe = 25
    case probeResult = 26
    case drained = 27
    case joinStream = 28
    case streamsListening = 29
    case joinReturnPath = 30
    case pageRequest = 31
    case postcopyComplete = 32

    /// Whether this is a control message rather than part of the guest's data.
    public var isControl: Bool { rawValue >= 16 }

    /// Which way this record may travel.
    public func isAllowed(in direction: StreamDirection) -> Bool {
        switch self {
        case .guestLayout, .pageBatch, .vcpuState, .deviceState, .endOfStream, .memoryDigest, .drainMark, .zeroPages, .clearedToUnpause,
             .challengeEcho, .queryGuest, .throughputProbe, .parallelStreams, .roundStart, .joinStream, .compressedPages, .postcopyStart, .returnPath, .joinReturnPath:
            return direction == .sourceToDestination
        case .readyToUnpause, .running, .firstConsoleLine, .challenge, .guestState, .probeResult, .drained, .streamsListening,
             .pageRequest, .postcopyComplete:
            return direction == .destinationToSource
        case .abort:
            return true
        }
    }

    /// The name and number, as errors print it: "pageBatch (type 2)".
    public var description: String { "\(name) (type \(rawValue))" }

    /// The name used in the spec.
    public var name: String {
        switch self {
        case .guestLayout: "guestLayout"
        case .pageBatch: "pageBatch"
        case .vcpuState: "vcpuState"
        case .deviceState: "deviceState"
        case .endOfStream: "endOfStream"
        case .memoryDigest: "memoryDigest"
        case .drainMark: "drainMark"
        case .zeroPages: "zeroPages"
        case .readyToUnpause: "readyToUnpause"
        case .clearedToUnpause: "clearedToUnpause"
        case .running: "running"
        case .abort: "abort"
        case .firstConsoleLine: "firstConsoleLine"
        case .challenge: "challenge"
        case .challengeEcho: "challengeEcho"
        case .queryGuest: "queryGuest"
        case .guestState: "guestState"
        case .throughputProbe: "throughputProbe"
        case .probeResult: "probeResult"
        case .drained: "drained"
        case .parallelStreams: "parallelStreams"
        case .roundStart: "roundStart"
        case .compressedPages: "compressedPages"
        case .joinStream: "joinStream"
        case .streamsListening: "streamsListening"
        case .postcopyStart: "postcopyStart"
        case .returnPath: "returnPath"
        case .joinReturnPath: "joinReturnPath"
        case .pageRequest: "pageRequest"
        case .postcopyComplete: "postcopyComplete"
        }
    }
}

/// Which way a stream flows. Each direction of the connection is its own stream with its own
/// header: the source sends the guest and `clearedToUnpause`; the destination sends
/// `readyToUnpause`, `running` and perhaps `firstConsoleLine`; either may send `abort`.
public enum StreamDirection: Sendable, CustomStringConvertible {
    case sourceToDestination
    case destinationToSource

    public var description: String {
        switch self {
        case .sourceToDestination: "source to destination"
        case .destinationToSource: "destination to source"
        }
    }
}
