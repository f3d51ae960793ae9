// Package packaging holds the files for installing termcall as a service:
// termcall.service (a hardened systemd unit) and termcall.env.example (its
// environment file, with the secret). Its test runs systemd-analyze verify
// on the unit. See docs/operations.md, "Running as a service".
package packaging
