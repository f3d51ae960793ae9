// Package packaging holds the files for installing termcall as a service:
// termcall.service (a hardened systemd unit) and termcall.env.example (its
// environment file, with the secret), and the .deb packaging that
// scripts/release.sh builds with nfpm: nfpm.yaml and the maintainer scripts
// in deb/. Its tests run systemd-analyze verify on the unit, and build a
// .deb from nfpm.yaml with the pinned nfpm (offline, from the module cache)
// to check its fields, files, modes, conffile and scripts with dpkg-deb. See
// docs/operations.md, "Running as a service", and docs/install.md.
package packaging
