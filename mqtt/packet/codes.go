package packet

// CONNACK return codes of MQTT 3.1/3.1.1.
const (
	ConnAccepted            = 0x00
	ConnRefusedVersion      = 0x01
	ConnRefusedIdentifier   = 0x02
	ConnRefusedUnavailable  = 0x03
	ConnRefusedBadUserPass  = 0x04
	ConnRefusedUnauthorized = 0x05
)

// MQTT 5 reason codes used by a gateway.
const (
	RCSuccess                = 0x00
	RCUnspecified            = 0x80
	RCMalformed              = 0x81
	RCProtocolError          = 0x82
	RCImplementationSpecific = 0x83
	RCUnsupportedVersion     = 0x84
	RCClientIDNotValid       = 0x85
	RCBadUserNameOrPassword  = 0x86
	RCNotAuthorized          = 0x87
	RCServerUnavailable      = 0x88
	RCServerBusy             = 0x89
	RCBanned                 = 0x8A
	RCServerShuttingDown     = 0x8B
	RCKeepAliveTimeout       = 0x8D
	RCTopicFilterInvalid     = 0x8F
	RCTopicNameInvalid       = 0x90
	RCPacketTooLarge         = 0x95
	RCMessageRateTooHigh     = 0x96
	RCQuotaExceeded          = 0x97
	RCUseAnotherServer       = 0x9C
	RCConnectionRateExceeded = 0x9F
	SubackFailure            = 0x80 // SUBACK failure in 3.1.1 (and "unspecified" in 5)
	RCNoMatchingSubscribers  = 0x10
)

// RefuseCode returns the CONNACK code for a refusal in the client's version:
// reason is an MQTT 5 reason code, mapped to the closest 3.x return code.
func RefuseCode(version, reason byte) byte {
	if version == V5 {
		return reason
	}
	switch reason {
	case RCBadUserNameOrPassword:
		return ConnRefusedBadUserPass
	case RCNotAuthorized, RCBanned:
		return ConnRefusedUnauthorized
	case RCClientIDNotValid:
		return ConnRefusedIdentifier
	case RCUnsupportedVersion:
		return ConnRefusedVersion
	}
	return ConnRefusedUnavailable
}
