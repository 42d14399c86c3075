package sm2certs

import "crypto/x509/pkix"

func nameOf(cn string) pkix.Name { return pkix.Name{CommonName: cn, Organization: []string{"Guan"}} }
