import Foundation

/// Where the real model and the reference files are, for tests that need them.
///
/// In CI (`CI=true`) the model must be there (`.ci/run` fetches it): a missing model fails the
/// test. Elsewhere such tests skip, saying so.
public enum RealModel {
    /// The package root: the directory above `Tests/`.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// `PAGEDFLEX_MODEL`, or `models/SmolLM2-135M-Instruct.Q4_1.gguf` under the package root.
    public static var path: String {
        ProcessInfo.processInfo.environment["PAGEDFLEX_MODEL"]
            ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    /// The reference outputs: `PAGEDFLEX_REFERENCE`, or `../shared/reference` beside the checkout.
    public static var referenceDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["PAGEDFLEX_REFERENCE"] { return URL(fileURLWithPath: env) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
    }

    public static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: path)
            && FileManager.default.fileExists(atPath: referenceDirectory.appendingPathComponent("reference.json").path)
    }

    /// True when real-model tests should run: always in CI (where a missing file then fails them),
    /// elsewhere only when the files are present. Prints why when it skips.
    public static var shouldRun: Bool {
        if isCI || isAvailable { return true }
        print("note: skipping real-model tests: \(path) or the reference files are missing (run scripts/fetch-model); in CI they would fail")
        return false
    }

    /// Gemma 3 270M: `PAGEDFLEX_GEMMA_MODEL`, or `models/gemma-3-270m-q4_k_m.gguf` under the package root.
    public static var gemmaPath: String {
        ProcessInfo.processInfo.environment["PAGEDFLEX_GEMMA_MODEL"]
            ?? packageRoot.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path
    }

    /// Gemma's reference outputs: `gemma3/` in the reference directory.
    public static var gemmaReferenceDirectory: URL { referenceDirectory.appendingPathComponent("gemma3") }

    public static var gemmaIsAvailable: Bool {
        FileManager.default.fileExists(atPath: gemmaPath)
            && FileManager.default.fileExists(atPath: gemmaReferenceDirectory.appendingPathComponent("reference.json").path)
    }

    /// As ``shouldRun``, for the Gemma tests.
    public static var gemmaShouldRun: Bool {
        if isCI || gemmaIsAvailable { return true }
        print("note: skipping Gemma tests: \(gemmaPath) or its reference files are missing (run scripts/fetch-model gemma3); in CI they would fail")
        return false
    }
}
