package tlcp

import "strconv"

// alert is a TLCP alert description (GB/T 38636 6.3.4; the values of TLS 1.1
// plus the 200-range ones the standard adds for identity-based suites).
type alert uint8

const (
	alertCloseNotify            alert = 0
	alertUnexpectedMessage      alert = 10
	alertBadRecordMAC           alert = 20
	alertDecryptionFailed       alert = 21
	alertRecordOverflow         alert = 22
	alertDecompressionFailure   alert = 30
	alertHandshakeFailure       alert = 40
	alertBadCertificate         alert = 42
	alertUnsupportedCertificate alert = 43
	alertCertificateRevoked     alert = 44
	alertCertificateExpired     alert = 45
	alertCertificateUnknown     alert = 46
	alertIllegalParameter       alert = 47
	alertUnknownCA              alert = 48
	alertAccessDenied           alert = 49
	alertDecodeError            alert = 50
	alertDecryptError           alert = 51
	alertProtocolVersion        alert = 70
	alertInsufficientSecurity   alert = 71
	alertInternalError          alert = 80
	alertUserCanceled           alert = 90
	alertNoRenegotiation        alert = 100
	alertUnsupportedSite2Site   alert = 200
	alertNoArea                 alert = 201
	alertUnsupportedAreaType    alert = 202
	alertBadIBCParam            alert = 203
	alertUnsupportedIBCParam    alert = 204
	alertIdentityNeed           alert = 205
)

const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

var alertNames = map[alert]string{
	alertCloseNotify:            "close notify",
	alertUnexpectedMessage:      "unexpected message",
	alertBadRecordMAC:           "bad record MAC",
	alertDecryptionFailed:       "decryption failed",
	alertRecordOverflow:         "record overflow",
	alertDecompressionFailure:   "decompression failure",
	alertHandshakeFailure:       "handshake failure",
	alertBadCertificate:         "bad certificate",
	alertUnsupportedCertificate: "unsupported certificate",
	alertCertificateRevoked:     "certificate revoked",
	alertCertificateExpired:     "certificate expired",
	alertCertificateUnknown:     "certificate unknown",
	alertIllegalParameter:       "illegal parameter",
	alertUnknownCA:              "unknown certificate authority",
	alertAccessDenied:           "access denied",
	alertDecodeError:            "error decoding message",
	alertDecryptError:           "error decrypting message",
	alertProtocolVersion:        "protocol version not supported",
	alertInsufficientSecurity:   "insufficient security level",
	alertInternalError:          "internal error",
	alertUserCanceled:           "user canceled",
	alertNoRenegotiation:        "no renegotiation",
	alertUnsupportedSite2Site:   "unsupported site2site",
	alertNoArea:                 "no area",
	alertUnsupportedAreaType:    "unsupported area type",
	alertBadIBCParam:            "bad IBC parameters",
	alertUnsupportedIBCParam:    "unsupported IBC parameters",
	alertIdentityNeed:           "identity needed",
}

func (a alert) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

func (a alert) Error() string { return "tlcp: " + a.String() }

// AlertError is a fatal alert received from the peer.
type AlertError struct{ Code uint8 }

func (e AlertError) Error() string { return "tlcp: peer sent alert: " + alert(e.Code).String() }

// localError pairs the alert sent to the peer with the reason, kept for logs.
type localError struct {
	alert alert
	err   string
}

func (e *localError) Error() string {
	return "tlcp: " + e.err + " (sent alert: " + e.alert.String() + ")"
}

func fail(a alert, msg string) error { return &localError{alert: a, err: msg} }

// alertOf returns the alert to send for a handshake error.
func alertOf(err error) alert {
	switch e := err.(type) {
	case *localError:
		return e.alert
	case alert:
		return e
	}
	return alertInternalError
}
