import SplitMix
import Testing

@testable import PagedKVCache

/// Drives a ``KVCacheManager`` with storage through random operations and checks it against a
/// model of what every sequence must hold. "Computing" a position writes, into its key, a value
/// that depends on the salt and every token up to it, and into its value the position; so a
/// prefix-cache hit, a fork or a page handed out twice that gave a sequence the wrong keys and
/// values shows up as a wrong number in storage.
struct CacheSimulator: ~Copyable {
    static let layout = try! PageLayout(tokensPerPage: 4, layerCount: 1, kvHeadCount: 1, headSize: 1)

    struct Sequence {
        let id: SequenceID
        var tokens: [UInt32]
        /// The key each position must hold: a 24-bit digest of the salt and tokens up to it.
        var keys: [Float]
        var computed: Int
        var digest: UInt64
    }

    var cache: KVCacheManager
    var live: [Sequence] = []
    var nextID: UInt64 = 0
    /// How often each kind of result came up, so tests can show they exercised it.
    var outOfPagesCount = 0
    var forkCount = 0
    var releaseCount = 0

    init(pageCount: Int) {
        cache = KVCacheManager(storage: try! PageStorage(layout: Self.layout, pageCount: pageCount))
    }

    /// Applies one operation chosen, with its parameters, by `word`.
    mutating func apply(_ word: UInt64) {
        var random = SplitMix64(seed: word)
        switch random.next() % 100 {
        case 0 ..< 25: start(&random)
        case 25 ..< 50: compute(&random)
        case 50 ..< 68: append(&random)
        case 68 ..< 78: fork(&random)
        default: release(&random)
        }
    }

    private mutating func start(_ random: inout SplitMix64) {
        // Three families of prompts over a tiny vocabulary, so prefixes are often shared.
        let family = UInt32(random.next() % 3)
        let prefixLength = Int(random.next() % 21)
        let suffixLength = Int(random.next() % 7)
        let prompt = (0 ..< prefixLength).map { family * 100 + UInt32($0) } + (0 ..< suffixLength).map { _ in UInt32(random.next() % 3) }
        let salt: UInt64 = random.next() % 4 == 0 ? 1 : 0
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        let before = cache.usage
        guard let cached = cache.startSequence(id, promptTokens: prompt, salt: salt) else {
            outOfPagesCount += 1
            #expect(cache.usage == before, "a failed start changed the cache")
            #expect(cache.contains(id) == false)
            return
        }
        #expect(cached % Self.layout.tokensPerPage == 0)
        #expect(cached == 0 || cached < prompt.count, "the last prompt token must be computed")
        var sequence = Sequence(id: id, tokens: [], keys: [], computed: cached, digest: PrefixCache.mix(salt))
        sequence.extend(with: prompt)
        live.append(sequence)
    }

    private mutating func compute(_ random: inout SplitMix64) {
        let candidates = live.indices.filter { live[$0].computed < live[$0].tokens.count }
        guard !candidates.isEmpty else { return }
        let index = candidates[Int(random.next() % UInt64(candidates.count))]
        let remaining = live[index].tokens.count - live[index].computed
        let end = live[index].computed + 1 + Int(random.next() % UInt64(remaining))
        let sequence = live[index]
        let table = cache.pageTable(of: sequence.id)
        let layout = Self.layout
        cache.withMutableStorage { storage in
            storage.withUnsafeMutableBufferPointer(of: Float.self) { elements in
                for position in sequence.computed ..< end {
                    let slot = table.slot(at: position)
                    elements[layout.elementOffset(slot: slot, layer: 0, isValue: false, kvHead: 0)] = sequence.keys[position]
                    elements[layout.elementOffset(slot: slot, layer: 0, isValue: true, kvHead: 0)] = Float(position)
                }
            }
        }
        cache.markComputed(sequence.id, tokenCount: end)
        live[index].computed = end
    }

    private mutating func append(_ random: inout SplitMix64) {
        guard !live.isEmpty else { return }
        let index = Int(random.next() % UInt64(live.count))
        let newTokens = (0 ... random.next() % 3).map { _ in UInt32(random.next() % 3) }
        let before = cache.usage
        let appended = newTokens.count == 1
            ? cache.append(token: newTokens[0], to: live[index].id) : cache.append(newTokens, to: live[index].id)
        guard appended else {
            outOfPagesCount += 1
            #expect(cache.usage == before, "a failed append changed the cache")
            return
        }
        live[index].extend(with: newTokens)
    }

    private mutating func fork(_ random: inout SplitMix64) {
        let candidates = live.indices.filter { live[$0].computed == live[$0].tokens.count }
        guard !candidates.isEmpty else { return }
        let parent = live[candidates[Int(random.next() % UInt64(candidates.count))]]
        let child = SequenceID(rawValue: nextID)
        nextID += 1
        let before = cache.usage
        guard cache.fork(parent.id, into: child) else {
            outOfPagesCount += 1
            #expect(cache.usage == before, "a failed fork changed the cache")
            return
        }
        forkCount += 1
        live.append(Sequence(id: child, tokens: parent.tokens, keys: parent.keys, computed: parent.computed, digest: parent.digest))
    }

    private mutating func release(_ random: inout SplitMix64) {
        guard !live.isEmpty else { return }
        let sequence = live.remove(at: Int(random.next() % UInt64(live.count)))
        cache.release(sequence.id)
        releaseCount += 1
    }

    mutating func releaseAll() {
        while let sequence = live.popLast() { cache.release(sequence.id) }
    }

    /// Checks the cache's invariants and that every live sequence holds exactly its model's
    /// tokens, computed count and keys and values.
    func verify() throws {
        try cache._checkInvariants()
        let layout = Self.layout
        for sequence in live {
            #expect(cache.tokenCount(of: sequence.id) == sequence.tokens.count)
            #expect(cache.computedTokenCount(of: sequence.id) == sequence.computed)
            let table = cache.pageTable(of: sequence.id)
            cache.withStorage { storage in
                storage.withUnsafeBufferPointer(of: Float.self) { elements in
                    for position in 0 ..< sequence.computed {
                        let slot = table.slot(at: position)
                        let key = elements[layout.elementOffset(slot: slot, layer: 0, isValue: false, kvHead: 0)]
                        let value = elements[layout.elementOffset(slot: slot, layer: 0, isValue: true, kvHead: 0)]
                        #expect(
                            key == sequence.keys[position] && value == Float(position),
                            "\(sequence.id) position \(position) holds the wrong keys and values")
                    }
                }
            }
        }
    }
}

extension CacheSimulator.Sequence {
    mutating func extend(with newTokens: [UInt32]) {
        for token in newTokens {
            digest = PrefixCache.mix(digest ^ UInt64(token))
            tokens.append(token)
            keys.append(Float(digest & 0xFF_FFFF))
        }
    }
}
