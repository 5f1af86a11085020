package pkgbuild

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ParseMessages reads a pkg-message in the UCL form the ports tree uses,
// restricted to what ports write: a list of objects, each with an
// optional "type:" and a "message: <<EOM" here-document. It returns the
// text pkg create stores, which is what "pkg add" and "pkg delete" print:
//
//   - the lines between "<<EOM" and the line "EOM", without the newline
//     before "EOM" (libucl's ucl_parse_multiline_string; the tag is
//     upper-case letters), taken as they are: no escapes;
//   - $NAME and ${NAME} replaced for the names in vars, "$$" then read as
//     "$" (libucl's ucl_expand_variable; pkg_message_from_str in libpkg's
//     pkg.c registers PREFIX, PKGNAME, PKGORIGIN and MAINTAINER);
//   - leading and trailing white space removed (pkg_message_to_ucl in
//     pkg.c builds the string with UCL_STRING_TRIM).
//
// Anything else -- another syntax, an unknown type, text that is not
// UTF-8 or holds control characters other than tab and newline, which
// libucl's JSON emitter would not write back as they are -- is an error
// rather than a message that differs from the ports tree's.
func ParseMessages(s string, vars map[string]string) ([]Message, error) {
	var msgs []Message
	var cur *Message
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if rest, ok := strings.CutPrefix(line, "{"); ok {
			if cur != nil {
				return nil, fmt.Errorf("pkg-message line %d: '{' inside a message", i+1)
			}
			msgs = append(msgs, Message{})
			cur = &msgs[len(msgs)-1]
			line = strings.TrimSpace(rest)
		}
		m := messageField.FindStringSubmatch(line)
		switch {
		case line == "" || line == "[" || line == "]":
		case line == "}" || line == "},":
			if cur == nil || cur.Message == "" {
				return nil, fmt.Errorf("pkg-message line %d: an object without a message", i+1)
			}
			cur = nil
		case m == nil || cur == nil:
			return nil, fmt.Errorf("pkg-message line %d: %q is not understood", i+1, line)
		case m[1] == "type":
			t := strings.ToLower(strings.Trim(m[2], `",`))
			if t != "install" && t != "remove" && t != "upgrade" {
				return nil, fmt.Errorf("pkg-message line %d: type %q; want install, remove or upgrade", i+1, t)
			}
			cur.Type = t
		default:
			body, next, err := hereDoc(lines, i, m[2])
			if err != nil {
				return nil, err
			}
			if cur.Message, err = messageText(body, vars); err != nil {
				return nil, fmt.Errorf("pkg-message line %d: %w", i+1, err)
			}
			i = next
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("pkg-message: the last object is not closed")
	}
	return msgs, nil
}

var (
	messageField = regexp.MustCompile(`^(type|message)\s*[:=]\s*(.*)$`)
	hereDocTag   = regexp.MustCompile(`^<<([A-Z]+)$`)
)

// hereDoc returns the body of the here-document opened on line i by
// value ("<<EOM") and the index of its closing line.
func hereDoc(lines []string, i int, value string) (string, int, error) {
	m := hereDocTag.FindStringSubmatch(value)
	if m == nil {
		return "", 0, fmt.Errorf("pkg-message line %d: want message: <<EOM (the tag in capitals)", i+1)
	}
	tag := m[1]
	var body []string
	for j := i + 1; j < len(lines); j++ {
		switch {
		case lines[j] == tag:
			if len(body) == 0 {
				// libucl refuses an empty here-document.
				return "", 0, fmt.Errorf("pkg-message line %d: empty message", i+1)
			}
			return strings.Join(body, "\n"), j, nil
		case strings.HasPrefix(lines[j], tag+",") || strings.HasPrefix(lines[j], tag+";"):
			// libucl ends the here-document here too, and reads the
			// rest of the line as UCL.
			return "", 0, fmt.Errorf("pkg-message line %d: write the closing %s alone on its line", j+1, tag)
		}
		body = append(body, lines[j])
	}
	return "", 0, fmt.Errorf("pkg-message: here-document %s of line %d not terminated", tag, i+1)
}

// messageText turns a here-document body into the message pkg stores.
func messageText(body string, vars map[string]string) (string, error) {
	text := strings.Trim(expandVars(body, vars), " \t\n\v\f\r")
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("the message is not UTF-8")
	}
	for _, r := range text {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return "", fmt.Errorf("the message holds the control character %U", r)
		}
	}
	return text, nil
}

// expandVars replaces $NAME and ${NAME} for the names in vars the way
// libucl's ucl_expand_variable and ucl_expand_single_variable do: $NAME
// matches a name at the start of what follows the '$' ($PREFIXfoo is the
// prefix and "foo"), ${NAME} only the whole name, unknown references stay
// as they are, and "$$" is "$" -- but only in a string where at least one
// variable is replaced; otherwise the string is left alone.
func expandVars(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") || len(vars) == 0 || !replacesAny(s, vars) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i == len(s)-1 {
			b.WriteByte(s[i])
			i++
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		if name, n := varRef(s, i, vars); name != "" {
			b.WriteString(vars[name])
			i += n
			continue
		}
		if s[i+1] == '{' {
			b.WriteString("${")
			i += 2
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String()
}

// replacesAny reports whether s refers to at least one variable in vars,
// outside a "$$".
func replacesAny(s string, vars map[string]string) bool {
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		if name, _ := varRef(s, i, vars); name != "" {
			return true
		}
	}
	return false
}

// varRef returns the name and the length of the variable reference at
// s[i] ('$' at i), or "" if it names no variable in vars.
func varRef(s string, i int, vars map[string]string) (string, int) {
	rest := s[i+1:]
	if braced, ok := strings.CutPrefix(rest, "{"); ok {
		name, _, found := strings.Cut(braced, "}")
		if _, known := vars[name]; found && known {
			return name, len(name) + 3
		}
		return "", 0
	}
	for name := range vars {
		if strings.HasPrefix(rest, name) {
			return name, len(name) + 1
		}
	}
	return "", 0
}
