import MigrationCore
import XCTest
import XenBackend

/// The bytes of xl's migration protocol as Xen 4.17's xl writes and reads them (xl.h,
/// xl_saverestore.c, libxl_sr_stream_format.h): checked here without a Xen host.
final class XlMigrationProtocolTests: XCTestCase {
    func testTheHandshakeMessagesHaveXlsLengths() {
        XCTAssertEqual(XlMigrationProtocol.banner.count, 54, "no NUL")
        XCTAssertEqual(XlMigrationProtocol.banner.last, UInt8(ascii: "\n"))
        XCTAssertEqual(XlMigrationProtocol.ready.count, 34, "with the NUL")
        XCTAssertEqual(XlMigrationProtocol.permissionToGo.count, 44, "with the NUL")
        XCTAssertEqual(XlMigrationProtocol.report.count, 39, "with the NUL")
        XCTAssertEqual(XlMigrationProtocol.ready.last, 0)
    }

    func testThePreambleIsXlsSavefileHeaderThenTheConfigWithItsNUL() throws {
        let json = #"{"c_info":{"name":"guest"}}"#
        let bytes = XlMigrationProtocol.preamble(configJSON: json)
        XCTAssertEqual(bytes.count, 48 + 4 + json.utf8.count + 1)
        XCTAssertEqual(Array(bytes[0 ..< 32]), Array("Xen saved domain, xl format\n".utf8) + [0x20, 0x00, 0x20, 0x0d])
        XCTAssertEqual(Array(bytes[32 ..< 48]), [4, 3, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0, UInt8(4 + json.utf8.count + 1), 0, 0, 0])
        XCTAssertEqual(Array(bytes[48 ..< 52]), [UInt8(json.utf8.count + 1), 0, 0, 0])
        XCTAssertEqual(bytes.last, 0)
        // And back.
        let length = try XlMigrationProtocol.optionalDataLength(ofHeader: Array(bytes[0 ..< 48]))
        XCTAssertEqual(length, bytes.count - 48)
        XCTAssertEqual(try XlMigrationProtocol.configJSON(fromOptionalData: Array(bytes[48...])), json)
    }

    func testTheLibxlStreamFraming() {
        XCTAssertEqual(XlMigrationProtocol.libxlStreamHeader,
                       [0x4c, 0x69, 0x62, 0x78, 0x6c, 0x46, 0x6d, 0x74, 0, 0, 0, 2, 0, 0, 0, 0])
        XCTAssertEqual(XlMigrationProtocol.libxcContextRecord, [1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(XlMigrationProtocol.endRecord, [UInt8](repeating: 0, count: 8))
    }

    func testBadHeadersAreRefusedSayingWhy() {
        let good = Array(XlMigrationProtocol.preamble(configJSON: "{}")[0 ..< 48])
        func refused(_ header: [UInt8], saying words: String, line: UInt = #line) {
            XCTAssertThrowsError(try XlMigrationProtocol.optionalDataLength(ofHeader: header), line: line) { error in
                XCTAssertTrue("\(error)".contains(words), "\(error)", line: line)
            }
        }
        var magic = good
        magic[0] = UInt8(ascii: "Y")
        refused(magic, saying: "wrong magic")
        var order = good
        order[32 ... 35] = [1, 2, 3, 4]
        refused(order, saying: "byte order")
        var legacy = good
        legacy[36] = 1
        refused(legacy, saying: "legacy")
        var unknown = good
        unknown[36] = 7
        refused(unknown, saying: "mandatory flags 7")
        var huge = good
        huge[44 ... 47] = [0, 0, 0, 0x10]
        refused(huge, saying: "at most")
        refused(Array(good.prefix(40)), saying: "40 bytes")
        XCTAssertThrowsError(try XlMigrationProtocol.configJSON(fromOptionalData: [9, 0, 0, 0, 0x7b])) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }
}
