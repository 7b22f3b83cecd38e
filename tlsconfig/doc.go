// Package tlsconfig holds the TLS settings sockit serves with: the server
// defaults (Mozilla's "intermediate" profile, as of 2026), a certificate
// Store that picks a certificate by SNI and takes reloaded ones in one
// atomic swap, and throwaway self-signed certificates (listen --ssl
// without --ssl-cert, as ncat makes one). All of it is crypto/tls and
// crypto/x509; nothing here does cryptography by hand.
package tlsconfig
