/// The 16 bytes that open each direction of a migration connection: the magic `LIVEMIG\0`,
/// the format version and flags, both little-endian `UInt32`. A peer that is not livemig, or
/// speaks another version, is turned away before any record is read.
public enum StreamHeader {
    /// `LIVEMIG` and a NUL, in ASCII.
    public static let magic: [UInt8] = [0x4C, 0x49, 0x56, 0x45, 0x4D, 0x49, 0x47, 0x00]
    /// The version this code writes. Version 2 (livemig 2026-11-30) made a whole
    /// guest mean every page at least once, one `vcpuState` per vCPU and exactly one
    /// `deviceState` (version 1 carried the console's unfinished line inside vCPU 0's state and
    /// often no `deviceState`), so a version 1 stream is refused by its header, not half read.
    /// Version 3 (livemig 2026-12-01) grew `running` from 8 bytes to 32 (the destination's own
    /// timing of its part of the pause, `RunningReport`) and added `drainMark` / `drained`.
    /// Version 4 (livemig 2026-12-01) added `zeroPages` (type 8, source to destination): all-zero
    /// pages by frame number, without their data. A version 3 reader refuses a version 4 header,
    /// so a new source's stream (which may carry `zeroPages`) is never half read by an old build.
    /// Version 5 (livemig 2026-12-01) added parallel streams: `parallelStreams` (type 9) and
    /// `roundStart` (type 10), `joinStream` (type 28) and `streamsListening` (type 29), and
    /// compression: `compressedPages` (type 11). A version 4
    /// reader refuses a version 5 header, as above. Version 6 (livemig 2026-12-02) adds
    /// post-copy: `postcopyStart`, `returnPath`, `joinReturnPath` (source to destination),
    /// `pageRequest` and `postcopyComplete` (destination to source).
    public static let version: UInt32 = 6
    /// The versions this code reads in `direction`: every version whose records in that
    /// direction read the same as this one's. From the source, 2 to 6: version 2's
    /// source-to-destination records are version 3's, those are version 4's without
    /// `zeroPages`, those version 5's without parallel streams, and those version 6's without
    /// post-copy, so a guest saved to a file (or sent) by an earlier build still loads. From the
    /// destination, 3 to 6: versions 4 to 6 changed no destination-to-source record but add some
    /// (`streamsListening`, `pageRequest`, `postcopyComplete`, sent only to a source that asked), so a version 3 destination's replies mean exactly what they say; version 2's shorter `running`
    /// is refused. Each side writes `version`, so this does not make a version 3 destination
    /// take this build's stream: it refuses the version 4 source header itself and hangs up.
    public static func readableVersions(_ direction: StreamDirection) -> [UInt32] {
        direction == .sourceToDestination ? [2, 3, 4, 5, 6] : [3, 4, 5, 6]
    }
    /// No flags are defined; a header with any flag set is refused.
    public static let flags: UInt32 = 0
    /// Magic, version and flags.
    public static let sizeBytes = 16

    /// The header bytes, appended to `buffer`.
    public static func append(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: magic)
        buffer.appendLittleEndian(version)
        buffer.appendLittleEndian(flags)
    }

    /// Checks the first `bytes.count` bytes (possibly fewer than 16) of a header; throws as soon
    /// as the magic disagrees, so a wrong peer is refused without waiting for 16 bytes.
    static func checkMagicPrefix(_ bytes: ArraySlice<UInt8>) throws(StreamError) {
        for (offset, byte) in bytes.prefix(magic.count).enumerated() where byte != magic[offset] {
            throw .badMagic(Array(bytes.prefix(magic.count)))
        }
    }

    /// Checks a complete 16-byte header.
    static func check(_ bytes: ArraySlice<UInt8>, direction: StreamDirection) throws(StreamError) {
        precondition(bytes.count == sizeBytes)
        try checkMagicPrefix(bytes)
        let start = bytes.startIndex
        let foundVersion = bytes.readUInt32(at: start + 8)
        guard readableVersions(direction).contains(foundVersion) else { throw .unsupportedVersion(foundVersion, direction: direction) }
        let foundFlags = bytes.readUInt32(at: start + 12)
        guard foundFlags == flags else { throw .unknownHeaderFlags(foundFlags) }
    }
}
