import Testing

/// The test helper against the FIPS 180-4 example vectors, so a digest mismatch in the
/// real-model tests means the token ids differ.
@Suite struct SHA256Tests {
    @Test func knownDigests() {
        #expect(SHA256.hexDigest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Two blocks: the padding spills into a second block.
        #expect(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hexDigest(littleEndianInt32: [1, -1]) == SHA256.hexDigest([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]))
    }
}
