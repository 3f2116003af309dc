#if canImport(Glibc)
import Glibc
#endif

/// A KVM operation that failed: what was attempted, and the system's reason.
public struct KVMError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// From a shim's negative errno: "KVM_RUN: Invalid argument".
    static func call(_ what: String, _ status: Int32) -> KVMError {
        KVMError("\(what): \(String(cString: strerror(-status)))")
    }
}

/// Throws `KVMError` when a shim call returned a negative errno; returns the value otherwise.
@discardableResult
func check(_ what: String, _ status: Int32) throws(KVMError) -> Int32 {
    if status < 0 { throw KVMError.call(what, status) }
    return status
}
