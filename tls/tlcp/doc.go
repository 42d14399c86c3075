// Package tlcp implements TLCP 1.1 (GB/T 38636-2020, formerly GM/T 0024), the
// Chinese national transport protocol: TLS-1.1-shaped records and handshake
// with SM2 signatures and key exchange, SM3 hashing and SM4 encryption, and a
// pair of certificates per peer (one for signing, one for encryption).
//
// Supported suites: ECC_SM4_GCM_SM3, ECC_SM4_CBC_SM3, ECDHE_SM4_GCM_SM3 and
// ECDHE_SM4_CBC_SM3. ECDHE suites use the SM2 key-exchange protocol, which
// needs both peers' encryption keys, so the standard makes client
// certificates mandatory for them; a server offers ECDHE only when it asks for
// client certificates.
//
// Session resumption is by session ID. Renegotiation is refused. The
// primitives come from github.com/emmansun/gmsm; the protocol is written here
// from the standard.
package tlcp

// VersionTLCP is the protocol version on the wire (major 1, minor 1).
const VersionTLCP = 0x0101
