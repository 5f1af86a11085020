package pkgbuild

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Manifest is the JSON form of pkg(8)'s package manifest, as written to
// +MANIFEST and (without files, directories and scripts) to
// +COMPACT_MANIFEST. Field names and encodings follow libpkg's
// pkg_manifest.c (pkg_emit_object): desc, scripts and the paths of files
// and directories are %-encoded where they hold '%' or non-ASCII bytes
// (urlencode), and read back with url_decode; the messages are plain
// strings (pkg_message_to_ucl in pkg.c), never encoded. File checksums are
// "1$" followed by the hex SHA-256 (PKG_HASH_TYPE_SHA256_HEX is 1 in
// libpkg's pkg_checksum.c), and directories map to "y" (remove on
// deinstall if empty).
//
// The struct holds the decoded text; only Marshal encodes.
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

// Message is one entry of pkg-message, as the "messages" array of the
// manifest holds it: an object with "message" and, except for a message
// shown always, "type" ("install", "remove" or "upgrade";
// pkg_message_to_ucl in libpkg's pkg.c).
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
// maps sorted, desc, scripts and paths %-encoded, messages as they are.
// Like libucl's JSON emitter (ucl_elt_string_write_json) it leaves '<',
// '>' and '&' unescaped.
func (m Manifest) Marshal() ([]byte, error) {
	m.Desc = pkgEncode(m.Desc)
	m.Files = encodeKeys(m.Files)
	m.Directories = encodeKeys(m.Directories)
	if m.Scripts != nil {
		scripts := make(map[string]string, len(m.Scripts))
		for k, v := range m.Scripts {
			scripts[k] = pkgEncode(v)
		}
		m.Scripts = scripts
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalManifest decodes a manifest as pkg reads it: desc, scripts and
// paths through url_decode, messages as they are.
func UnmarshalManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	m.Desc = pkgDecode(m.Desc)
	m.Files = decodeKeys(m.Files)
	m.Directories = decodeKeys(m.Directories)
	for k, v := range m.Scripts {
		m.Scripts[k] = pkgDecode(v)
	}
	return m, nil
}

// pkgEncode %-encodes '%' and non-ASCII bytes, as libpkg's urlencode
// (pkg_manifest.c) does.
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

// pkgDecode undoes pkgEncode the way libpkg's url_decode (pkg_manifest.c)
// does: "%" and two hex digits is a byte, any other '%' is itself.
func pkgDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// encodeKeys and decodeKeys apply pkgEncode and pkgDecode to the paths of
// the files and directories maps, as pkg_emit_object and pkg_obj do.
func encodeKeys(m map[string]string) map[string]string { return mapKeys(m, pkgEncode) }

func decodeKeys(m map[string]string) map[string]string { return mapKeys(m, pkgDecode) }

func mapKeys(m map[string]string, f func(string) string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[f(k)] = v
	}
	return out
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
