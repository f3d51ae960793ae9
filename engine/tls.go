package engine

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/termcall/termcall/protocol"
)

// TLSConfigFromCAFile returns a TLS configuration that trusts the
// system's roots and the PEM certificates in file (a private CA that
// signed a server's certificate), for Options.TLSConfig.
func TLSConfigFromCAFile(file string) (*tls.Config, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "CA file %s: no PEM certificate in it", file)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
