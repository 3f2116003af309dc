#if canImport(Glibc)
import Glibc
#endif
import MigrationStream

/// A guest's RAM: one anonymous private mapping, handed to KVM as a memory slot and read by the
/// migration stream straight from where the guest wrote it (no whole-memory copies). Private,
/// as QEMU's default RAM is: on this machine a page's first touch costs 2.7-2.9 us against
/// 4.2 us for a shared (shmem) mapping, and dropping a page for post-copy (MADV_DONTNEED)
/// 0.4 us against 1.0 us (MADV_REMOVE); a destination does both for every page it receives
/// or holds stale at the hand-over.
public final class GuestMemory: @unchecked Sendable {
    public static let pageSizeBytes = 4096
    /// The smallest guest: the low 2 MiB hold the page tables, parameter block, stack and program.
    public static let minimumBytes = 4 << 20
    /// The largest guest: the identity page tables cover 4 GiB.
    public static let maximumBytes = 4 << 30

    public let base: UnsafeMutableRawPointer
    public let sizeBytes: Int

    /// With `populate`, every page is allocated up front (MAP_POPULATE), as a guest that has
    /// booted has touched its RAM; without, pages are allocated when first touched.
    public init(sizeBytes: Int, populate: Bool = false) throws(KVMError) {
        guard sizeBytes >= Self.minimumBytes, sizeBytes <= Self.maximumBytes,
              sizeBytes % (2 << 20) == 0 else {
            throw KVMError("guest memory must be a multiple of 2 MiB from 4 MiB to 4 GiB (got \(sizeBytes) bytes)")
        }
        let mapping = mmap(nil, sizeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (populate ? MAP_POPULATE : 0), -1, 0)
        guard let mapping, mapping != MAP_FAILED else {
            throw KVMError("cannot map \(sizeBytes) bytes of guest memory: \(String(cString: strerror(errno)))")
        }
        base = mapping
        self.sizeBytes = sizeBytes
    }

    deinit { munmap(base, sizeBytes) }

    public var pageCount: Int { sizeBytes / Self.pageSizeBytes }

    /// The address of guest page `page`.
    @inline(__always)
    public func page(_ page: Int) -> UnsafeMutableRawPointer {
        base + page * Self.pageSizeBytes
    }

    /// The `MemoryDigest` of all of memory: the destination of `migrate --verify-memory` must
    /// hold exactly this at the moment of the pause.
    public func digest() -> UInt64 {
        var digest = MemoryDigest()
        digest.add(UnsafeRawBufferPointer(start: base, count: sizeBytes))
        return digest.value
    }
}
