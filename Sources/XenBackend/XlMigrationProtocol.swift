import MigrationCore

/// The bytes `xl migrate` and `xl migrate-receive` exchange (Xen 4.17 `tools/xl/xl.h` 56-97,
/// `xl_migrate.c`, `xl_saverestore.c`), and the libxl v2 stream framing around libxc's own
/// stream (`docs/specs/libxl-migration-stream.pandoc`, `libxl_sr_stream_format.h`). livemig
/// speaks exactly this on Xen, in both roles, so that it interoperates with the stock toolstack.
///
/// The conversation: the receiver sends `banner`; the sender sends the savefile header and the
/// domain's configuration (`preamble`), then the libxl stream (`libxlStreamHeader`,
/// `libxcContextRecord`, libxc's stream from `xc_domain_save`, `endRecord`); the receiver
/// builds the domain paused and sends `ready`; the sender renames its copy
/// "NAME--migratedaway" and sends `permissionToGo`; the receiver renames its copy from
/// "NAME--incoming" to NAME, unpauses it and sends `report` and one status byte (0: it runs;
/// else the negated libxl error, followed by `permissionToGo` back so the sender may resume).
public enum XlMigrationProtocol {
    /// 54 bytes, no NUL.
    public static let banner = Array("xl migration receiver ready, send binary domain data.\n".utf8)
    /// 34 bytes with the NUL.
    public static let ready = Array("domain received, ready to unpause".utf8) + [0]
    /// 44 bytes with the NUL.
    public static let permissionToGo = Array("domain is yours, you are cleared to unpause".utf8) + [0]
    /// 39 bytes with the NUL; one status byte follows.
    public static let report = Array("my copy unpause results are as follows".utf8) + [0]

    /// The savefile magic: 32 bytes, the NUL and CR included.
    public static let savefileMagic: [UInt8] = Array("Xen saved domain, xl format\n \u{0} \r".utf8)
    /// 0x01020304 in the host's (little-endian) order.
    static let byteOrderMarker: [UInt8] = [4, 3, 2, 1]
    /// XL_MANDATORY_FLAG_JSON (bit 0) | XL_MANDATORY_FLAG_STREAMv2 (bit 1).
    static let mandatoryFlags: UInt32 = 3
    public static let headerBytes = 48
    /// The longest configuration livemig accepts from a sender.
    public static let maxConfigBytes = 1 << 20

    /// libxl's v2 stream header, big-endian: "LibxlFmt", version 2, options 0.
    public static let libxlStreamHeader: [UInt8] = Array("LibxlFmt".utf8) + [0, 0, 0, 2, 0, 0, 0, 0]
    /// The LIBXC_CONTEXT record (type 1, length 0): libxc's stream follows.
    public static let libxcContextRecord: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]
    /// The END record (type 0, length 0).
    public static let endRecord = [UInt8](repeating: 0, count: 8)

    /// The savefile header and the configuration: what xl writes before libxl's stream. The
    /// JSON goes with its NUL, as xl sends it.
    public static func preamble(configJSON: String) -> [UInt8] {
        let config = Array(configJSON.utf8) + [0]
        var bytes = savefileMagic + byteOrderMarker
        bytes += littleEndian(mandatoryFlags) + littleEndian(0) + littleEndian(UInt32(4 + config.count))
        bytes += littleEndian(UInt32(config.count)) + config
        return bytes
    }

    /// Everything before libxc's stream: the preamble, libxl's stream header and the
    /// LIBXC_CONTEXT record.
    public static func streamOpening(configJSON: String) -> [UInt8] {
        preamble(configJSON: configJSON) + libxlStreamHeader + libxcContextRecord
    }

    /// Checks a 48-byte header; returns the length of the optional data that follows.
    public static func optionalDataLength(ofHeader header: [UInt8]) throws(HostFailure) -> Int {
        guard header.count == headerBytes else { throw HostFailure("the xl header is \(header.count) bytes, not \(headerBytes)") }
        guard Array(header[0 ..< 32]) == savefileMagic else { throw HostFailure("not an xl migration stream (wrong magic)") }
        guard Array(header[32 ..< 36]) == byteOrderMarker else { throw HostFailure("the xl stream has the wrong byte order") }
        let flags = uint32(header, at: 36)
        guard flags & ~mandatoryFlags == 0 else { throw HostFailure("the xl stream needs features livemig lacks (mandatory flags \(flags))") }
        guard flags & 2 != 0 else { throw HostFailure("the xl stream is a legacy (v1) stream; livemig reads libxl v2 streams") }
        guard flags & 1 != 0 else { throw HostFailure("the xl stream's configuration is not JSON") }
        let length = Int(uint32(header, at: 44))
        guard (4 ... 4 + maxConfigBytes).contains(length) else {
            throw HostFailure("the xl stream's configuration is \(length) bytes (at most \(maxConfigBytes))")
        }
        return length
    }

    /// The configuration JSON from the optional data.
    public static func configJSON(fromOptionalData data: [UInt8]) throws(HostFailure) -> String {
        guard data.count >= 4 else { throw HostFailure("the xl stream's configuration is truncated") }
        let length = Int(uint32(data, at: 0))
        guard length >= 1, 4 + length <= data.count else { throw HostFailure("the xl stream's configuration is truncated") }
        let text = data[4 ..< 4 + length].prefix { $0 != 0 }
        guard let json = String(validating: text, as: UTF8.self) else { throw HostFailure("the xl stream's configuration is not UTF-8") }
        return json
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0 ..< 4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}
