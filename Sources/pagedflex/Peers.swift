import Foundation

/// The peer engines of `../shared/peers/`, run as subprocesses so their figures sit beside ours
/// in one run (these machines are shared and noisy: only side-by-side ratios mean something).
enum Peers {
    /// The peers folder: `PAGEDFLEX_PEERS`, or `../shared/peers` beside the checkout.
    static var directory: URL {
        if let env = ProcessInfo.processInfo.environment["PAGEDFLEX_PEERS"] { return URL(fileURLWithPath: env) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).deletingLastPathComponent()
            .appendingPathComponent("shared/peers")
    }

    /// The Python of llama.cpp's virtualenv when `install-llamacpp.sh` has been run.
    static var llamaCppPython: String? {
        let venv = ProcessInfo.processInfo.environment["PEER_LLAMACPP_VENV"]
            ?? (NSHomeDirectory() + "/.cache/peer-llamacpp/venv")
        let python = venv + "/bin/python"
        return FileManager.default.isExecutableFile(atPath: python) ? python : nil
    }

    /// Runs `llamacpp_bench.py` with `arguments` and returns its JSON results. Flash attention is
    /// asked for explicitly (`on`, what llama.cpp's `auto` picks on a CPU): llama-cpp-python
    /// 0.3.36's `auto` resolution crashed (SIGSEGV in llama_decode) on an AVX-512/AMX Xeon here.
    static func runLlamaCpp(model: String, arguments: [String]) throws -> [String: Any] {
        guard let python = llamaCppPython else {
            throw CLIError("llama.cpp is not installed: run ../shared/peers/install-llamacpp.sh (10-20 minutes), or leave out --peer")
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pagedflex-llamacpp-\(getpid()).json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [directory.appendingPathComponent("llamacpp_bench.py").path, "--model", model,
                             "--out-json", out.path, "--out-ref", out.path + ".ref", "--flash-attn", "on"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: out.path),
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            let how = process.terminationReason == .uncaughtSignal ? "killed by signal" : "exit"
            throw CLIError("llamacpp_bench.py failed (\(how) \(process.terminationStatus))")
        }
        return json
    }

    /// `json[a][b]...["median"]` as a Double.
    static func median(_ json: [String: Any], _ path: String...) -> Double? {
        var node: Any? = json
        for key in path { node = (node as? [String: Any])?[key] }
        return (node as? [String: Any])?["median"] as? Double
    }
}
