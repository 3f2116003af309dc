/// Helpers for the stream tests: hand-built bytes (little-endian fields, raw records that the
/// encoder would refuse to write) and decoding a whole byte string.
import MigrationStream
import XCTest

/// A 64 KiB guest: 16 pages of 4 KiB, 2 vCPUs.
let smallLayout = GuestLayout(name: "vm", memoryBytes: 0x10000, pageSizeBytes: 4096, vcpuCount: 2, workload: "db")

func le32(_ value: UInt32) -> [UInt8] {
    (0 ..< 4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
}

func le64(_ value: UInt64) -> [UInt8] {
    (0 ..< 8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// The 16 header bytes of version 6.
let headerBytes: [UInt8] = [0x4C, 0x49, 0x56, 0x45, 0x4D, 0x49, 0x47, 0x00, 6, 0, 0, 0, 0, 0, 0, 0]

/// A record built by hand: type, length (the body's unless given), body, then `padding` or zeros
/// up to a multiple of 8.
func rawRecord(_ type: UInt32, _ body: [UInt8], length: UInt32? = nil, padding: [UInt8]? = nil) -> [UInt8] {
    let pad = padding ?? [UInt8](repeating: 0, count: (8 - body.count % 8) % 8)
    return le32(type) + le32(length ?? UInt32(body.count)) + body + pad
}

/// A guestLayout body built by hand, with the length fields given or computed.
func rawLayoutBody(
    name: [UInt8] = Array("vm".utf8), memoryBytes: UInt64 = 0x10000, pageSizeBytes: UInt32 = 4096,
    vcpuCount: UInt32 = 2, workload: [UInt8] = [], nameLength: UInt32? = nil, workloadLength: UInt32? = nil
) -> [UInt8] {
    le64(memoryBytes) + le32(pageSizeBytes) + le32(vcpuCount) + le32(nameLength ?? UInt32(name.count))
        + le32(workloadLength ?? UInt32(workload.count)) + name + workload
}

/// A pageBatch body built by hand: count (given or computed), reserved, page numbers, data.
func rawBatchBody(pages: [UInt64], pageSizeBytes: Int = 4096, count: UInt32? = nil, reserved: UInt32 = 0) -> [UInt8] {
    var body = le32(count ?? UInt32(pages.count)) + le32(reserved)
    for page in pages { body += le64(page) }
    body += [UInt8](repeating: 0x5A, count: pages.count * pageSizeBytes)
    return body
}

/// Header plus the small layout, as the encoder writes them.
func streamStart(_ layout: GuestLayout = smallLayout) -> [UInt8] {
    var bytes: [UInt8] = []
    var encoder = StreamEncoder(direction: .sourceToDestination)
    encoder.appendHeader(into: &bytes)
    try! encoder.append(.guestLayout(layout), into: &bytes)
    return bytes
}

/// Page data whose every byte says which page and offset it is, so misplaced bytes show.
func pageData(_ pages: [UInt64], pageSizeBytes: Int = 4096) -> [UInt8] {
    var data: [UInt8] = []
    data.reserveCapacity(pages.count * pageSizeBytes)
    for page in pages {
        for offset in 0 ..< pageSizeBytes { data.append(UInt8(truncatingIfNeeded: Int(page) &* 31 &+ offset)) }
    }
    return data
}

/// Encodes a header and `records` in one direction.
func encode(_ records: [StreamRecord], direction: StreamDirection = .sourceToDestination) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var encoder = StreamEncoder(direction: direction)
    encoder.appendHeader(into: &bytes)
    for record in records { try encoder.append(record, into: &bytes) }
    return bytes
}

/// Feeds `bytes` in chunks of `chunk` bytes (all at once if nil), draining records after each feed.
func decodeAll(_ bytes: [UInt8], direction: StreamDirection = .sourceToDestination, chunk: Int? = nil) throws -> [StreamRecord] {
    var decoder = StreamDecoder(direction: direction)
    var records: [StreamRecord] = []
    let step = chunk ?? max(bytes.count, 1)
    var start = 0
    while start < bytes.count {
        decoder.feed(bytes[start ..< min(start + step, bytes.count)])
        start += step
        while let record = try decoder.nextRecord() { records.append(record) }
    }
    XCTAssertEqual(decoder.bufferedByteCount, 0, "bytes left over mid-record")
    return records
}

/// Asserts that decoding `bytes` throws exactly `expected`.
func assertDecodeFails(
    _ bytes: [UInt8], _ expected: StreamError, direction: StreamDirection = .sourceToDestination,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try decodeAll(bytes, direction: direction), file: file, line: line) { error in
        XCTAssertEqual(error as? StreamError, expected, file: file, line: line)
    }
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(
    _ expected: StreamError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        XCTAssertEqual(error as? StreamError, expected, file: file, line: line)
    }
}
