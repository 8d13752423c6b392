// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Crypto

/// The SHA-256 chain of a log (FORMAT.md §2): every journal frame and every sealed block hashes
/// the link before it, from a genesis bound to the log's (topic, partition).
enum HashChain {
    /// The chain's first link for a log: SHA-256 of `"AuditTrail log\0" + topic + "\0" + partition`.
    static func genesis(topic: String, partition: Int32) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("AuditTrail log\u{0}".utf8))
        writer.raw(Array(topic.utf8))
        writer.u8(0)
        writer.i32(partition)
        return digest(writer.bytes)
    }

    /// SHA-256 of `previous || parts...`.
    static func link(_ previous: [UInt8], _ parts: UnsafeRawBufferPointer...) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        for part in parts { hasher.update(bufferPointer: part) }
        return Array(hasher.finalize())
    }

    /// SHA-256 of `bytes`.
    static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// SHA-256 of `bytes`.
    static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// SHA-256 of `bytes`.
    static func digest(_ bytes: ArraySlice<UInt8>) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// The 64-bit content digest of stored bytes: the first 8 bytes of their SHA-256, big-endian.
    static func contentDigest(_ bytes: [UInt8]) -> UInt64 { contentDigest(fromDigest: digest(bytes)) }

    /// The 64-bit content digest of bytes whose SHA-256 is `digest`.
    static func contentDigest(fromDigest digest: [UInt8]) -> UInt64 {
        digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}

/// An Ed25519 key that signs each sealed segment's digest.
public struct SegmentSigner: Sendable {
    /// The raw 32-byte private key, to keep somewhere safe.
    public let privateKey: [UInt8]
    /// The raw 32-byte public key, for ``StoreVerifier``.
    public let publicKey: [UInt8]

    /// A signer from a 32-byte Ed25519 private key (raw representation).
    public init(privateKey: [UInt8]) throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey)
        self.privateKey = privateKey
        publicKey = Array(key.publicKey.rawRepresentation)
    }

    /// A new random key.
    public static func generate() -> SegmentSigner {
        // A fresh key's raw representation always parses.
        try! SegmentSigner(privateKey: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    /// Signs `digest` (a segment's digest, or an object-store checkpoint's bytes).
    public func sign(_ digest: [UInt8]) throws -> [UInt8] {
        Array(try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey).signature(for: digest))
    }

    /// Whether `signature` is `publicKey`'s Ed25519 signature of `digest`.
    public static func isValid(signature: [UInt8], digest: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: digest)
    }
}
