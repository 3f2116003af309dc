import Foundation
import KVMBackend
import MigrationCore

/// The memory of a benchmark guest as a realistic mix, written from the host before the guest
/// runs (as a loaded image would be): a share of zero pages (memory never touched), of text-like
/// pages (words of a small vocabulary in a seeded random order: tables, logs, code's strings;
/// zstd level 1 shrinks them about 3 to 4 times) and of random pages (encrypted or compressed
/// data: they do not shrink). The pages of each kind are interleaved in runs of 16, as a
/// guest's allocations are, and the same seed gives the same memory.
struct BenchMemoryMix: CustomStringConvertible {
    var zeroShare: Double
    var textShare: Double
    var randomShare: Double { max(0, 1 - zeroShare - textShare) }

    /// `zero,text,random` shares, e.g. `0.3,0.4,0.3`; they must add up to 1.
    init(parsing text: String) throws(HostFailure) {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let zero = parts[0], let words = parts[1], let random = parts[2],
              [zero, words, random].allSatisfy({ $0 >= 0 && $0 <= 1 }), abs(zero + words + random - 1) < 1e-6 else {
            throw HostFailure("--memory-mix \(text): three shares zero,text,random from 0 to 1 that add up to 1, such as 0.3,0.4,0.3")
        }
        zeroShare = zero
        textShare = words
    }

    var description: String {
        String(format: "memory %.0f %% zero, %.0f %% text, %.0f %% random", zeroShare * 100, textShare * 100, randomShare * 100)
    }

    private static let vocabulary = ["the", "guest", "page", "memory", "migration", "round", "dirty", "link", "kernel", "buffer",
                                     "request", "index", "value", "table", "error", "user", "session", "cache", "thread", "queue",
                                     "0x7f3a", "2026-12-01", "GET", "/var/log", "200", "OK", "null", "true", "{", "}", "=", ";"]

    /// The first 2 MiB hold the guest program, its page tables and stack: left as they are.
    static let firstPage = (2 << 20) / 4096

    /// Writes the mix into `memory` above the program (every page: zero pages are cleared), up
    /// to page `endPage` (a firmware guest's image sits above its RAM).
    func fill(_ memory: GuestMemory, upTo endPage: Int? = nil, seed: UInt64 = 1) {
        fill(pages: min(endPage ?? memory.pageCount, memory.pageCount), seed: seed) { memory.page($0).assumingMemoryBound(to: UInt8.self) }
    }

    /// The same pages, from `firstPage` up to `endPage`, as one buffer (what QEMU's `-device
    /// loader` puts at guest-physical `firstPage` × 4 KiB, so that both tools' guests hold the
    /// same memory).
    func bytes(upTo endPage: Int, seed: UInt64 = 1) -> Data {
        let count = max(0, endPage - Self.firstPage)
        var buffer = Data(count: count * 4096)
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            fill(pages: endPage, seed: seed) { base + ($0 - Self.firstPage) * 4096 }
        }
        return buffer
    }

    private func fill(pages endPage: Int, seed: UInt64, page address: (Int) -> UnsafeMutablePointer<UInt8>) {
        var random = SplitMix64(seed: seed)
        let run = 16
        for first in stride(from: Self.firstPage, to: endPage, by: run) {
            let draw = Double(random.next() >> 11) / Double(1 << 53)
            for page in first ..< min(first + run, endPage) {
                let bytes = address(page)
                if draw < zeroShare {
                    bytes.initialize(repeating: 0, count: 4096)
                } else if draw < zeroShare + textShare {
                    var offset = 0
                    while offset < 4096 {
                        let word = Self.vocabulary[Int(random.next() % UInt64(Self.vocabulary.count))].utf8
                        for byte in word where offset < 4096 {
                            bytes[offset] = byte
                            offset += 1
                        }
                        if offset < 4096 {
                            bytes[offset] = random.next() % 8 == 0 ? 10 : 32
                            offset += 1
                        }
                    }
                } else {
                    for word in 0 ..< 512 { (bytes + word * 8).withMemoryRebound(to: UInt64.self, capacity: 1) { $0.pointee = random.next() } }
                }
            }
        }
    }
}
