import FuzzSupport
import GGUF
import Kernels
import Llama

/// libFuzzer entry: arbitrary bytes as a GGUF file, through the reader, the llama configuration
/// and the weight views. Anything but a typed error is a finding: a trap, an out-of-bounds read
/// (AddressSanitizer), a leak, or a hang. Where a file loads, every view is read at its ends, so
/// a view that reaches past the mapping is caught.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let mapping = try? MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size)),
          let file = try? GGUFFile(mapping: mapping, path: "(fuzz)")
    else { return 0 }
    var checksum: UInt8 = 0
    for tensor in file.tensors {
        let bytes = file.data(of: tensor)
        precondition(bytes.count == tensor.byteCount && tensor.rowCount >= 1 && tensor.bytesPerRow <= tensor.byteCount)
        if let first = bytes.first, let last = bytes.last { checksum ^= first ^ last }
    }
    // What `pagedflex inspect` prints.
    for key in file.metadataKeys { checksum ^= UInt8(truncatingIfNeeded: file.metadata[key]!.description.utf8.count) }
    guard let model = try? LlamaModel(file: file) else { return checksum == 0 ? 0 : 0 }
    let c = model.configuration
    let w = model.weights
    var row = [Float](repeating: 0, count: max(c.embeddingLength, c.feedForwardLength, c.queryDimension))
    func touch(_ m: WeightMatrix) {
        row.withUnsafeMutableBufferPointer { out in
            m.dequantizeRow(0, into: out.baseAddress!)
            m.dequantizeRow(m.rowCount - 1, into: out.baseAddress!)
        }
    }
    touch(w.tokenEmbedding)
    touch(w.output)
    for layer in w.layers {
        for m in [layer.query, layer.key, layer.value, layer.output, layer.gate, layer.up, layer.down] { touch(m) }
        checksum ^= UInt8(truncatingIfNeeded: Int(layer.attentionNorm[c.embeddingLength - 1].bitPattern))
    }
    var cos = [Float](repeating: 0, count: c.ropeDimensions / 2), sin = cos
    model.rope.angles(position: c.contextLength - 1, cos: &cos, sin: &sin)
    return 0
}

@_cdecl("FuzzGGUF_main")
public func fuzzGGUFMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzGGUF)
}
