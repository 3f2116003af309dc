import Foundation
import MigrationCore

/// A lock file in the run directory held for as long as its descriptor is open: a guest's name
/// while its daemon starts and runs, a Xen domain's migration while it runs.
public enum ExclusiveLockFile {
    /// Opens `path` (created 0600, never through a symbolic link) and takes its exclusive lock,
    /// retrying if the file was unlinked or replaced while it waited; `busy` when another holds it.
    public static func take(_ path: String, what busy: String) throws(HostFailure) -> Int32 {
        for _ in 0 ..< 8 {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw HostFailure("\(path): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                throw HostFailure(busy)
            }
            var opened = stat(), named = stat()
            if fstat(fd, &opened) == 0, stat(path, &named) == 0, opened.st_dev == named.st_dev, opened.st_ino == named.st_ino {
                return fd
            }
            close(fd)
        }
        throw HostFailure("\(path): replaced again and again while livemig tried to lock it")
    }
}
