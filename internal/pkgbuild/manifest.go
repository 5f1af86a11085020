package pkgbuild

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Manifest is the JSON form of pkg(8)'s package manifest, as written to
// +MANIFEST and (without files, directories and scripts) to
// +COMPACT_MANIFEST. Field names and encodings follow libpkg's
// pkg_manifest.c: desc and message text are %-encoded where they hold
// '%' or non-ASCII bytes, file checksums are "1$" followed by the hex
// SHA-256 (PKG_HASH_TYPE_SHA256_HEX is 1 in libpkg's pkg_checksum.c),
// and directories map to "y" (remove on deinstall if empty).
type Manifest struct {
	Name         string            `json:"name"`
	Origin       string            `json:"origin"`
	Version      string            `json:"version"`
	Comment      string            `json:"comment"`
	Maintainer   string            `json:"maintainer"`
	WWW          string            `json:"www"`
	ABI          string            `json:"abi"`
	Arch         string            `json:"arch"`
	Prefix       string            `json:"prefix"`
	Flatsize     int64             `json:"flatsize"`
	LicenseLogic string            `json:"licenselogic"`
	Licenses     []string          `json:"licenses"`
	Desc         string            `json:"desc"`
	Categories   []string          `json:"categories"`
	Messages     []Message         `json:"messages,omitempty"`
	Files        map[string]string `json:"files,omitempty"`
	Directories  map[string]string `json:"directories,omitempty"`
	Scripts      map[string]string `json:"scripts,omitempty"`
}

// Message is one entry of pkg-message: Type is "install", "upgrade",
// "remove" or "" (always shown).
type Message struct {
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
}

// Compact returns the manifest without the parts +COMPACT_MANIFEST leaves
// out.
func (m Manifest) Compact() Manifest {
	m.Files, m.Directories, m.Scripts = nil, nil, nil
	return m
}

// Marshal encodes m the way pkg writes manifests: compact JSON, keys of
// maps sorted, text fields %-encoded.
func (m Manifest) Marshal() ([]byte, error) {
	m.Desc = pkgEncode(m.Desc)
	msgs := make([]Message, len(m.Messages))
	for i, msg := range m.Messages {
		msgs[i] = Message{Message: pkgEncode(msg.Message), Type: msg.Type}
	}
	m.Messages = msgs
	return json.Marshal(m)
}

// UnmarshalManifest decodes a manifest written by Marshal.
func UnmarshalManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	var err error
	if m.Desc, err = url.PathUnescape(m.Desc); err != nil {
		return m, fmt.Errorf("manifest: desc: %w", err)
	}
	for i := range m.Messages {
		if m.Messages[i].Message, err = url.PathUnescape(m.Messages[i].Message); err != nil {
			return m, fmt.Errorf("manifest: message: %w", err)
		}
	}
	return m, nil
}

// pkgEncode %-encodes '%' and non-ASCII bytes, as libpkg's urlencode does.
func pkgEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c >= 0x80 {
			fmt.Fprintf(&b, "%%%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ABI returns pkg's ABI string (FreeBSD:14:amd64) and its older arch form
// (freebsd:14:x86:64) for a Go architecture and a FreeBSD major version,
// as pkg's pkg_abi.c names them.
func ABI(goarch string, major int) (abi, arch string, err error) {
	switch goarch {
	case "amd64":
		return fmt.Sprintf("FreeBSD:%d:amd64", major), fmt.Sprintf("freebsd:%d:x86:64", major), nil
	case "arm64":
		return fmt.Sprintf("FreeBSD:%d:aarch64", major), fmt.Sprintf("freebsd:%d:aarch64:64", major), nil
	}
	return "", "", fmt.Errorf("pkgbuild: no FreeBSD package ABI for GOARCH %q", goarch)
}
