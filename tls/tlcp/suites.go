package tlcp

import (
	"fmt"
	"strings"
)

// Cipher suite identifiers (GB/T 38636-2020 table 2; the GCM ones follow the
// 2020 revision).
const (
	ECDHE_SM4_CBC_SM3 uint16 = 0xe011 //nolint:revive // the standard's names
	ECC_SM4_CBC_SM3   uint16 = 0xe013
	ECDHE_SM4_GCM_SM3 uint16 = 0xe051
	ECC_SM4_GCM_SM3   uint16 = 0xe053
)

type suite struct {
	id    uint16
	name  string
	ecdhe bool // SM2 key exchange with ephemeral keys; else SM2 encryption of the premaster
	gcm   bool // SM4-GCM records; else SM4-CBC with HMAC-SM3
}

// suites in the server's default order of preference: AEAD first, then
// forward secrecy (ECDHE is only chosen when client certificates are asked for).
var suites = []suite{
	{ECDHE_SM4_GCM_SM3, "ECDHE_SM4_GCM_SM3", true, true},
	{ECC_SM4_GCM_SM3, "ECC_SM4_GCM_SM3", false, true},
	{ECDHE_SM4_CBC_SM3, "ECDHE_SM4_CBC_SM3", true, false},
	{ECC_SM4_CBC_SM3, "ECC_SM4_CBC_SM3", false, false},
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// DefaultCipherSuites lists every supported suite in the default order.
func DefaultCipherSuites() []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.id
	}
	return ids
}

// CipherSuiteName returns the standard name of a suite, or its hex value.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	return fmt.Sprintf("0x%04X", id)
}

// CipherSuiteByName parses a suite name as written in configuration files
// ("ECC_SM4_GCM_SM3"; a "TLCP_" prefix and any case are accepted).
func CipherSuiteByName(name string) (uint16, error) {
	n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "TLCP_")
	for _, s := range suites {
		if s.name == n {
			return s.id, nil
		}
	}
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = s.name
	}
	return 0, fmt.Errorf("unknown TLCP cipher suite %q (known: %s)", name, strings.Join(names, ", "))
}
