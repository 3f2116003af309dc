import Foundation
import MigrationStream
import XCTest

/// The stream decoder's fuzz seeds (Tests/Fuzz/corpus/FuzzStreamDecoder) are whole, valid
/// streams of a version this build reads in their direction (`StreamHeader.readableVersions`;
/// seeds of an older readable version are kept, and at least one is of this version), so that
/// fuzzing starts past the header: a seed the decoder refuses would only ever test the header
/// check. The first byte picks the direction (even: from the source), as the fuzz target reads it. Inputs kept because they once crashed the target
/// (libFuzzer's `crash-…`, `leak-…`, `timeout-…`, `oom-…`) are not seeds and are left out.
final class FuzzSeedTests: XCTestCase {
    func testEverySeedIsAValidStreamOfAReadableVersion() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/FuzzStreamDecoder")
        let artifacts = ["crash-", "leak-", "timeout-", "oom-", "slow-unit-"]
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
            .filter { name in !artifacts.contains { name.hasPrefix($0) } }
        XCTAssertGreaterThanOrEqual(seeds.count, 10)
        var typesSeen = Set<RecordType>()
        var versionsSeen = Set<UInt32>()
        for seed in seeds {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(seed)))
            guard bytes.count > StreamHeader.sizeBytes else {
                XCTFail("\(seed): \(bytes.count) bytes, shorter than the direction byte and a header")
                continue
            }
            let direction: StreamDirection = bytes[0] & 1 == 0 ? .sourceToDestination : .destinationToSource
            let version = UInt32(bytes[9]) | UInt32(bytes[10]) << 8 | UInt32(bytes[11]) << 16 | UInt32(bytes[12]) << 24
            XCTAssertTrue(StreamHeader.readableVersions(direction).contains(version), "\(seed): version \(version)")
            versionsSeen.insert(version)
            do {
                let records = try decodeAll(Array(bytes.dropFirst()), direction: direction)
                XCTAssertFalse(records.isEmpty, seed)
                typesSeen.formUnion(records.map(\.type))
            } catch {
                XCTFail("\(seed): \(error)")
            }
        }
        XCTAssertTrue(versionsSeen.contains(StreamHeader.version), "no seed of version \(StreamHeader.version)")
        XCTAssertTrue(typesSeen.isSuperset(of: [.drainMark, .drained, .running, .firstConsoleLine, .pageBatch, .zeroPages, .parallelStreams, .joinStream, .roundStart, .streamsListening, .compressedPages, .postcopyStart, .returnPath, .joinReturnPath, .pageRequest, .postcopyComplete]), "\(typesSeen)")
    }
}
