extension TinyModel {
    /// A tiny llama shape whose vocabulary is ``TinyTokenizer``'s, with a context of
    /// `contextLength` tokens.
    public static func shapeWithTokenizer(contextLength: Int = 256) -> Shape {
        var shape = Shape()
        shape.vocabulary = TinyTokenizer.vocabularySize
        shape.context = contextLength
        return shape
    }

    /// Writes the model with ``TinyTokenizer``'s metadata to a temporary file, so that a
    /// `ModelBundle` (and so an `Engine`) can load it, and returns its path.
    public func writeWithTokenizer() throws -> String {
        precondition(shape.vocabulary == TinyTokenizer.vocabularySize, "the embedding needs one row per token of TinyTokenizer")
        var file = writer
        for (key, value) in TinyTokenizer.metadata { file.add(key, value) }
        return try file.write(named: "tiny-with-tokenizer-\(shape.heads)-\(shape.kvHeads)")
    }
}
