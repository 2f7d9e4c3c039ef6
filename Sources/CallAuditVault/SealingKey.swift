/// A person's data key set up for sealing: the synthetic nonce's HMAC keyed
/// (its pads hashed) once when the vault meets the person, not for each
/// subject sealed under it (a call names its parties in several events, and
/// the cache keeps persons across batches).
///
/// Holds nothing the vault does not hold already: the pads are the data key's,
/// and both go when the cache forgets the person (an erasure moves the epoch).
struct SealingKey: Sendable {
    let nonceMAC: HMACSHA256

    init(dataKey: [UInt8]) {
        nonceMAC = HMACSHA256(key: dataKey)
    }
}
