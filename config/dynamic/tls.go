package dynamic

// TLSConfiguration is the tls section.
type TLSConfiguration struct {
	Certificates []*CertAndStores    `json:"certificates,omitempty"`
	Options      map[string]*Options `json:"options,omitempty"`
	Stores       map[string]*Store   `json:"stores,omitempty"`
}

// CertAndStores is a certificate and the stores it belongs to.
type CertAndStores struct {
	Certificate
	// EncCertFile and EncKeyFile make the entry an SM2 pair for TLCP:
	// certFile/keyFile are then the signing certificate and key, these the
	// encryption ones (GB/T 38636 needs both).
	EncCertFile string   `json:"encCertFile,omitempty"`
	EncKeyFile  string   `json:"encKeyFile,omitempty"`
	Stores      []string `json:"stores,omitempty"`
}

// Options are TLS handshake settings, chosen per router by name.
type Options struct {
	MinVersion       string     `json:"minVersion,omitempty"` // VersionTLS12 (default), VersionTLS13...
	MaxVersion       string     `json:"maxVersion,omitempty"`
	CipherSuites     []string   `json:"cipherSuites,omitempty"`
	CurvePreferences []string   `json:"curvePreferences,omitempty"`
	ClientAuth       ClientAuth `json:"clientAuth,omitempty"`
	SniStrict        bool       `json:"sniStrict,omitempty"`
	ALPNProtocols    []string   `json:"alpnProtocols,omitempty"` // default h2, http/1.1, acme-tls/1
	// DisableSessionTickets turns TLS session resumption by tickets off.
	DisableSessionTickets bool `json:"disableSessionTickets,omitempty"`
	// ECHKeys are Encrypted Client Hello keys, each a PEM file (or inline
	// PEM) with a PRIVATE KEY and an ECHCONFIG block.
	ECHKeys []string `json:"echKeys,omitempty"`
	// PreferServerCipherSuites is accepted for Traefik files; Go orders
	// cipher suites itself and ignores it, as Traefik v3 does.
	PreferServerCipherSuites bool `json:"preferServerCipherSuites,omitempty"`
	// TLCP serves the national TLCP protocol: "off" (default), "auto" (TLCP
	// and TLS on the same port, told apart by the ClientHello) or "only".
	TLCP string `json:"tlcp,omitempty"`
	// TLCPCipherSuites in order of preference (ECDHE_SM4_GCM_SM3,
	// ECC_SM4_GCM_SM3, ECDHE_SM4_CBC_SM3, ECC_SM4_CBC_SM3); default all.
	TLCPCipherSuites []string `json:"tlcpCipherSuites,omitempty"`
}

// ClientAuth asks for and verifies client certificates.
type ClientAuth struct {
	CAFiles        []string `json:"caFiles,omitempty"`
	ClientAuthType string   `json:"clientAuthType,omitempty"` // NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert
}

// Store holds the default certificate served when no other matches.
type Store struct {
	DefaultCertificate *Certificate `json:"defaultCertificate,omitempty"`
}
