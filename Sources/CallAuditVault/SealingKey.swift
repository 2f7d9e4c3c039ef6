import Crypto

/// A person's data key set up for sealing: the synthetic nonce's HMAC keyed
/// (its pads hashed) and the AES key made once per batch the person is sealed
/// in, not for each subject sealed under it (a call names its parties in
/// several events).
///
/// Only a batch's persons hold one (`PersonLinking.resolve` keys them): the
/// cache keeps persons across batches without it. Held by each of ~90,000
/// cached persons it was two SHA-256 contexts on the heap apiece, most of
/// ingest's peak RSS growth in issue 21's fourth pass (BENCHMARKS.md).
///
/// Holds nothing the vault does not hold already: the pads and the AES key
/// are the data key's, and go with the batch.
///
/// `@unchecked Sendable`: `SymmetricKey` is not marked `Sendable`, but its
/// storage is written once when made and only read after (AES-GCM reads the
/// key's bytes); the HMAC's states are never updated in place (`HMACSHA256`).
struct SealingKey: @unchecked Sendable {
    let nonceMAC: HMACSHA256
    let aesKey: SymmetricKey
    /// The ref's UTF-8, hashed into the nonce and authenticated: copied out of
    /// the `String` once, not for each subject (about 1.9 k instructions a copy).
    let ref: [UInt8]

    init(ref: String, dataKey: [UInt8]) {
        nonceMAC = HMACSHA256(key: dataKey)
        aesKey = SymmetricKey(data: dataKey)
        self.ref = Array(ref.utf8)
    }
}
