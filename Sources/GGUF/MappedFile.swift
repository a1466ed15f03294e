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
    /// Whether the bytes are the file's pages (not an anonymous copy of them).
    public let isFileBacked: Bool

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
        isFileBacked = true
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
        isFileBacked = false
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

    /// Tells the kernel that the whole pages inside `range` (bytes of the mapping) will not be
    /// needed soon, so that they stop counting toward the process's resident memory: a file-backed
    /// mapping reads them back from the file when they are touched again, so nothing is lost. Does
    /// nothing for an anonymous copy, whose pages would come back as zeros.
    public func releaseResidentPages(_ range: Range<Int>) {
        guard isFileBacked, let base, !range.isEmpty else { return }
        precondition(range.lowerBound >= 0 && range.upperBound <= byteCount, "range outside the mapping")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// The mapped bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }
}
