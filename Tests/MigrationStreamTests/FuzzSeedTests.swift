import Foundation
import MigrationStream
import XCTest

/// The stream decoder's fuzz seeds (Tests/Fuzz/corpus/FuzzStreamDecoder) are whole, valid
/// streams of this version, so that fuzzing starts past the header: a seed the decoder refuses
/// would only ever test the header check. The first byte picks the direction (even: from the
/// source), as the fuzz target reads it. Inputs kept because they once crashed the target
/// (libFuzzer's `crash-…`, `leak-…`, `timeout-…`, `oom-…`) are not seeds and are left out.
final class FuzzSeedTests: XCTestCase {
    func testEverySeedIsAValidStreamOfThisVersion() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/FuzzStreamDecoder")
        let artifacts = ["crash-", "leak-", "timeout-", "oom-", "slow-unit-"]
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
            .filter { name in !artifacts.contains { name.hasPrefix($0) } }
        XCTAssertGreaterThanOrEqual(seeds.count, 10)
        var typesSeen = Set<RecordType>()
        for seed in seeds {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(seed)))
            let direction: StreamDirection = bytes[0] & 1 == 0 ? .sourceToDestination : .destinationToSource
            XCTAssertEqual(bytes[9], UInt8(StreamHeader.version), seed)
            do {
                let records = try decodeAll(Array(bytes.dropFirst()), direction: direction)
                XCTAssertFalse(records.isEmpty, seed)
                typesSeen.formUnion(records.map(\.type))
            } catch {
                XCTFail("\(seed): \(error)")
            }
        }
        XCTAssertTrue(typesSeen.isSuperset(of: [.drainMark, .drained, .running, .firstConsoleLine, .pageBatch]), "\(typesSeen)")
    }
}
