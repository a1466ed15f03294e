import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file, unmapped once when the last reference goes.
///
/// The pages of the mapping are shared with the page cache, so loading a model costs no copy and
/// its weights count toward the process's memory only as they are touched.
public final class MappedFile: Sendable {
    /// The first byte of the mapping (nil only for an empty file).
    nonisolated(unsafe) public let base: UnsafeRawPointer?
    public let byteCount: Int

    public init(path: String) throws(GGUFError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        byteCount = Int(info.st_size)
        if byteCount == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(mapped)
    }

    /// A private anonymous mapping holding a copy of `bytes`: a file that never touched the disk
    /// (the fuzzers read their inputs this way).
    public init(copying bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        byteCount = bytes.count
        guard !bytes.isEmpty else {
            base = nil
            return
        }
        let mapped = mmap(nil, bytes.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw .cannotOpen(path: "(memory)", reason: "mmap of \(bytes.count) bytes failed: " + String(cString: strerror(errno)))
        }
        mapped.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        mprotect(mapped, bytes.count, PROT_READ)
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// The mapped bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }
}
