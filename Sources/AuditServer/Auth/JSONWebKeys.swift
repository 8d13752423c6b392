// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import Foundation
import JWTKit

/// The signing keys of `--oidc-jwks`: a JWKS read from a file or fetched from an HTTP(S) URL,
/// kept, and read again when a token names a key it does not hold (a rotation) or when it is
/// older than ``maxAge``.
///
/// A token must name its key (`kid`): jwt-kit would otherwise try the set's first key. Reading
/// again on an unknown `kid` happens at most once per ``minInterval``, so tokens with made-up
/// `kid`s cannot make the server hammer the identity provider. A set that cannot be read keeps
/// the keys already held; with none held, validation fails (503).
actor JSONWebKeys {
    /// Where the set is: a path or an `http(s)://` URL.
    let location: String
    let maxAge: Duration
    let minInterval: Duration
    private let fetch = HTTPFetch()
    private var keys: JWTKeyCollection?
    private var kids: Set<String> = []
    private var loadedAt: ContinuousClock.Instant?

    init(location: String, maxAge: Duration = .seconds(3600), minInterval: Duration = .seconds(10)) {
        self.location = location
        self.maxAge = maxAge
        self.minInterval = minInterval
    }

    /// The keys, holding `kid` if the set does; `nil` when the set does not hold it.
    /// - Throws: when no set could ever be read.
    func keys(holding kid: String) async throws -> JWTKeyCollection? {
        let now = ContinuousClock.now
        let stale = loadedAt.map { now - $0 > maxAge } ?? true
        let mayReload = loadedAt.map { now - $0 > minInterval } ?? true
        if keys == nil || stale || (!kids.contains(kid) && mayReload) {
            do {
                try await load()
            } catch where keys != nil {
                // Keep serving with the keys held; the next stale or unknown kid tries again.
                loadedAt = now
            }
        }
        return kids.contains(kid) ? keys : nil
    }

    private func load() async throws {
        let data: Data
        if location.hasPrefix("http://") || location.hasPrefix("https://") {
            let reply = try await fetch(.get, location)
            guard reply.status == 200 else { throw HTTPFetch.Failure(description: "GET \(location): \(reply.status)") }
            data = reply.body
        } else {
            guard let contents = FileManager.default.contents(atPath: location) else {
                throw HTTPFetch.Failure(description: "cannot read the JWKS file \(location)")
            }
            data = contents
        }
        let set = try JSONDecoder().decode(JWKS.self, from: data)
        let collection = JWTKeyCollection()
        var kids: Set<String> = []
        for key in set.keys {
            // A key of a kind jwt-kit cannot verify with (an encryption key) is skipped, not fatal.
            guard let kid = key.keyIdentifier?.string, (try? await collection.add(jwk: key)) != nil else { continue }
            kids.insert(kid)
        }
        self.keys = collection
        self.kids = kids
        self.loadedAt = .now
    }
}
