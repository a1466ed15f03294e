import Foundation
import ArgumentParser
import GGUF

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a GGUF file's metadata and tensor table.")

    @Argument(help: "The GGUF file.")
    var file: String = defaultModelPath

    @Flag(help: "Print every tensor (the default shows the first 40).")
    var allTensors = false

    func run() throws {
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: file) } catch { throw ValidationError(error.description) }
        print("\(file): GGUF v\(gguf.version), \(gguf.metadata.count) metadata keys, \(gguf.tensors.count) tensors, alignment \(gguf.alignment), \(gguf.mapping.byteCount) bytes")
        print("\nmetadata:")
        let width = gguf.metadataKeys.map(\.count).max() ?? 0
        for key in gguf.metadataKeys {
            let value = gguf.metadata[key]!
            print("  \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(value.type)  \(value)")
        }
        print("\ntensors:")
        let nameWidth = gguf.tensors.map(\.name.count).max() ?? 0
        let shown = allTensors ? gguf.tensors[...] : gguf.tensors.prefix(40)
        for t in shown {
            let dims = t.dimensions.map(String.init).joined(separator: " × ")
            print("  \(t.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(t.type.name.padding(toLength: 5, withPad: " ", startingAt: 0))  \(dims.padding(toLength: 14, withPad: " ", startingAt: 0))  \(t.byteCount) bytes @ \(gguf.dataStart + t.dataOffset)")
        }
        if shown.count < gguf.tensors.count { print("  ... \(gguf.tensors.count - shown.count) more (--all-tensors)") }
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for t in gguf.tensors { byType[t.type.name, default: (0, 0)].count += 1; byType[t.type.name]!.bytes += t.byteCount }
        print("\nby type: " + byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.count) tensors, \($0.value.bytes) bytes" }.joined(separator: "; "))
    }
}
